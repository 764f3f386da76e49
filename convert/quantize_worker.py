"""llama.cpp's quantiser in a process of its own (a crash or a cancel cannot take the caller
down), logging to stderr, where :mod:`convert.llama_cpp_steps` reads its progress.

    python -m convert.quantize_worker INPUT.gguf OUTPUT.gguf FTYPE_NUMBER THREADS
"""

from __future__ import annotations

import ctypes
import sys


def main(argv: list[str]) -> int:
    source, target, ftype, threads = argv[0], argv[1], int(argv[2]), int(argv[3])
    import llama_cpp as ll

    @ll.llama_log_callback
    def to_stderr(level, text, user_data):  # noqa: ANN001 - C callback signature
        sys.stderr.write(text.decode("utf-8", "replace"))
        sys.stderr.flush()

    ll.llama_log_set(to_stderr, ctypes.c_void_p(0))
    ll.llama_backend_init()
    params = ll.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = threads
    status = ll.llama_model_quantize(source.encode(), target.encode(), ctypes.byref(params))
    return 0 if status == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
