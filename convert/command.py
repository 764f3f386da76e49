"""``ctchat convert SOURCE --out BUNDLE``: a published checkpoint folder into a ctchat bundle.

Recognises from the folder's own files MedGemma 1.5 (a Gemma 3 vision model, as safetensors) and
a llama.cpp vision model published as a GGUF with its mmproj projector (both: a slice-set bundle,
given the CT as rendered slices), else M3D-LaMed (Phi-3, Llama-2), Med-2E3 and Med3DVLM; prints
one line per progress event, and on a failure one sentence saying what to do. A rerun after an
interruption skips every finished step.

Example:
    $ ctchat convert ~/models/M3D-LaMed-Phi-3-4B --out ~/bundles/m3d-lamed-phi3 --quant q4_k_m
    $ ctchat ask chest.nii.gz "Where is the lesion?" --bundle ~/bundles/m3d-lamed-phi3
    $ ctchat convert ~/models/medgemma-1.5-4b-it --out ~/bundles/medgemma-1.5 --quant q4_k_m
"""

from __future__ import annotations

import argparse
import sys
import time

from .progress import Progress

_HELP = __doc__.splitlines()[0]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``convert`` to the ``ctchat`` command line."""
    p = subparsers.add_parser("convert", help="turn a published model folder into a bundle",
                              description=_HELP)
    p.add_argument("source", help="the downloaded checkpoint folder, or a folder with a GGUF and its mmproj "
                                  "GGUF (never modified)")
    p.add_argument("--out", required=True, help="the bundle folder to write")
    p.add_argument("--quant", default="q4_k_m", choices=["f32", "f16", "q8_0", "q4_k_m"],
                   help="the LLM's GGUF type (default q4_k_m; f32 is exact, for checks; a published "
                        "GGUF is used as it is)")
    p.add_argument("--tokenizer", default=None,
                   help="the LLM tokenizer's folder, for a checkpoint that ships none (Med-2E3)")
    p.add_argument("--text-encoder", default=None,
                   help="Med-2E3: your local M3D-CLIP folder (its BERT tokenizer reads the TG-IS question)")
    p.add_argument("--work", default=None, help="where the restartable steps work (default BUNDLE.work, "
                                                "removed when the bundle is complete)")
    p.set_defaults(func=run)


class _Printer:
    """One line per event; running events of the same step at most every 2 s."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def __call__(self, event: Progress) -> None:
        now = time.monotonic()
        if event.state == "running" and now - self._last.get(event.step, -10.0) < 2.0 and event.done:
            return
        self._last[event.step] = now
        count = f" {event.done}/{event.total} {event.unit}" if event.total else ""
        print(f"[{event.step}] {event.state}{count} {event.message}".rstrip(), flush=True)


def run(args: argparse.Namespace) -> int:
    from .bundle_out import convert_checkpoint
    from .errors import ConversionError

    t0 = time.perf_counter()
    try:
        out = convert_checkpoint(args.source, args.out, quant=args.quant, tokenizer_dir=args.tokenizer,
                                 text_encoder=args.text_encoder, work_dir=args.work, progress=_Printer())
    except ConversionError as exc:
        print(f"ctchat convert: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out} in {time.perf_counter() - t0:.0f} s; try: ctchat ask SCAN \"Where is the lesion?\" --bundle {out}")
    return 0
