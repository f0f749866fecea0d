import MeshModel
import MeshProxy
import NIOCore

/// The NIO shell's one clock: every time the sidecar reads (the engine's `MeshInstant`, request
/// start times, latencies, deadlines) and every timer it arms go through the driver's clock, which
/// reads its event loop's time. On a real loop that is the monotonic clock; on NIO's
/// `EmbeddedEventLoop` it is virtual time that a test advances, so handlers, deadlines and the
/// engine's timers run under the test's control and agree with each other.
struct SidecarClock {
    let eventLoop: any EventLoop
    /// The driver's start: `MeshInstant` zero.
    let epoch: NIODeadline

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.epoch = eventLoop.now
    }

    func now() -> NIODeadline { eventLoop.now }

    /// The engine's time: monotonic, since the driver started.
    func instant() -> MeshInstant {
        MeshInstant(nanoseconds: nanoseconds(since: epoch))
    }

    func nanoseconds(since start: NIODeadline) -> Int64 {
        Int64(truncatingIfNeeded: eventLoop.now.uptimeNanoseconds &- start.uptimeNanoseconds)
    }

    func milliseconds(since start: NIODeadline) -> Double {
        Double(nanoseconds(since: start)) / 1_000_000
    }

    /// `after` from now (negative counts as zero).
    func deadline(after: MeshDuration) -> NIODeadline {
        eventLoop.now + .nanoseconds(max(0, after.nanoseconds))
    }

    @discardableResult
    func schedule(at deadline: NIODeadline, _ task: @escaping @Sendable () -> Void) -> Scheduled<Void> {
        eventLoop.scheduleTask(deadline: deadline, task)
    }

    @discardableResult
    func schedule(in amount: TimeAmount, _ task: @escaping @Sendable () -> Void) -> Scheduled<Void> {
        eventLoop.scheduleTask(in: amount, task)
    }
}
