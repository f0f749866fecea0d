/// Values by an integer key (an exchange or connection serial number, a port, an IPv4 address),
/// found without `Hasher`.
///
/// The engine's per-request tables are keyed by numbers the engine or its shell hand out, not by
/// anything a peer chooses, so they need no seeded hash: a key's home slot is its Fibonacci
/// (multiplicative) hash, and collisions probe linearly in a table at most half full. A lookup is
/// a multiply, a shift and a compare or two where a `Dictionary` lookup ran SipHash (~140
/// instructions; a dozen lookups per simulated request). Removal shifts the entries after the hole
/// back (no tombstones), so a table that sees millions of serial numbers come and go stays as
/// short to probe as a fresh one.
///
/// Public and inlinable so that the simulator's own tables keyed by connection numbers use it
/// too. Iteration order depends on the keys and the history of the table, never on a per-process
/// seed; nothing should depend on it (sort the keys where order matters).
public struct IntegerTable<Key: FixedWidthInteger, Value> {
    @usableFromInline
    struct Slot {
        @usableFromInline var key: Key
        /// A probe reads the key and this flag only: a test of `value` against nil copied the
        /// whole slot (retaining what the value holds) at every step of every probe.
        @usableFromInline var occupied: Bool
        /// nil exactly when the slot is empty.
        @usableFromInline var value: Value?

        @inlinable
        init(key: Key, value: Value?) {
            self.key = key
            occupied = value != nil
            self.value = value
        }
    }

    /// A position in the table, valid until the next insertion or removal.
    public struct Index: Hashable, Sendable {
        @usableFromInline let slot: Int

        @inlinable
        init(slot: Int) { self.slot = slot }
    }

    /// A power of two long (or empty before the first insertion).
    @usableFromInline var slots: [Slot] = []
    @usableFromInline var shift: UInt64 = 64
    /// The number of keys (a stored property inlinable code may change).
    @usableFromInline var occupied = 0

    @inlinable
    public var count: Int { occupied }

    @inlinable
    public init() {}

    @inlinable
    public var isEmpty: Bool { occupied == 0 }

    /// The home slot of `key`: the top bits of the key times 2^64 / φ.
    @inlinable
    func home(of key: Key) -> Int {
        Int(truncatingIfNeeded: (UInt64(truncatingIfNeeded: key) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The slot holding `key`, nil when none does.
    @inlinable
    public func index(forKey key: Key) -> Index? {
        guard occupied > 0 else { return nil }
        let mask = slots.count - 1
        var slot = home(of: key)
        while slots[slot].occupied {
            if slots[slot].key == key { return Index(slot: slot) }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// The value at an index `index(forKey:)` returned, changed in place.
    @inlinable
    public subscript(index: Index) -> Value {
        get { slots[index.slot].value! }
        _modify { yield &slots[index.slot].value! }
    }

    @inlinable
    public func key(at index: Index) -> Key { slots[index.slot].key }

    @inlinable
    public func contains(_ key: Key) -> Bool { index(forKey: key) != nil }

    /// The value of `key`; setting nil removes it. Changed through the subscript
    /// (`table[key]?.field = x`), the value is changed where it is stored, not copied.
    @inlinable
    public subscript(key: Key) -> Value? {
        get { index(forKey: key).map { slots[$0.slot].value! } }
        set {
            if let newValue {
                insert(newValue, forKey: key)
            } else {
                removeValue(forKey: key)
            }
        }
        _modify {
            if let index = index(forKey: key) {
                // Moved out (not copied) while it changes, so its storage stays uniquely referenced.
                var value = slots[index.slot].value.take()
                defer {
                    if value != nil {
                        slots[index.slot].value = value.take()
                    } else {
                        slots[index.slot].occupied = false
                        occupied -= 1
                        closeHole(at: index.slot)
                    }
                }
                yield &value
            } else {
                var value: Value?
                defer { if let value { insert(value, forKey: key) } }
                yield &value
            }
        }
    }

    /// Sets the value of `key`, replacing any it had.
    @inlinable
    public mutating func insert(_ value: Value, forKey key: Key) {
        if let index = index(forKey: key) {
            slots[index.slot].value = value
            return
        }
        if (occupied + 1) * 2 > slots.count { grow() }
        let mask = slots.count - 1
        var slot = home(of: key)
        while slots[slot].occupied { slot = (slot + 1) & mask }
        slots[slot] = Slot(key: key, value: value)
        occupied += 1
    }

    /// Removes and returns the value of `key`, nil when it had none.
    @inlinable
    @discardableResult
    public mutating func removeValue(forKey key: Key) -> Value? {
        guard let index = index(forKey: key) else { return nil }
        return remove(at: index)
    }

    /// Removes and returns the value at `index`; other indices are invalid afterwards.
    @inlinable
    @discardableResult
    public mutating func remove(at index: Index) -> Value {
        let value = slots[index.slot].value.take()!
        slots[index.slot].occupied = false
        occupied -= 1
        closeHole(at: index.slot)
        return value
    }

    /// Every key, in slot order.
    @inlinable
    public var keys: [Key] {
        slots.compactMap { $0.occupied ? $0.key : nil }
    }

    /// Every value, in slot order.
    @inlinable
    public var values: [Value] {
        slots.compactMap(\.value)
    }

    @inlinable
    public mutating func removeAll() {
        slots = []
        shift = 64
        occupied = 0
    }

    /// Backward-shift deletion: entries after the emptied slot whose home is not between it and
    /// themselves move into it, so every entry stays reachable from its home without tombstones.
    @inlinable
    mutating func closeHole(at start: Int) {
        let mask = slots.count - 1
        var hole = start
        var slot = start
        while true {
            slot = (slot + 1) & mask
            guard slots[slot].occupied else { return }
            let home = home(of: slots[slot].key)
            // The entry stays when its home lies in (hole, slot], cyclically.
            let fromHole = (home - hole) & mask
            if fromHole != 0 && fromHole <= (slot - hole) & mask { continue }
            slots.swapAt(hole, slot)
            hole = slot
        }
    }

    /// Doubles the slots (16 at first) and puts every entry at its new home.
    @inlinable
    mutating func grow() {
        let old = slots
        let capacity = Swift.max(16, old.count * 2)
        slots = Array(repeating: Slot(key: 0, value: nil), count: capacity)
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        let mask = capacity - 1
        for entry in old where entry.occupied {
            var slot = home(of: entry.key)
            while slots[slot].occupied { slot = (slot + 1) & mask }
            slots[slot] = entry
        }
    }
}

extension IntegerTable: Sendable where Key: Sendable, Value: Sendable {}
extension IntegerTable.Slot: Sendable where Key: Sendable, Value: Sendable {}
