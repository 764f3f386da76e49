#!/usr/bin/env bash
# Install everything ctchat needs on a fresh Debian/Ubuntu machine, idempotently:
# system libraries for Qt/VTK under X (and Xvfb for headless tests), then a virtual
# environment in .venv with the project and its pinned dependencies.
#   bash scripts/install.sh            # app + tests
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
              libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxcb-randr0 libxcb-cursor0
              libxkbcommon-x11-0 libegl1 libgl1 libglu1-mesa libdbus-1-3 libfontconfig1)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[viewer,test]"
echo "ctchat installed in $(pwd)/.venv"
