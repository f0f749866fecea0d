#!/bin/sh
# `make image`: builds the fsm image offline with Debian's buildah (vfs storage, no daemon, no
# registry): the release fsm and fsm-sidecar binaries (the injected sidecar runs the latter,
# DECISIONS 270) with the Swift standard library linked statically (and in the sidecar's link
# order: scripts/build-static.sh), plus the shared libraries ldd lists (and the dynamic loader), on
# an empty base; then runs the image's
# binary from a mounted copy of its root (chroot, /proc mounted; needs root) to prove it starts,
# and prints the image size.
#   IMAGE  the image name (default localhost/fsm-swift:<version from Sources/Mesh/Model/MeshVersion.swift>)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/Mesh/Model/MeshVersion.swift)
image=${IMAGE:-localhost/fsm-swift:$version}
scratch=.build-static
binary=$scratch/release/fsm

command -v buildah >/dev/null 2>&1 || { echo "build-image: buildah is missing: run scripts/setup-image.sh (Debian package buildah)" >&2; exit 1; }

# The shipping builds: static stdlib, function sections, lld, the sidecar's link order.
./scripts/build-static.sh fsm "$scratch"
./scripts/build-static.sh fsm-sidecar "$scratch"

stage=$(mktemp -d "${TMPDIR:-/tmp}/fsm-image.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/image-root/usr/local/bin" "$stage/image-root/var/run/fsm" "$stage/image-root/tmp" "$stage/image-root/etc"
for name in fsm fsm-sidecar; do
    cp "$scratch/release/$name" "$stage/image-root/usr/local/bin/$name"
    strip "$stage/image-root/usr/local/bin/$name" 2>/dev/null || true
done
# Every library the binaries still link (and the loader), at the same paths.
ldd "$binary" "$scratch/release/fsm-sidecar" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }' | sort -u | while read -r library; do
    mkdir -p "$stage/image-root$(dirname "$library")"
    cp -L "$library" "$stage/image-root$library"
done
# A passwd line for the non-root user, so tools that look the uid up find a name.
printf 'root:x:0:0:root:/:/sbin/nologin\nfsm:x:65532:65532:fsm:/var/run/fsm:/sbin/nologin\n' > "$stage/image-root/etc/passwd"
printf 'root:x:0:\nfsm:x:65532:\n' > "$stage/image-root/etc/group"
chmod 1777 "$stage/image-root/tmp"
cp Containerfile "$stage/Containerfile"

buildah --storage-driver vfs bud --quiet --layers=false -f "$stage/Containerfile" -t "$image" "$stage" >/dev/null

# The image's own files run: mount its root (with /proc, as a container runtime mounts it: Swift
# reads its arguments from /proc/self/cmdline) and run the binary inside it.
container=$(buildah --storage-driver vfs from "$image")
mount=$(buildah --storage-driver vfs mount "$container")
mkdir -p "$mount/proc"
mount -t proc proc "$mount/proc"
release() {
    umount "$mount/proc" 2>/dev/null || true
    buildah --storage-driver vfs umount "$container" >/dev/null; buildah --storage-driver vfs rm "$container" >/dev/null
}
if ! chroot --userspec=65532:65532 "$mount" /usr/local/bin/fsm version --client || \
   ! chroot --userspec=65532:65532 "$mount" /usr/local/bin/fsm install --dry-run >/dev/null || \
   ! chroot --userspec=65532:65532 "$mount" /usr/local/bin/fsm-sidecar --help >/dev/null; then
    release
    echo "build-image: the image's fsm does not run" >&2
    exit 1
fi
release
size=$(buildah --storage-driver vfs images --format '{{.Size}}' "$image" | head -1)
echo "image $image built ($size)"
