#!/bin/sh
# Installs the Debian packages the project needs on this machine (idempotent: packages already
# present are left alone and nothing is downloaded). Run as root, or through sudo when available.
#   iptables, iproute2: traffic capture (MeshRedirect) and its network-namespace tests.
#   libpcap-dev: the tests read `sim --pcap` files back with libpcap (the simulator needs nothing).
#   Test-only Python tools (PyPI: prometheus-client for scripts/check-prometheus.py,
#   kubernetes-validate and check-jsonschema for the manifest checks, the kubernetes client) go
#   into a virtual environment under .build, never system-wide: scripts/setup-validate.sh (the
#   tests that need them are skipped, saying why, when it cannot).
#   libbpf-dev, libelf-dev, zlib1g-dev: eBPF capture (`fsm interceptor` links libbpf; the build
#   compiles the programs against libbpf's headers with the toolchain's clang -target bpf).
#   util-linux: nsenter and setpriv for the eBPF capture tests.
set -eu

"$(dirname "$0")/setup-validate.sh" || true

PACKAGES="iptables iproute2 libpcap-dev libbpf-dev libelf-dev zlib1g-dev util-linux"

missing=""
for package in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done

if [ -z "$missing" ]; then
    echo "setup-system: all packages present ($PACKAGES)"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    run=""
elif command -v sudo >/dev/null 2>&1; then
    run="sudo"
else
    echo "setup-system: need root (or sudo) to install:$missing" >&2
    exit 1
fi

echo "setup-system: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Install from the current package lists first; refresh them only if that fails.
# shellcheck disable=SC2086
if ! $run apt-get install -y --no-install-recommends $missing; then
    $run apt-get update
    # shellcheck disable=SC2086
    $run apt-get install -y --no-install-recommends $missing
fi
