"""The local LLM: llama.cpp through llama-cpp-python's C API, with image tokens as embeddings.

Example:
    >>> from inference.llm import LlamaRuntime
    >>> llm = LlamaRuntime("gemma-3-270m-Q4_K_M.gguf", n_ctx=2048)   # doctest: +SKIP
    >>> pos = llm.decode([llm.tokenize("<bos>The chest CT shows")], 0)   # doctest: +SKIP
    >>> "".join(llm.generate(pos, max_tokens=16))                   # doctest: +SKIP
"""

from .errors import ContextOverflow, LLMError
from .runtime import LlamaRuntime, SamplingParams

__all__ = ["ContextOverflow", "LLMError", "LlamaRuntime", "SamplingParams"]
