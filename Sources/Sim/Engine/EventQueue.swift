/// The scheduler's queue: a binary min-heap ordered by (deadline, sequence number), so events
/// due at the same instant run in the order they were scheduled.
///
/// The heap orders small keys (deadline, sequence, slot); the events themselves wait in a slot
/// table and never move, so sifting copies 24 bytes per level whatever an event carries. Slots
/// are reused, so scheduling and popping allocate nothing once the storage has grown.
struct EventQueue<Event> {
    struct Entry {
        var deadline: Int64
        var sequence: UInt64
        var event: Event
    }

    private struct Key {
        var deadline: Int64
        var sequence: UInt64
        var slot: Int32

        @inline(__always)
        func precedes(_ other: Key) -> Bool {
            deadline < other.deadline || (deadline == other.deadline && sequence < other.sequence)
        }
    }

    private var heap: [Key] = []
    private var events: [Event?] = []
    private var freeSlots: [Int32] = []
    private var nextSequence: UInt64 = 0

    init() {
        heap.reserveCapacity(1024)
        events.reserveCapacity(1024)
    }

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var nextDeadline: Int64? { heap.first?.deadline }

    mutating func schedule(_ event: Event, at deadline: Int64) {
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            events[Int(slot)] = event
        } else {
            slot = Int32(events.count)
            events.append(event)
        }
        let key = Key(deadline: deadline, sequence: nextSequence, slot: slot)
        nextSequence &+= 1
        heap.append(key)
        heap.withUnsafeMutableBufferPointer { Self.siftUp(key, from: $0.count - 1, in: $0) }
    }

    mutating func popFirst() -> Entry? {
        guard let first = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap.withUnsafeMutableBufferPointer { Self.siftDown(last, in: $0) }
        }
        let event = events[Int(first.slot)].take()!
        freeSlots.append(first.slot)
        return Entry(deadline: first.deadline, sequence: first.sequence, event: event)
    }

    /// Moves the hole at `start` up until `key` fits, then puts it there.
    private static func siftUp(_ key: Key, from start: Int, in heap: UnsafeMutableBufferPointer<Key>) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard key.precedes(heap[parent]) else { break }
            heap[child] = heap[parent]
            child = parent
        }
        heap[child] = key
    }

    /// Puts `key` in the hole at the root, moving the hole down until `key` fits.
    private static func siftDown(_ key: Key, in heap: UnsafeMutableBufferPointer<Key>) {
        let count = heap.count
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < count else { break }
            var smallest = left
            let right = left + 1
            if right < count && heap[right].precedes(heap[left]) { smallest = right }
            guard heap[smallest].precedes(key) else { break }
            heap[parent] = heap[smallest]
            parent = smallest
        }
        heap[parent] = key
    }
}
