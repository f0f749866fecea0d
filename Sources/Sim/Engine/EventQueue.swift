/// The scheduler's queue: a binary min-heap ordered by (deadline, sequence number), so events
/// due at the same instant run in the order they were scheduled. Entries are small value types
/// (no closures), so pushing and popping does not allocate once the storage has grown.
struct EventQueue<Event> {
    struct Entry {
        var deadline: Int64
        var sequence: UInt64
        var event: Event
    }

    private var heap: [Entry] = []
    private var nextSequence: UInt64 = 0

    init() { heap.reserveCapacity(1024) }

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var nextDeadline: Int64? { heap.first?.deadline }

    mutating func schedule(_ event: Event, at deadline: Int64) {
        let entry = Entry(deadline: deadline, sequence: nextSequence, event: event)
        nextSequence &+= 1
        heap.append(entry)
        siftUp(heap.count - 1)
    }

    mutating func popFirst() -> Entry? {
        guard !heap.isEmpty else { return nil }
        let last = heap.count - 1
        heap.swapAt(0, last)
        let first = heap.removeLast()
        if !heap.isEmpty { siftDown(0) }
        return first
    }

    @inline(__always)
    private func precedes(_ a: Int, _ b: Int) -> Bool {
        let x = heap[a], y = heap[b]
        return x.deadline < y.deadline || (x.deadline == y.deadline && x.sequence < y.sequence)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(child, parent) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let count = heap.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { return }
            var smallest = left
            let right = left + 1
            if right < count && precedes(right, left) { smallest = right }
            guard precedes(smallest, parent) else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
