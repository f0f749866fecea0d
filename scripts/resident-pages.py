#!/usr/bin/env python3
"""Which code of a running binary is resident: the pages of its own mappings that are present in
the process (/proc/PID/pagemap, root only), attributed to the module of the symbol they hold.

Usage: resident-pages.py [--sections] PID BINARY
Prints KiB resident per module (Swift modules from the mangled names, BoringSSL, the Swift runtime,
CoreFoundation, ICU, other C) for the binary's text, and its read-only and writable data, largest
first. A page is counted for every module with a symbol starting in it (a page shared by two modules
counts for both), so the column sums may exceed the mapping's Rss. With --sections, prints instead the
KiB resident of each allocated ELF section (.text, .dynstr, .rela.dyn, swift5_*, .eh_frame, ...;
a page goes to the section holding most of its bytes, so the column sums to the binary's Rss): the
table to read when the linker's layout changes (docs/BENCHMARKS.md, "The sidecar's resident text
by link order")."""
import bisect
import collections
import re
import struct
import subprocess
import sys

PAGE = 4096


def module(name):
    if name.startswith(("$s", "_$s")):
        body = name[name.index("$s") + 2:]
        digits = re.match(r"(\d+)", body)
        if digits:
            length = int(digits.group(1))
            return body[len(digits.group(1)):len(digits.group(1)) + length]
        if body.startswith(("s", "S")) and not body.startswith("So"):
            return "Swift (stdlib)"
        return "Swift (imported C types)" if body.startswith("So") else "Swift (other)"
    for prefix, label in (("CCryptoBoringSSL", "BoringSSL (swift-crypto)"), ("CNIOBoringSSL", "BoringSSL (swift-nio-ssl)"), ("_ZN4bssl", "BoringSSL C++"), ("_ZNK4bssl", "BoringSSL C++"),
                          ("_ZN6icu_", "ICU"), ("_ZNK6icu_", "ICU"), ("yaml_", "libyaml (Yams)"), ("_ZN12_GLOBAL", "C++ anonymous namespaces"), ("c_nio_llhttp", "NIO C (llhttp)"), ("c_nio", "NIO C"),
                          ("swift_", "Swift runtime"), ("_swift", "Swift runtime"), ("_ZN5swift", "Swift runtime"),
                          ("__CF", "CoreFoundation"), ("CF", "CoreFoundation"), ("_CF", "CoreFoundation"),
                          ("_ZN6icu_", "ICU"), ("u_", "ICU"), ("ucol_", "ICU"), ("ures_", "ICU"), ("udat", "ICU"),
                          ("_dispatch", "Dispatch"), ("dispatch_", "Dispatch"), ("BlocksRuntime", "Dispatch"), ("_Block", "Dispatch")):
        if name.startswith(prefix):
            return label
    if re.search(r"_7[0-9]$", name):
        return "ICU"
    return "other C/C++"


def symbols(binary):
    out = subprocess.run(["nm", "-n", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    addresses, names = [], []
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in "tTrRdDbBvVwW":
            addresses.append(int(parts[0], 16))
            names.append(parts[2])
    return addresses, names


def mappings(pid, binary):
    rows = []
    for line in open(f"/proc/{pid}/maps"):
        fields = line.split()
        if len(fields) >= 6 and fields[5].endswith(binary.rsplit("/", 1)[-1]):
            start, end = (int(x, 16) for x in fields[0].split("-"))
            rows.append((start, end, fields[1], int(fields[2], 16)))
    return rows


def sections(binary):
    """(address, size, name) of every allocated section, by address."""
    out = subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        match = re.match(r"^\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\s+(\S*)", line)
        if match and "A" in match.group(4) and "T" not in match.group(4) and int(match.group(3), 16) > 0:
            rows.append((int(match.group(2), 16), int(match.group(3), 16), match.group(1)))
    return sorted(rows)


def present(pagemap, page):
    pagemap.seek(page // PAGE * 8)
    return struct.unpack("<Q", pagemap.read(8))[0] >> 63 & 1


def per_section(pid, binary):
    """KiB present per section: each present page of the binary's mappings to the section with most of its bytes."""
    table = sections(binary)
    maps = mappings(pid, binary)
    base = next(start - offset for start, _, _, offset in maps if offset == 0)
    resident, pagemap = collections.Counter(), open(f"/proc/{pid}/pagemap", "rb")
    for start, end, perms, _ in maps:
        for page in range(start, end, PAGE):
            if not present(pagemap, page):
                continue
            low, high = page - base, page - base + PAGE
            overlap = [(min(high, a + n) - max(low, a), name) for a, n, name in table if a < high and a + n > low]
            resident[max(overlap)[1] if overlap else f"(no section, {perms})"] += 1
    sizes = {name: n for _, n, name in table}
    print("| section | size KiB | resident KiB |")
    print("|---|---|---|")
    for name, pages in resident.most_common():
        print(f"| {name} | {sizes.get(name, 0) // 1024} | {pages * 4} |")
    print(f"| total | | {sum(resident.values()) * 4} |")


def main():
    if sys.argv[1] == "--sections":
        per_section(int(sys.argv[2]), sys.argv[3])
        return
    pid, binary = int(sys.argv[1]), sys.argv[2]
    addresses, names = symbols(binary)
    maps = mappings(pid, binary)
    base = next(start - offset for start, _, _, offset in maps if offset == 0)
    pagemap = open(f"/proc/{pid}/pagemap", "rb")
    for start, end, perms, _ in maps:
        kind = "text" if "x" in perms else ("data (rw)" if "w" in perms else "rodata")
        per_module, present = collections.Counter(), 0
        for page in range(start, end, PAGE):
            if not present(pagemap, page):
                continue
            present += 1
            low = bisect.bisect_right(addresses, page - base) - 1
            high = bisect.bisect_left(addresses, page - base + PAGE)
            seen = {module(names[i]) for i in range(max(low, 0), max(high, low + 1))}
            for name in seen:
                per_module[name] += 1
        print(f"## {kind}: {present * 4} KiB present of {(end - start) // 1024} KiB")
        for name, pages in per_module.most_common(25):
            print(f"  {pages * 4:7d} KiB  {name}")


if __name__ == "__main__":
    main()
