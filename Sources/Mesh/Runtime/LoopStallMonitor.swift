import NIOCore
import NIOPosix

/// The sidecar's event-loop stalls (DECISIONS 237): for each loop iteration that read from a
/// socket, the time from its first read to the end of the iteration (the reads' handlers, the
/// writes they made, then the tasks the loop ran). A request whose bytes arrived while the loop was
/// busy waited for up to that long before its own read: a P99 that came from a busy loop shows here
/// as stalls of the same size.
///
/// Two hooks, each a clock read and a store at most: `ReadMarker`, the receive allocator of every
/// data-path connection, notes the first read of an iteration (NIO calls `record(actualReadBytes:)`
/// after each read, before the bytes go up the pipeline); NIO's metrics delegate
/// (`processedTick`, after the iteration's tasks) records the stall into `LoopStallHistogram`.
/// Confined to the thread of the one event loop it is the delegate of (`SidecarProcess` runs one).
public final class LoopStallMonitor: NIOEventLoopMetricsDelegate, @unchecked Sendable {
    private var firstRead: NIODeadline?
    private var histogram = LoopStallHistogram()

    public init() {}

    /// The stalls so far (read on the loop, like every other use).
    public var stalls: LoopStallHistogram { histogram }

    func readHappened() {
        if firstRead == nil { firstRead = .now() }
    }

    public func processedTick(info: NIOEventLoopTickInfo) {
        guard let start = firstRead else { return }
        firstRead = nil
        histogram.record(nanoseconds: (info.endTime - start).nanoseconds)
    }

    /// The receive allocator of a monitored connection: NIO's adaptive one, noting each read.
    public struct ReadMarker: RecvByteBufferAllocator {
        private var sizes = AdaptiveRecvByteBufferAllocator()
        private let monitor: LoopStallMonitor

        init(monitor: LoopStallMonitor) {
            self.monitor = monitor
        }

        public func buffer(allocator: ByteBufferAllocator) -> ByteBuffer {
            sizes.buffer(allocator: allocator)
        }

        public func nextBufferSize() -> Int? {
            sizes.nextBufferSize()
        }

        public mutating func record(actualReadBytes: Int) -> Bool {
            monitor.readHappened()
            return sizes.record(actualReadBytes: actualReadBytes)
        }
    }

    public var readMarker: ReadMarker { ReadMarker(monitor: self) }
}
