/// The scheduler's queue: a binary min-heap ordered by (deadline, sequence number), so events
/// due at the same instant run in the order they were scheduled.
///
/// The heap orders small keys (deadline, sequence, slot); the events themselves wait in a slot
/// table and never move, so sifting copies 24 bytes per level whatever an event carries. Slots
/// are reused, so scheduling and popping allocate nothing once the storage has grown.
///
/// An event can be cancelled through the handle `schedule` returned: each slot knows where its
/// key sits in the heap, so the key is taken out at once (the heap does not fill with dead timers,
/// such as a request timeout per request that is answered in time). A handle carries its slot's
/// generation, so a handle of an event that already ran or was cancelled cancels nothing, even
/// when its slot holds another event by then.
struct EventQueue<Event> {
    /// A scheduled event, for `cancel`.
    struct Handle: Hashable {
        fileprivate var slot: Int32
        fileprivate var generation: UInt32
    }

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
    /// Per slot: where its key is in `heap` (meaningful while the slot holds an event).
    private var positions: [Int32] = []
    /// Per slot: bumped when its event leaves, so older handles no longer match.
    private var generations: [UInt32] = []
    private var freeSlots: [Int32] = []
    private var nextSequence: UInt64 = 0

    init() {
        heap.reserveCapacity(1024)
        events.reserveCapacity(1024)
        positions.reserveCapacity(1024)
        generations.reserveCapacity(1024)
    }

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var nextDeadline: Int64? { heap.first?.deadline }

    @discardableResult
    mutating func schedule(_ event: Event, at deadline: Int64) -> Handle {
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            events[Int(slot)] = event
        } else {
            slot = Int32(events.count)
            events.append(event)
            positions.append(0)
            generations.append(0)
        }
        let key = Key(deadline: deadline, sequence: nextSequence, slot: slot)
        nextSequence &+= 1
        heap.append(key)
        heap.withUnsafeMutableBufferPointer { buffer in
            positions.withUnsafeMutableBufferPointer { Self.siftUp(key, from: buffer.count - 1, in: buffer, positions: $0) }
        }
        return Handle(slot: slot, generation: generations[Int(slot)])
    }

    mutating func popFirst() -> Entry? {
        guard let first = heap.first else { return nil }
        removeKey(at: 0)
        let event = release(first.slot)
        return Entry(deadline: first.deadline, sequence: first.sequence, event: event)
    }

    /// Takes a scheduled event out of the queue; nil (and nothing changes) when it already ran or
    /// was cancelled.
    @discardableResult
    mutating func cancel(_ handle: Handle) -> Event? {
        let slot = Int(handle.slot)
        guard slot < events.count, generations[slot] == handle.generation, events[slot] != nil else { return nil }
        removeKey(at: Int(positions[slot]))
        return release(handle.slot)
    }

    /// Whether the handle's event is still waiting.
    func isScheduled(_ handle: Handle) -> Bool {
        let slot = Int(handle.slot)
        return slot < events.count && generations[slot] == handle.generation && events[slot] != nil
    }

    /// Empties a slot for reuse and outdates its handles.
    private mutating func release(_ slot: Int32) -> Event {
        let event = events[Int(slot)].take()!
        generations[Int(slot)] &+= 1
        freeSlots.append(slot)
        return event
    }

    /// Removes the key at `index`, filling the hole with the last key moved up or down.
    private mutating func removeKey(at index: Int) {
        let last = heap.removeLast()
        guard index < heap.count else { return }
        heap.withUnsafeMutableBufferPointer { buffer in
            positions.withUnsafeMutableBufferPointer { positions in
                if index > 0, last.precedes(buffer[(index - 1) / 2]) {
                    Self.siftUp(last, from: index, in: buffer, positions: positions)
                } else {
                    Self.siftDown(last, from: index, in: buffer, positions: positions)
                }
            }
        }
    }

    /// Moves the hole at `start` up until `key` fits, then puts it there.
    private static func siftUp(_ key: Key, from start: Int, in heap: UnsafeMutableBufferPointer<Key>, positions: UnsafeMutableBufferPointer<Int32>) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard key.precedes(heap[parent]) else { break }
            heap[child] = heap[parent]
            positions[Int(heap[child].slot)] = Int32(child)
            child = parent
        }
        heap[child] = key
        positions[Int(key.slot)] = Int32(child)
    }

    /// Puts `key` in the hole at `start`, moving the hole down until `key` fits.
    private static func siftDown(_ key: Key, from start: Int, in heap: UnsafeMutableBufferPointer<Key>, positions: UnsafeMutableBufferPointer<Int32>) {
        let count = heap.count
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < count else { break }
            var smallest = left
            let right = left + 1
            if right < count && heap[right].precedes(heap[left]) { smallest = right }
            guard heap[smallest].precedes(key) else { break }
            heap[parent] = heap[smallest]
            positions[Int(heap[parent].slot)] = Int32(parent)
            parent = smallest
        }
        heap[parent] = key
        positions[Int(key.slot)] = Int32(parent)
    }
}
