#!/usr/bin/env python3
"""Checks what `fsm install --dry-run` prints, and the sample resources, as a cluster would.

Run with the virtual environment of scripts/setup-validate.sh:
  .build/validate-venv/bin/python scripts/validate-manifests.py MANIFESTS [SAMPLE_PATH...]

- Every document of MANIFESTS passes `kubernetes-validate --strict` for a current Kubernetes
  version (built-in kinds, CustomResourceDefinitions included); custom resources are left to:
- every custom resource (in MANIFESTS, in the YAML files under each SAMPLE_PATH, and in the
  `manifests:`/`apply:` blocks of scenario files) is checked with check-jsonschema against the
  openAPIV3Schema of the CRD in MANIFESTS for its apiVersion; a kind without a CRD fails;
- the built-in kinds among the samples pass kubernetes-validate --strict too.
Exit status 0 when everything passed, 1 otherwise (each failure is printed), 2 on bad usage.
Environment: KUBERNETES_VERSION (default: kubernetes-validate's latest).
"""
import json
import os
import subprocess
import sys
import tempfile

import yaml

BIN = os.path.dirname(os.path.abspath(sys.executable))


def documents_of(path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    top = [d for d in yaml.safe_load_all(text) if d is not None]
    if len(top) == 1 and isinstance(top[0], dict) and "apiVersion" not in top[0]:
        # A scenario file: its manifests are YAML text inside string values.
        found = []
        collect_embedded(top[0], found)
        return found
    return [d for d in top if isinstance(d, dict)]


def collect_embedded(node, found):
    if isinstance(node, dict):
        for value in node.values():
            collect_embedded(value, found)
    elif isinstance(node, list):
        for value in node:
            collect_embedded(value, found)
    elif isinstance(node, str) and "apiVersion:" in node and "kind:" in node:
        found.extend(d for d in yaml.safe_load_all(node) if isinstance(d, dict))


def yaml_files(path):
    if os.path.isfile(path):
        return [path]
    result = []
    for directory, _, names in sorted(os.walk(path)):
        result.extend(os.path.join(directory, n) for n in sorted(names) if n.endswith((".yaml", ".yml")))
    return result


def kubernetes_validate(path):
    command = [os.path.join(BIN, "kubernetes-validate"), "--strict", "--quiet"]
    if os.environ.get("KUBERNETES_VERSION"):
        command += ["-k", os.environ["KUBERNETES_VERSION"]]
    result = subprocess.run(command + [path], capture_output=True, text=True)
    output = (result.stdout + result.stderr).strip()
    errors = [line for line in output.splitlines() if line.startswith("ERROR")]
    return result.returncode == 0 and not errors, output


def crd_schemas(manifests):
    schemas = {}
    for doc in manifests:
        if doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc["spec"]
        for version in spec["versions"]:
            key = (spec["group"] + "/" + version["name"], spec["names"]["kind"])
            schemas[key] = version["schema"]["openAPIV3Schema"]
    return schemas


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    manifests_path, sample_paths = argv[1], argv[2:]
    failures = 0
    manifests = documents_of(manifests_path)
    passed, output = kubernetes_validate(manifests_path)
    print(f"kubernetes-validate --strict {manifests_path}: {len(manifests)} documents {'passed' if passed else 'FAILED'}")
    if not passed:
        print(output)
        failures += 1
    schemas = crd_schemas(manifests)
    custom = [("install", d) for d in manifests if (d.get("apiVersion"), d.get("kind")) in schemas]
    with tempfile.TemporaryDirectory() as scratch:
        builtin = []
        for sample_path in sample_paths:
            for path in yaml_files(sample_path):
                for doc in documents_of(path):
                    api_version = doc.get("apiVersion", "")
                    if "/" in api_version and is_custom_group(api_version.split("/")[0]):
                        custom.append((path, doc))
                    else:
                        builtin.append((path, doc))
        if builtin:
            combined = os.path.join(scratch, "builtin-samples.yaml")
            with open(combined, "w", encoding="utf-8") as handle:
                yaml.safe_dump_all([d for _, d in builtin], handle, sort_keys=False)
            passed, output = kubernetes_validate(combined)
            print(f"kubernetes-validate --strict samples: {len(builtin)} built-in documents {'passed' if passed else 'FAILED'}")
            if not passed:
                print(output)
                failures += 1
        failures += check_custom(custom, schemas, scratch)
    print("all manifests valid" if failures == 0 else f"{failures} check(s) failed")
    return 0 if failures == 0 else 1


# Kinds whose CRDs `fsm install` renders only with `--set fsm.fsmGateway.enabled=true` (the
# Gateway API's and FSM Gateway's policies): when MANIFESTS was rendered without the flag, their
# resources in the samples and scenarios are named, not failed (the decoder's own tests check them).
NOT_INSTALLED_YET_GROUPS = {"gateway.networking.k8s.io", "gateway.flomesh.io"}


def is_custom_group(group):
    """A group a CRD defines: any dotted group but Kubernetes' own (networking.k8s.io, rbac.authorization.k8s.io,
    ...); the Gateway API's gateway.networking.k8s.io and the SIGs' *.x-k8s.io are CRDs."""
    if "." not in group:
        return False
    if group == "gateway.networking.k8s.io" or group.endswith(".x-k8s.io"):
        return True
    return not group.endswith(".k8s.io")
NOT_INSTALLED_YET_KINDS = set()


def not_installed_yet(key):
    return key[0].split("/")[0] in NOT_INSTALLED_YET_GROUPS or key in NOT_INSTALLED_YET_KINDS


def without_nulls(node):
    """The object as the API server validates it: null fields of a non-nullable schema (ours has
    none) are pruned first (Kubernetes 1.20+, "Defaulting and Nullable")."""
    if isinstance(node, dict):
        return {k: without_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [without_nulls(v) for v in node]
    return node


def check_custom(custom, schemas, scratch):
    failures = 0
    by_kind = {}
    waiting = {}
    for source, doc in custom:
        key = (doc.get("apiVersion"), doc.get("kind"))
        if key not in schemas and not_installed_yet(key):
            waiting[key] = waiting.get(key, 0) + 1
            continue
        if key not in schemas:
            print(f"{source}: no CRD for {key[1]} {key[0]} in the install manifests")
            failures += 1
            continue
        by_kind.setdefault(key, []).append((source, doc))
    for key, count in sorted(waiting.items()):
        print(f"not checked: {count} {key[1]} ({key[0]}): its CRD is not in fsm install yet")
    for index, (key, items) in enumerate(sorted(by_kind.items())):
        schema_path = os.path.join(scratch, f"schema-{index}.json")
        with open(schema_path, "w", encoding="utf-8") as handle:
            json.dump(schemas[key], handle)
        instance_paths, shown = [], {}
        for number, (source, doc) in enumerate(items):
            name = doc.get("metadata", {}).get("name", "unnamed")
            instance = os.path.join(scratch, f"{key[1]}-{index}-{number}-{name}.json")
            with open(instance, "w", encoding="utf-8") as handle:
                json.dump(without_nulls(doc), handle)
            instance_paths.append(instance)
            shown[instance] = f"{source} ({key[1]} {name})"
        result = subprocess.run([os.path.join(BIN, "check-jsonschema"), "--schemafile", schema_path] + instance_paths,
                                capture_output=True, text=True)
        sources = sorted({source for source, _ in items})
        status = "passed" if result.returncode == 0 else "FAILED"
        print(f"check-jsonschema {key[1]} ({key[0]}): {len(items)} resources {status} ({', '.join(sources)})")
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()
            for instance, label in shown.items():
                output = output.replace(instance, label)
            print(output)
            failures += 1
    return failures


if __name__ == "__main__":
    sys.exit(main(sys.argv))
