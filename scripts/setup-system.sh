#!/bin/sh
# Installs the Debian packages the project needs on this machine (idempotent: packages already
# present are left alone and nothing is downloaded). Run as root, or through sudo when available.
#   iptables, iproute2: traffic capture (MeshRedirect) and its network-namespace tests.
#   libbpf-dev, libelf-dev, zlib1g-dev: eBPF capture (`fsm interceptor` links libbpf; the build
#   compiles the programs against libbpf's headers with the toolchain's clang -target bpf).
#   util-linux: nsenter and setpriv for the eBPF capture tests.
#   python3 prometheus-client (PyPI): scripts/check-prometheus.py, the reference parser the
#   metrics tests run over /stats/prometheus (skipped with a note when there is no network).
#   kubernetes-validate, check-jsonschema (PyPI, in a virtual environment under .build, never
#   system-wide): scripts/setup-validate.sh, for the manifest checks (skipped when it cannot).
set -eu

install_prometheus_client() {
    if ! command -v python3 >/dev/null 2>&1; then
        echo "setup-system: no python3; the Prometheus parser check will be skipped" >&2
        return 0
    fi
    if python3 -c "import prometheus_client" 2>/dev/null; then
        echo "setup-system: prometheus-client present"
        return 0
    fi
    echo "setup-system: installing prometheus-client with pip"
    # Debian marks its Python as externally managed: fall back to --break-system-packages.
    python3 -m pip install --quiet prometheus-client 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages prometheus-client 2>/dev/null \
        || echo "setup-system: could not install prometheus-client (no network or no pip); the parser check will be skipped" >&2
}
install_prometheus_client
"$(dirname "$0")/setup-validate.sh" || true

PACKAGES="iptables iproute2 libbpf-dev libelf-dev zlib1g-dev util-linux"

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
