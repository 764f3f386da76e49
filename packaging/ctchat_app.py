"""The frozen app's entry point: the ``ctchat`` command line (no arguments: the viewer on the
bundled demo CT)."""

import sys

from inference.cli import main

if __name__ == "__main__":
    sys.exit(main())
