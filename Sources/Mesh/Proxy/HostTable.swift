/// Host forms (`bookstore.bookstore:14001`) → an index, built once when a config compiles and
/// read by every HTTP request's route match, found without `Hasher`.
///
/// A `[String: Int]` lookup ran SipHash over the Host and compared the key of each bucket it
/// probed (~670 instructions a lookup, two lookups per simulated request). Here a host's slot
/// comes from FNV-1a over its UTF-8 bytes, each slot keeps its host's full 64-bit hash, and only a
/// slot whose hash is the same compares bytes. The table is at most half full and never changes
/// after it is built, so a Host chosen to collide (a request's Host is the client's choice) costs
/// at most a walk over the longest run of occupied slots, not a degraded table: no seed is
/// needed.
struct HostTable: Sendable {
    private struct Slot: Sendable {
        /// 0: the slot is empty (a host whose hash is 0 is stored as 1).
        var hash: UInt64 = 0
        var host = ""
        var value = 0
    }

    private var slots: [Slot] = []
    private var shift: UInt64 = 64
    private(set) var count = 0

    init() {}

    /// The value of `host` as written: bytes compared as they are (no case folding).
    subscript(host: String) -> Int? {
        guard count > 0 else { return nil }
        let hash = HostTable.hash(host)
        let mask = slots.count - 1
        var slot = home(of: hash)
        while slots[slot].hash != 0 {
            if slots[slot].hash == hash, slots[slot].host == host { return slots[slot].value }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// Adds `host` with `value` unless the table has it already (the first value stays).
    mutating func insertIfAbsent(_ host: String, value: Int) {
        guard self[host] == nil else { return }
        if (count + 1) * 2 > slots.count { grow() }
        place(Slot(hash: HostTable.hash(host), host: host, value: value))
        count += 1
    }

    /// Every host, in slot order.
    var hosts: [String] {
        slots.compactMap { $0.hash == 0 ? nil : $0.host }
    }

    private func home(of hash: UInt64) -> Int {
        Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    private mutating func place(_ entry: Slot) {
        let mask = slots.count - 1
        var slot = home(of: entry.hash)
        while slots[slot].hash != 0 { slot = (slot + 1) & mask }
        slots[slot] = entry
    }

    private mutating func grow() {
        let old = slots
        let capacity = max(16, old.count * 2)
        slots = Array(repeating: Slot(), count: capacity)
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        for entry in old where entry.hash != 0 { place(entry) }
    }

    /// FNV-1a (64-bit) of the host's UTF-8 bytes, never 0.
    static func hash(_ host: String) -> UInt64 {
        let hash = host.utf8.withContiguousStorageIfAvailable { fnv1a($0) } ?? fnv1a(host.utf8)
        return hash == 0 ? 1 : hash
    }

    private static func fnv1a(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }
}
