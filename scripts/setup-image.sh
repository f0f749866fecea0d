#!/bin/sh
# Installs Debian's buildah, which `make image` builds the image with (offline, vfs storage).
set -eu
if command -v buildah >/dev/null 2>&1; then echo "setup-image: buildah present"; exit 0; fi
if [ "$(id -u)" -eq 0 ]; then run=""; elif command -v sudo >/dev/null 2>&1; then run="sudo"; else
    echo "setup-image: need root (or sudo) to install buildah" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$run apt-get install -y --no-install-recommends buildah || { $run apt-get update && $run apt-get install -y --no-install-recommends buildah; }
