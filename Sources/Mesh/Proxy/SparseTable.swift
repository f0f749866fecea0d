/// Values for some of the indices of a larger table, kept densely in first-use order.
///
/// A sidecar's config can name thousands of clusters of which it talks to a handful; their
/// mutable state is created on first use, so an unused index costs at most 4 bytes (its slot
/// number, and only below the highest index that has a value). Lookups are two array reads.
struct SparseTable<Value: Sendable>: Sendable {
    /// Index → slot + 1 in `values` (0: no value); only as long as the highest index with a value.
    private var slotPlusOne: [Int32] = []
    /// The values, by slot.
    private(set) var values: [Value] = []
    /// The index each slot belongs to.
    private(set) var indexOfSlot: [Int] = []

    init() {}

    var count: Int { values.count }

    func slot(of index: Int) -> Int? {
        guard index >= 0, index < slotPlusOne.count else { return nil }
        let slot = Int(slotPlusOne[index]) - 1
        return slot >= 0 ? slot : nil
    }

    func contains(_ index: Int) -> Bool { slot(of: index) != nil }

    /// Adds the value of an index that has none yet (an index that has one keeps it).
    mutating func insert(_ value: Value, at index: Int) {
        precondition(index >= 0, "SparseTable index must not be negative")
        guard !contains(index) else { return }
        if index >= slotPlusOne.count {
            slotPlusOne.append(contentsOf: repeatElement(0, count: index + 1 - slotPlusOne.count))
        }
        values.append(value)
        indexOfSlot.append(index)
        slotPlusOne[index] = Int32(values.count)
    }

    /// The value of an index that has one; use `contains`/`insert` first where it may not.
    subscript(index: Int) -> Value {
        get { values[Int(slotPlusOne[index]) - 1] }
        _modify { yield &values[Int(slotPlusOne[index]) - 1] }
    }

    /// The value of an index, nil when it has none.
    subscript(ifPresent index: Int) -> Value? {
        slot(of: index).map { values[$0] }
    }
}
