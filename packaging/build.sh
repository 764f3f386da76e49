#!/usr/bin/env bash
# Build the self-contained desktop package: packaging/dist/ctchat/ (the ctchat executable with
# Qt, VTK, ONNX Runtime, llama.cpp, the default bundle and the demo CT), plus its .desktop entry
# and icon, and print its size. Needs the checkout's .venv with the `package` extra:
#   .venv/bin/pip install -e '.[package]'  (or bash scripts/install.sh --package)
#   bash packaging/build.sh
set -euo pipefail
cd "$(dirname "$0")"
PY=../.venv/bin/python
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build ctchat.spec
install -D -m 644 ctchat.desktop dist/ctchat/share/applications/ctchat.desktop
install -D -m 644 ctchat.png dist/ctchat/share/icons/hicolor/256x256/apps/ctchat.png
install -D -m 644 ctchat.svg dist/ctchat/share/icons/hicolor/scalable/apps/ctchat.svg
echo "built $(pwd)/dist/ctchat: $(du -sh dist/ctchat | cut -f1) ($(find dist/ctchat -type f | wc -l) files)"
