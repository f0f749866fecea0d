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

cp scenarios/*.yaml fuzz/seeds/scenario/* "$out/fuzz-scenario/"

find deploy/samples -name '*.yaml' | while read -r file; do cp "$file" "$out/fuzz-manifest/$(echo "$file" | tr / _)"; done
cp fuzz/seeds/manifest/* "$out/fuzz-manifest/"
for scenario in scenarios/*.yaml; do
    # The block after `manifests: |`, its two-space indent removed, up to the next top-level key.
    awk '/^manifests: \|/ { inside = 1; next } inside && /^[^ ]/ { exit } inside { sub(/^  /, ""); print }' "$scenario" \
        > "$out/fuzz-manifest/$(basename "$scenario" .yaml)-manifests.yaml"
done

for scenario in scenarios/*.yaml; do
    # `--dump-config` of a pod that does not exist lists the meshed pods ("known pods: a/b, c/d").
    pods=$("$sim" "$scenario" --dump-config -/- 2>&1 >/dev/null | sed -n 's/.*known pods: //p' | tr -d ',') || true
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
grep -oh '"[a-z][A-Za-z0-9./-]*"' Sources/Mesh/Model/ManifestDecoder*.swift Sources/Mesh/Model/YAMLReader.swift \
    | sort -u > "$out/fuzz-manifest.dict"
grep -oh '"[a-z][A-Za-z0-9./-]*"' Sources/Sim/Engine/ScenarioParser*.swift | sort -u | cat - "$out/fuzz-manifest.dict" | sort -u > "$out/fuzz-scenario.dict"
cp fuzz/sidecar.dict "$out/fuzz-sidecar.dict"

for target in fuzz-scenario fuzz-manifest fuzz-config-json fuzz-sidecar; do
    echo "fuzz-corpus: $target: $(ls "$out/$target" | wc -l) seeds"
done
