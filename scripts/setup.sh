#!/usr/bin/env bash
# Set up a fresh Debian machine for the lab: Debian packages (when run as root), a virtual environment
# in .venv with the pinned Python packages, llama-cpp-python compiled with portable flags, and this
# repository's own package installed in editable mode.
# Idempotent: a stamp records a hash of what was installed, so a second run is a fast no-op.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.setup-stamp
APT_PACKAGES=(espeak-ng chromium chromium-driver fonts-dejavu-core hunspell hunspell-fr)
# Portable build: no -march=native (a native wheel crashes on other CPUs) and no multimodal part,
# which halves the compile time on 2 cores; text generation and chat templates are unaffected.
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"

wanted=$(cat requirements.txt requirements.lock pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [[ -f $STAMP && "$(cat "$STAMP")" == "$wanted" ]]; then
    echo "setup: up to date ($VENV)"
    exit 0
fi
started=$SECONDS

missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# npm fetches the Kokoro voices (npm pack kokoro-js); any npm will do (a Node.js install may bring its own).
command -v npm >/dev/null || missing+=(npm)
if (( ${#missing[@]} )); then
    if [[ $(id -u) -eq 0 ]]; then
        echo "setup: installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "setup: these Debian packages are missing: ${missing[*]}" >&2
        echo "setup: install them as root, then run this again:  sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup: Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
[[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install -q --upgrade pip
echo "setup: installing Python packages (torch is large: about two minutes on a fresh machine)"
"${pip[@]}" install -q -r requirements.txt -c requirements.lock
if ! "$VENV/bin/python" -c 'import llama_cpp' 2>/dev/null; then
    echo "setup: compiling llama-cpp-python (about 3-4 minutes on 2 cores; cached by pip afterwards)"
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" "${pip[@]}" install -q -c requirements.lock llama-cpp-python
fi
# setuptools' editable build is chatty; show its log only if it fails.
"${pip[@]}" install -q --no-deps --no-build-isolation -e . > "$VENV/editable-install.log" 2>&1 \
    || { cat "$VENV/editable-install.log" >&2; exit 1; }

echo "$wanted" > "$STAMP"
echo "setup: done in $((SECONDS - started)) s"
