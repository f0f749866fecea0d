#!/bin/sh
# `make e2e-k8s KUBECONFIG=...`: the contract test against a real cluster (scripts/e2e-k8s.py).
# Without KUBECONFIG it says why it skipped and exits 0.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${KUBECONFIG:-}" ]; then
    echo "e2e-k8s: skipped: no cluster given (run make e2e-k8s KUBECONFIG=/path/to/kubeconfig against a cluster you may install into)"
    exit 0
fi
if [ ! -r "$KUBECONFIG" ]; then
    echo "e2e-k8s: KUBECONFIG=$KUBECONFIG is not a readable file" >&2
    exit 2
fi
"$root/scripts/setup-validate.sh"
venv=${VALIDATE_VENV:-$root/.build/validate-venv}
fsm=${FSM:-$(cd "$root" && swift build --product fsm --show-bin-path)/fsm}
[ -x "$fsm" ] || (cd "$root" && swift build --product fsm)
exec "$venv/bin/python" "$root/scripts/e2e-k8s.py" --fsm "$fsm" --samples "$root/deploy/samples/bookstore"
