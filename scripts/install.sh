#!/usr/bin/env bash
# Install everything ctchat needs on a fresh Debian/Ubuntu machine, idempotently:
# system libraries for Qt/VTK under X (and Xvfb for headless tests), then a virtual
# environment in .venv with the project and its pinned dependencies.
#   bash scripts/install.sh            # app + tests (ONNX Runtime and llama.cpp on the CPU)
#   bash scripts/install.sh --gpu      # the same with CUDA: onnxruntime-gpu + CUDA/cuDNN wheels,
#                                      # llama.cpp built with -DGGML_CUDA=on (default when nvidia-smi sees a GPU)
#   bash scripts/install.sh --cpu      # CPU even when a GPU is there
#   bash scripts/install.sh --package  # also PyInstaller, for packaging/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."

GPU=auto; EXTRAS=viewer,vision,llm,train,convert,pacs,test
for arg in "$@"; do
    case "$arg" in
        --gpu) GPU=yes ;;
        --cpu) GPU=no ;;
        --package) EXTRAS="$EXTRAS,package" ;;
        *) echo "install.sh: unknown option $arg (use --gpu, --cpu, --package)" >&2; exit 2 ;;
    esac
done
if [ "$GPU" = auto ]; then
    GPU=no; command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q GPU && GPU=yes
fi

# orthanc + orthanc-dicomweb: the real PACS the tests/pacs tests start on loopback (their own
# process and config; the system service the package may start is not used); dicom3tools: dciodvfy,
# which checks the SRs ctchat writes
APT_PACKAGES=(xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
              libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxcb-randr0 libxcb-cursor0
              libxkbcommon-x11-0 libegl1 libgl1 libglu1-mesa libdbus-1-3 libfontconfig1
              orthanc orthanc-dicomweb dicom3tools)

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
LLAMA_CMAKE="-DGGML_NATIVE=OFF"; BUILT="$WHEELS"
if [ "$GPU" = yes ]; then
    # a CUDA build is kept apart from the CPU one; nvcc from PyPI when the machine has none
    BUILT="$WHEELS/cuda"; LLAMA_CMAKE="$LLAMA_CMAKE -DGGML_CUDA=on"
    if ! command -v nvcc >/dev/null 2>&1; then
        "${PIP[@]}" install -q nvidia-cuda-nvcc==13.5.37 nvidia-cuda-runtime==13.5.37 nvidia-cublas==13.10.0.20
        NV=$(.venv/bin/python -c "import nvidia, os; print(os.path.dirname(nvidia.__path__[0]))")/nvidia
        export PATH="$NV/cuda_nvcc/bin:$PATH" CUDACXX="$NV/cuda_nvcc/bin/nvcc"
        LLAMA_CMAKE="$LLAMA_CMAKE -DCUDAToolkit_ROOT=$NV/cuda_nvcc"
    fi
fi
SDIST="$WHEELS/llama_cpp_python-$LLAMA_VERSION.tar.gz"
mkdir -p "$WHEELS"
if [ ! -f "$SDIST" ]; then
    echo "keeping the llama-cpp-python $LLAMA_VERSION source archive in $WHEELS (for ctchat convert)"
    "${PIP[@]}" download -q --no-binary :all: --no-deps "llama-cpp-python==$LLAMA_VERSION" -d "$WHEELS"
fi
if ! ls "$BUILT"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python $LLAMA_VERSION with $LLAMA_CMAKE (once; the wheel is kept in $BUILT)"
    CMAKE_ARGS="$LLAMA_CMAKE" "${PIP[@]}" wheel -q --no-deps "$SDIST" -w "$BUILT"
fi
# exactly one ONNX Runtime package: the other one is removed first (both share onnxruntime/)
if [ "$GPU" = yes ]; then ORT=gpu; OTHER=onnxruntime; else ORT=cpu; OTHER=onnxruntime-gpu; fi
"${PIP[@]}" uninstall -q -y "$OTHER" 2>/dev/null || true
# the CPU and CUDA builds share a version number: install the chosen one explicitly
"${PIP[@]}" install -q --no-index --find-links "$BUILT" --force-reinstall --no-deps "llama-cpp-python==$LLAMA_VERSION"
"${PIP[@]}" install -q --find-links "$BUILT" -e ".[$EXTRAS,$ORT]"
echo "ctchat installed in $(pwd)/.venv (ONNX Runtime and llama.cpp: $([ "$GPU" = yes ] && echo CUDA || echo CPU)); check it with .venv/bin/ctchat doctor"
