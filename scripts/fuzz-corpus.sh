#!/usr/bin/env bash
# Seeds and dictionaries for `make fuzz`, generated from the shipped files into OUT (default
# .build-fuzz/seeds): OUT/<target>/ per fuzz target, OUT/<target>.dict where there is one.
#   fuzz-scenario:    scenarios/*.yaml, fuzz/seeds/scenario/*
#   fuzz-manifest:    deploy/samples/**/*.yaml, the `manifests: |` blocks of the scenarios, fuzz/seeds/manifest/*
#   fuzz-config-json: every meshed pod's config of every scenario (`sim FILE --dump-config NS/POD`),
#                     fuzz/seeds/config-json/*
#   fuzz-sidecar:     fuzz/seeds/sidecar/* (hand-written HTTP/1.1, HTTP/2, CONNECT inputs; see SidecarFuzzInput)
# Usage: scripts/fuzz-corpus.sh SIM_BINARY [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
sim=${1:?usage: fuzz-corpus.sh SIM_BINARY [OUT]}
out=${2:-.build-fuzz/seeds}
rm -rf "$out"
mkdir -p "$out"/{fuzz-scenario,fuzz-manifest,fuzz-config-json,fuzz-sidecar}

# Small seeds run faster (parsing costs about 2 ms per KiB under the sanitizers) and the YAML
# targets run with -max_len=4096 (scripts/fuzz-run.sh), so the scenarios are also cut into a seed
# without their `manifests:` block and one with only that block, and manifests into their documents.
python3 - "$out" fuzz/seeds/scenario/* fuzz/seeds/manifest/* scenarios/*.yaml $(find deploy/samples -name '*.yaml' | sort) <<'PY'
import os, re, sys
out, files = sys.argv[1], sys.argv[2:]
def write(target, name, text):
    open(os.path.join(out, target, name), "w").write(text)
for path in files:
    text = open(path).read()
    stem = path.replace("/", "_")
    if path.startswith("scenarios/") or "/scenario/" in path:
        write("fuzz-scenario", stem, text)
        # Top-level sections: a key at column 0 and the indented lines after it.
        sections = re.split(r"(?m)^(?=[a-z])", text)
        name = next((s for s in sections if s.startswith("name:")), "name: seed\n")
        manifests = [s for s in sections if s.startswith("manifests:")]
        write("fuzz-scenario", stem + "-without-manifests.yaml", "".join(s for s in sections if not s.startswith("manifests:")))
        if manifests:
            write("fuzz-scenario", stem + "-manifests-only.yaml", name + manifests[0])
            body = manifests[0].split("\n", 1)[1] if manifests[0].startswith("manifests: |") else ""
            text = "\n".join(line[2:] for line in body.split("\n"))
    write("fuzz-manifest", stem + ".yaml", text)
    for index, document in enumerate(d for d in re.split(r"(?m)^---\s*$", text) if "kind:" in d):
        write("fuzz-manifest", f"{stem}-{index}.yaml", document.strip("\n") + "\n")
PY

for scenario in scenarios/*.yaml; do
    # `--dump-config` of a pod that does not exist lists the meshed pods ("known pods: a/b, c/d").
    pods=$("$sim" "$scenario" --dump-config no-such/pod 2>&1 >/dev/null | sed -n 's/.*known pods: //p' | tr -d ',') || true
    for pod in $pods; do
        "$sim" "$scenario" --dump-config "$pod" > "$out/fuzz-config-json/$(basename "$scenario" .yaml)-${pod//\//-}.json"
    done
done
cp fuzz/seeds/config-json/* "$out/fuzz-config-json/"
if [ "$(ls "$out/fuzz-config-json" | wc -l)" -lt 10 ]; then
    echo "fuzz-corpus: expected configs from $sim --dump-config, found too few in $out/fuzz-config-json" >&2
    exit 1
fi

cp fuzz/seeds/sidecar/* "$out/fuzz-sidecar/"

# Dictionaries: the keys the decoders look for, straight from their sources.
grep -oh '"[A-Z][A-Za-z0-9]*"' Sources/Mesh/Model/ProxyConfig+JSON.swift Sources/Mesh/Model/ProxyConfig+Decoding.swift \
    | sort -u | sed 's/"\(.*\)"/"\\"\1\\""/' > "$out/fuzz-config-json.dict"
grep -oh '"[a-z][A-Za-z0-9./-]*"' Sources/Mesh/Model/ManifestDecoder.swift Sources/Mesh/Manifest/ManifestDecoder*.swift Sources/Mesh/Manifest/YAMLReader.swift \
    | sort -u > "$out/fuzz-manifest.dict"
grep -oh '"[a-z][A-Za-z0-9./-]*"' Sources/Sim/Engine/ScenarioParser*.swift | sort -u | cat - "$out/fuzz-manifest.dict" | sort -u > "$out/fuzz-scenario.dict"
cp fuzz/sidecar.dict "$out/fuzz-sidecar.dict"

for target in fuzz-scenario fuzz-manifest fuzz-config-json fuzz-sidecar; do
    echo "fuzz-corpus: $target: $(ls "$out/$target" | wc -l) seeds"
done
