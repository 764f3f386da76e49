"""Errors of the LLM side, each with a message a user can act on."""


class LLMError(Exception):
    """The LLM cannot be loaded or run (missing or corrupt GGUF, hidden-size mismatch, ...)."""


class ContextOverflow(LLMError):
    """The prompt would not fit in the context window; raised before anything is decoded."""
