"""``ctchat pull NAME | OWNER/REPO[:QUANT]``: download a published model and install it as a bundle.

The only ctchat command that uses the network. It prints the download size, the disk it needs
and the model's terms, asks before downloading (``--accept`` agrees without asking), checks
every file against the checksum the Hub lists, converts it and installs it under
``ctchat models``' folder; an interrupted pull resumes where it stopped.

Example:
    $ ctchat pull --list
    $ ctchat pull m3d-lamed-phi3-4b
    $ ctchat ask resources/demo/chest_lungdx_A0001_5mm.nii.gz "Where is the lesion?" --bundle m3d-lamed-phi3-4b
    $ ctchat pull ggml-org/medgemma-4b-it-GGUF:Q4_K_M --accept
    $ ctchat pull medgemma-1.5-4b --from ~/usb/medgemma-1.5-4b-it     # an air-gapped copy
"""

from __future__ import annotations

import argparse
import sys

_HELP = __doc__.splitlines()[0]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``pull`` to the ``ctchat`` command line."""
    p = subparsers.add_parser("pull", help="download a published model and install it as a bundle",
                              description=_HELP, epilog="Catalogue, tokens and HF_ENDPOINT: docs/models.md")
    p.add_argument("model", nargs="?", help="a catalogue name (see --list), or a Hugging Face repository "
                                            "OWNER/NAME, with :QUANT to pick a GGUF (e.g. :Q4_K_M)")
    p.add_argument("--list", action="store_true", help="print the catalogue of published models and exit")
    p.add_argument("--accept", action="store_true", help="agree to the model's terms and download without asking")
    p.add_argument("--quant", default=None, choices=["f32", "f16", "q8_0", "q4_k_m"],
                   help="the LLM's GGUF type when converting safetensors (default: the catalogue's, q4_k_m)")
    p.add_argument("--from", dest="from_folder", metavar="FOLDER",
                   help="take the files from this local folder (an air-gapped copy) instead of the network")
    p.add_argument("--keep-download", action="store_true",
                   help="keep the downloaded files after installing (default: removed once converted)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..models.catalogue import list_lines
    from ..models.errors import PullError

    if args.list:
        print("\n".join(list_lines()))
        return 0
    if not args.model:
        print("ctchat pull: name a model (`ctchat pull --list` shows the catalogue) or a repository OWNER/NAME",
              file=sys.stderr)
        return 2
    from ..models.pull import pull
    from ..models.store import models_dir

    try:
        folder = pull(args.model, accept=args.accept, quant=args.quant, from_folder=args.from_folder,
                      keep_download=args.keep_download)
    except PullError as exc:
        print(f"ctchat pull: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\nctchat pull: stopped; nothing was installed, and what was downloaded stays in "
              f"{models_dir() / '.downloads'}: run the same command to resume", file=sys.stderr)
        return 130
    print(f"installed {folder.name} in {folder}; try: ctchat ask SCAN \"Where is the lesion?\" --bundle {folder.name}")
    return 0
