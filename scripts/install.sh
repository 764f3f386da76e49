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
PIP=(.venv/bin/python -m pip)
"${PIP[@]}" install -q --upgrade pip

# llama-cpp-python has no wheel for this platform: build it once (about 12 minutes on 2 cores,
# portable x86-64-v3 code) and keep the wheel, so later installs take seconds. Its source archive
# is kept beside it: llama.cpp's own HF -> GGUF converter (`ctchat convert`) ships only there,
# and conversion never downloads anything.
LLAMA_VERSION=0.3.36
WHEELS=${CTCHAT_WHEEL_CACHE:-$HOME/.cache/ctchat/wheels}
SDIST="$WHEELS/llama_cpp_python-$LLAMA_VERSION.tar.gz"
mkdir -p "$WHEELS"
if [ ! -f "$SDIST" ]; then
    echo "keeping the llama-cpp-python $LLAMA_VERSION source archive in $WHEELS (for ctchat convert)"
    "${PIP[@]}" download -q --no-binary :all: --no-deps "llama-cpp-python==$LLAMA_VERSION" -d "$WHEELS"
fi
if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python $LLAMA_VERSION (once; the wheel is kept in $WHEELS)"
    CMAKE_ARGS="-DGGML_NATIVE=OFF" "${PIP[@]}" wheel -q --no-deps "$SDIST" -w "$WHEELS"
fi
"${PIP[@]}" install -q --find-links "$WHEELS" -e ".[viewer,vision,llm,train,convert,test]"
echo "ctchat installed in $(pwd)/.venv"
