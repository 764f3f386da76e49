"""`VisionProjector`: a llama.cpp vision projector (``mmproj`` GGUF) that turns one RGB image
into the LLM's image-token embeddings, through llama.cpp's multimodal library (mtmd).

Only the encoder is taken from mtmd: the image is tokenized as one media chunk, encoded, and
its output embeddings copied out. Where they go in the prompt (and the text around them) is
the caller's: a slice-set session feeds them to :meth:`LlamaRuntime.decode` in the model's
own token sequence, and keeps them in the scan cache.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from .errors import LLMError
from .library import LLM_EXTRA, LlamaCppMissing, check_gguf_file, llama_library, quiet_callback
from .runtime import LlamaRuntime


def mtmd_library():
    """llama-cpp-python's mtmd bindings, with mtmd's log as quiet as llama.cpp's."""
    llama_library()
    try:
        import llama_cpp.mtmd_cpp as mtmd
    except (ImportError, OSError, RuntimeError) as exc:  # an older wheel, or a libmtmd that cannot load
        raise LlamaCppMissing(f"this llama-cpp-python has no usable multimodal (mtmd) library ({exc}): "
                              f"bash scripts/install.sh installs the version ctchat pins (or pip install {LLM_EXTRA})"
                              ) from exc
    mtmd.mtmd_helper_log_set(quiet_callback(), ctypes.c_void_p(0))
    return mtmd


class VisionProjector:
    """An mmproj GGUF bound to the text model of ``llm``.

    Args:
        mmproj_path: the projector GGUF.
        llm: the loaded text model the embeddings are for (widths are checked by mtmd).
        n_threads: CPU threads for the encoder (default: the LLM's).
        use_gpu: let mtmd run the encoder on a GPU when llama.cpp was built with one.

    Raises:
        LLMError: the file is missing, not a GGUF, or not a projector for this text model.
    """

    def __init__(self, mmproj_path: str | Path, llm: LlamaRuntime, n_threads: int | None = None,
                 use_gpu: bool = True) -> None:
        self.path = Path(mmproj_path)
        check_gguf_file(self.path, "vision projector")
        self._mtmd = mtmd = mtmd_library()
        params = mtmd.mtmd_context_params_default()
        params.use_gpu = bool(use_gpu)
        params.n_threads = int(n_threads or llm.n_threads)
        params.print_timings = False
        params.warmup = False
        self._ctx = mtmd.mtmd_init_from_file(str(self.path).encode(), llm.model_pointer, params)
        if not self._ctx:
            raise LLMError(f"{self.path.name} is not a vision projector that llama.cpp can use with "
                           f"{llm.path.name} (another model's projector, or damaged)")
        self.n_embd = llm.n_embd
        self.bidirectional = bool(mtmd.mtmd_decode_use_non_causal(self._ctx, None))
        self._marker = mtmd.mtmd_default_marker()

    def encode(self, rgb: np.ndarray) -> np.ndarray:
        """One RGB uint8 image (rows, columns, 3) -> its image tokens, float32 (n_tokens, n_embd),
        at the LLM's input scale. The projector resizes the image to its own input size."""
        mtmd = self._mtmd
        image = np.ascontiguousarray(rgb, dtype=np.uint8)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an RGB image (rows, columns, 3), got shape {image.shape}")
        data = (ctypes.c_uint8 * image.size).from_buffer(image)
        bitmap = mtmd.mtmd_bitmap_init(image.shape[1], image.shape[0], data)
        chunks = mtmd.mtmd_input_chunks_init()
        try:
            text = mtmd.mtmd_input_text()
            text.text, text.text_len = self._marker, len(self._marker)
            text.add_special, text.parse_special = False, True
            bitmaps = (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap)
            if mtmd.mtmd_tokenize(self._ctx, chunks, ctypes.byref(text), bitmaps, 1) != 0:
                raise LLMError(f"{self.path.name}: llama.cpp could not take this image")
            for n in range(mtmd.mtmd_input_chunks_size(chunks)):
                chunk = mtmd.mtmd_input_chunks_get(chunks, n)
                if mtmd.mtmd_input_chunk_get_type(chunk) != mtmd.MTMD_INPUT_CHUNK_TYPE_IMAGE:
                    continue
                n_tokens = mtmd.mtmd_input_chunk_get_n_tokens(chunk)
                if mtmd.mtmd_encode_chunk(self._ctx, chunk) != 0:
                    raise LLMError(f"{self.path.name}: llama.cpp failed to encode the image")
                out = mtmd.mtmd_get_output_embd(self._ctx)
                return np.ctypeslib.as_array(out, shape=(n_tokens * self.n_embd,)).reshape(n_tokens, self.n_embd).copy()
            raise LLMError(f"{self.path.name}: llama.cpp made no image tokens of this image")
        finally:
            mtmd.mtmd_input_chunks_free(chunks)
            mtmd.mtmd_bitmap_free(bitmap)

    def close(self) -> None:
        """Free the projector (also done when the object is collected)."""
        if getattr(self, "_ctx", None):
            self._mtmd.mtmd_free(self._ctx)
            self._ctx = None

    def __del__(self) -> None:
        self.close()
