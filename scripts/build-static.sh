#!/bin/sh
# The release build a sidecar ships as (`make bench-build`, `make image`; DECISIONS 257-259): the
# Swift standard library linked statically, every function in a section of its own, linked by lld
# with the functions the sidecar runs first (scripts/sidecar-order.txt, made from a profile by
# scripts/sidecar-order.py), so that the pages of text it keeps resident are the code it runs and
# not the code around it (docs/BENCHMARKS.md, "The sidecar's resident text by link order"); its
# relative relocations packed (DT_RELR, glibc 2.36 and later: the loader reads 26 KiB instead of
# 3.2 MiB) and no symbol exported that no shared library needs (the dynamic symbol table was
# 4 MiB that the loader reads while it relocates). Package.swift's debug and plain release builds
# keep the default flags.
#
#   scripts/build-static.sh PRODUCT [SCRATCH]      (SCRATCH: the scratch path, .build-static)
#
# Without the ordering file the same flags link in the linker's own order: more resident text,
# the same behaviour. A stale file (functions renamed since the profile) is the same: lld leaves
# what it cannot find where it would have put it; the check at the end says how much still matches.
set -eu
product=$1
scratch=${2:-.build-static}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
order=$root/scripts/sidecar-order.txt

codegen="-Xswiftc -Xfrontend -Xswiftc -function-sections -Xswiftc -use-ld=lld"
# The Swift driver does not recompile a whole-module build whose sources did not change when only
# its code-generation flags did: a scratch path built with other flags keeps its objects (without
# function sections) unless they go. The stamp records the flags its objects were compiled with.
stamp=$scratch/sidecar-build-flags
if [ -d "$scratch" ] && [ "$(cat "$stamp" 2>/dev/null)" != "$codegen" ]; then
    echo "build-static: $scratch was compiled with other flags: its Swift objects are compiled again" >&2
    find "$scratch" -name '*.swift.o' -delete
    rm -f "$stamp"
fi
# shellcheck disable=SC2086 # the flags are words
set -- -c release --product "$product" --static-swift-stdlib --scratch-path "$scratch" $codegen \
    -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic
if [ -f "$order" ]; then
    set -- "$@" -Xlinker "--symbol-ordering-file=$order" -Xlinker --no-warn-symbol-ordering
else
    echo "build-static: no scripts/sidecar-order.txt: $product is linked in the linker's own order (more resident memory per sidecar)" >&2
fi
${SWIFT:-swift} build "$@"
echo "$codegen" > "$stamp"
python3 scripts/sidecar-order.py check --binary "$scratch/release/$product" --order "$order" || true
