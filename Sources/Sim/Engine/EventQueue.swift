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

    /// A place for one waiting event. Its event, its key's place in the heap and its generation
    /// live together, so that scheduling or popping an event changes one table besides the heap
    /// (three parallel tables and a free list cost a uniqueness check and a bounds check each).
    private struct Slot {
        var event: Event?
        /// While it holds an event: where its key is in `heap`.
        var position: Int32 = 0
        /// While it is free: the next free slot, if any.
        var nextFree: Int32?
        /// Bumped when its event leaves, so older handles no longer match.
        var generation: UInt32 = 0
    }

    private var heap: [Key] = []
    private var slots: [Slot] = []
    /// The free slots, as a list through `Slot.nextFree`.
    private var firstFree: Int32?
    private var nextSequence: UInt64 = 0

    init() {
        heap.reserveCapacity(1024)
        slots.reserveCapacity(1024)
    }

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var nextDeadline: Int64? { heap.first?.deadline }

    @discardableResult
    mutating func schedule(_ event: Event, at deadline: Int64) -> Handle {
        let slot: Int32
        if let free = firstFree {
            slot = free
            firstFree = slots[Int(slot)].nextFree
            slots[Int(slot)].event = event
        } else {
            slot = Int32(slots.count)
            slots.append(Slot(event: event))
        }
        let key = Key(deadline: deadline, sequence: nextSequence, slot: slot)
        nextSequence &+= 1
        heap.append(key)
        heap.withUnsafeMutableBufferPointer { buffer in
            slots.withUnsafeMutableBufferPointer { Self.siftUp(key, from: buffer.count - 1, in: buffer, slots: $0) }
        }
        return Handle(slot: slot, generation: slots[Int(slot)].generation)
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
        guard isScheduled(handle) else { return nil }
        removeKey(at: Int(slots[Int(handle.slot)].position))
        return release(handle.slot)
    }

    /// Whether the handle's event is still waiting.
    func isScheduled(_ handle: Handle) -> Bool {
        let slot = Int(handle.slot)
        return slot < slots.count && slots[slot].generation == handle.generation && slots[slot].event != nil
    }

    /// Empties a slot for reuse and outdates its handles.
    private mutating func release(_ slot: Int32) -> Event {
        let event = slots[Int(slot)].event.take()!
        slots[Int(slot)].generation &+= 1
        slots[Int(slot)].nextFree = firstFree
        firstFree = slot
        return event
    }

    /// Removes the key at `index`, filling the hole with the last key moved up or down.
    private mutating func removeKey(at index: Int) {
        let last = heap.removeLast()
        guard index < heap.count else { return }
        heap.withUnsafeMutableBufferPointer { buffer in
            slots.withUnsafeMutableBufferPointer { slots in
                if index > 0, last.precedes(buffer[(index - 1) / 2]) {
                    Self.siftUp(last, from: index, in: buffer, slots: slots)
                } else {
                    Self.siftDown(last, from: index, in: buffer, slots: slots)
                }
            }
        }
    }

    /// Moves the hole at `start` up until `key` fits, then puts it there.
    private static func siftUp(_ key: Key, from start: Int, in heap: UnsafeMutableBufferPointer<Key>, slots: UnsafeMutableBufferPointer<Slot>) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard key.precedes(heap[parent]) else { break }
            heap[child] = heap[parent]
            slots[Int(heap[child].slot)].position = Int32(child)
            child = parent
        }
        heap[child] = key
        slots[Int(key.slot)].position = Int32(child)
    }

    /// Puts `key` in the hole at `start`, moving the hole down until `key` fits.
    private static func siftDown(_ key: Key, from start: Int, in heap: UnsafeMutableBufferPointer<Key>, slots: UnsafeMutableBufferPointer<Slot>) {
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
            slots[Int(heap[parent].slot)].position = Int32(parent)
            parent = smallest
        }
        heap[parent] = key
        slots[Int(key.slot)].position = Int32(parent)
    }
}
