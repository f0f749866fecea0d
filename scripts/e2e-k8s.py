#!/usr/bin/env python3
"""The cluster contract test (make e2e-k8s): install the mesh, add the bookstore namespaces, apply
the bookstore, and check what the getting-started guide shows: bookbuyer's count rises, bookthief
is refused; then uninstall. Every step prints one line; the first failure stops with exit 1.

The mesh is installed, the namespaces added and the mesh uninstalled by the fsm binary itself
(`fsm install`, `fsm namespace add`, `fsm uninstall mesh -y`); the bookstore is applied through
the kubernetes Python client; the demo pages are read through the API server's pod proxy, so
nothing listens on this machine.
"""
import argparse
import os
import re
import subprocess
import sys
import time

import yaml
from kubernetes import client, config, dynamic
from kubernetes.client.rest import ApiException

NAMESPACES = ["bookstore", "bookbuyer", "bookthief", "bookwarehouse"]


def step(text):
    print(f"e2e-k8s: {text}", flush=True)


def fail(text):
    print(f"e2e-k8s: FAILED: {text}", flush=True)
    sys.exit(1)


def apply_all(api, documents):
    for doc in documents:
        resource = api.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
        namespace = doc["metadata"].get("namespace")
        api.server_side_apply(resource, body=doc, name=doc["metadata"]["name"], namespace=namespace,
                              field_manager="fsm-e2e", force_conflicts=True)


def fsm(binary, *arguments):
    """Runs the fsm binary (KUBECONFIG is in the environment); its error line ends the test."""
    result = subprocess.run([binary, *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"fsm {' '.join(arguments)}: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def wait_until(what, predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            step(f"{what}: yes")
            return
        time.sleep(3)
    fail(f"{what}: not within {timeout} s")


def deployments_ready(apps, namespace):
    items = apps.list_namespaced_deployment(namespace).items
    return bool(items) and all((d.status.ready_replicas or 0) >= (d.spec.replicas or 1) for d in items)


def page(core, namespace, app, port=14001, path="raw"):
    pods = core.list_namespaced_pod(namespace, label_selector=f"app={app}").items
    running = [p for p in pods if p.status.phase == "Running"]
    if not running:
        return None
    return core.connect_get_namespaced_pod_proxy_with_path(f"{running[0].metadata.name}:{port}", namespace, path)


def count(text, noun):
    match = re.search(rf'"{noun}"\s*:\s*(\d+)', text or "") or re.search(r"Total books \w+: (\d+)", text or "")
    return int(match.group(1)) if match else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fsm", required=True)
    parser.add_argument("--samples", required=True)
    parser.add_argument("--mesh-name", default="fsm")
    parser.add_argument("--fsm-namespace", default="fsm-system")
    args = parser.parse_args()
    config.load_kube_config()
    api = dynamic.DynamicClient(client.ApiClient())
    core, apps = client.CoreV1Api(), client.AppsV1Api()

    mesh = ["--mesh-name", args.mesh_name]
    fsm(args.fsm, "install", *mesh, "--fsm-namespace", args.fsm_namespace, "--timeout", "300s")
    step("fsm install: control plane ready")

    samples = []
    for name in sorted(os.listdir(args.samples)):
        if name.endswith(".yaml"):
            with open(f"{args.samples}/{name}", encoding="utf-8") as handle:
                samples += [d for d in yaml.safe_load_all(handle) if d and d["kind"] != "MeshConfig"]
    apply_all(api, [d for d in samples if d["kind"] == "Namespace"])
    fsm(args.fsm, "namespace", "add", *NAMESPACES, *mesh)
    step("namespaces added to the mesh (fsm namespace add)")
    apply_all(api, [d for d in samples if d["kind"] != "Namespace"])
    for namespace in NAMESPACES:
        wait_until(f"{namespace} ready", lambda n=namespace: deployments_ready(apps, n), 300)

    first = count(page(core, "bookbuyer", "bookbuyer"), "booksBought")
    time.sleep(15)
    second = count(page(core, "bookbuyer", "bookbuyer"), "booksBought")
    if first is None or second is None or second <= first:
        fail(f"bookbuyer's count did not rise ({first} then {second})")
    step(f"bookbuyer's count rose: {first} -> {second}")
    stolen = count(page(core, "bookthief", "bookthief"), "booksStolen")
    if stolen is None or stolen != 0:
        fail(f"bookthief was not refused (stolen {stolen})")
    step("bookthief refused: 0 books stolen")

    for doc in reversed(samples):
        try:
            api.delete(api.resources.get(api_version=doc["apiVersion"], kind=doc["kind"]),
                       name=doc["metadata"]["name"], namespace=doc["metadata"].get("namespace"))
        except ApiException as error:
            if error.status != 404:
                fail(f"removing the bookstore: {doc['kind']} {doc['metadata']['name']}: {error.reason}")
    fsm(args.fsm, "uninstall", "mesh", "-y", *mesh, "--fsm-namespace", args.fsm_namespace)
    step("fsm uninstall mesh: uninstalled (CRDs kept without --delete-cluster-wide-resources)")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
