#!/bin/sh
# Prepares the Python virtual environment of every test-only Python tool (never system-wide):
# kubernetes-validate and check-jsonschema (scripts/validate-manifests.py), the kubernetes client
# (scripts/e2e-k8s.py) and prometheus-client (scripts/check-prometheus.py, the reference parser
# the metrics tests run). Idempotent; needs PyPI the first time.
#   VALIDATE_VENV  where the environment lives (default: .build/validate-venv in the repository)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${VALIDATE_VENV:-$root/.build/validate-venv}
packages="kubernetes-validate check-jsonschema kubernetes prometheus-client"

if [ -x "$venv/bin/kubernetes-validate" ] && [ -x "$venv/bin/check-jsonschema" ] && "$venv/bin/python" -c "import kubernetes, yaml, prometheus_client" 2>/dev/null; then
    echo "setup-validate: $venv ready"
    exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "setup-validate: no python3; the manifest checks will be skipped" >&2
    exit 1
fi
mkdir -p "$(dirname "$venv")"
if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    echo "setup-validate: python3 -m venv failed (Debian: apt-get install python3-venv); the manifest checks will be skipped" >&2
    exit 1
fi
# shellcheck disable=SC2086
if ! "$venv/bin/pip" install --quiet $packages; then
    echo "setup-validate: could not install $packages (no network?); the manifest checks will be skipped" >&2
    exit 1
fi
echo "setup-validate: $venv ready"
