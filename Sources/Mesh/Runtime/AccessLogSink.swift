import Dispatch
import MeshShell
import NIOConcurrencyHelpers

/// Where a sidecar's access-log lines go: a bounded buffer drained by a writer of its own (a
/// dispatch queue), so a writer that blocks (a full pipe, a slow disk) never blocks the event
/// loop. When the buffer is full a line is dropped and counted instead (`offer` says so).
///
/// Lines are written in batches, as Envoy's file access log flushes its buffer on an interval: the
/// first line into an empty buffer schedules a write `flushInterval` later, and a buffer a quarter
/// full is written at once. Waking the writer for every line cost more CPU than the rest of the
/// access log (a thread wake-up and a write(2) per request; docs/BENCHMARKS.md "Observability cost").
public final class AccessLogSink: @unchecked Sendable {
    public static let defaultCapacity = 4096
    public static let defaultFlushInterval = DispatchTimeInterval.milliseconds(200)

    private let lock = NIOLock()
    private var buffer: [String] = []
    private var draining = false
    private var droppedCount: UInt64 = 0
    private let capacity: Int
    private let flushInterval: DispatchTimeInterval
    private let queue = DispatchQueue(label: "fsm.sidecar.access-log")
    private let write: @Sendable (String) -> Void

    /// `write` gets batches of whole lines, one call at a time, off the event loop, at most
    /// `flushInterval` after the first line of a batch was offered.
    public init(capacity: Int = AccessLogSink.defaultCapacity, flushInterval: DispatchTimeInterval = AccessLogSink.defaultFlushInterval,
                write: @escaping @Sendable (String) -> Void) {
        self.capacity = max(1, capacity)
        self.flushInterval = flushInterval
        self.write = write
    }

    /// Lines to the process's standard output (what `kubectl logs` shows).
    public static func standardOutput(capacity: Int = AccessLogSink.defaultCapacity) -> AccessLogSink {
        AccessLogSink(capacity: capacity) { text in _ = AppendFile.standardOutput.write(text) }
    }

    /// Lines appended to the file at `path` (created 0600 when missing: request paths can carry
    /// what their authors thought private). Fails with one line when it cannot be opened. A batch
    /// the file does not take (a full disk) is lost, as a full buffer's lines are.
    public static func file(_ path: String, capacity: Int = AccessLogSink.defaultCapacity) throws -> AccessLogSink {
        let file: AppendFile
        do {
            file = try AppendFile(path: path)
        } catch {
            throw AccessLogSinkError(path: path)
        }
        return AccessLogSink(capacity: capacity) { text in _ = file.write(text) }
    }

    /// Queues one line (with its newline); never blocks. false: the buffer was full, the line dropped.
    @discardableResult
    public func offer(_ line: String) -> Bool {
        let (accepted, schedule) = lock.withLock { () -> (Bool, DrainSchedule?) in
            guard buffer.count < capacity else {
                droppedCount += 1
                return (false, nil)
            }
            buffer.append(line)
            let wasDraining = draining
            draining = true
            if buffer.count == max(1, capacity / 4) { return (true, .now) }
            return (true, wasDraining ? nil : .later)
        }
        switch schedule {
        case .now?: queue.async { self.drain() }
        case .later?: queue.asyncAfter(deadline: .now() + flushInterval) { self.drain() }
        case nil: break
        }
        return accepted
    }

    private enum DrainSchedule { case now, later }

    /// Lines dropped so far.
    public var dropped: UInt64 { lock.withLock { droppedCount } }

    /// Writes every line offered before the call, and waits until it is written (tests, shutdown).
    public func flush() {
        queue.sync { drain() }
    }

    private func drain() {
        while true {
            let batch: [String]? = lock.withLock {
                guard !buffer.isEmpty else {
                    draining = false
                    return nil
                }
                defer { buffer.removeAll(keepingCapacity: true) }
                return buffer
            }
            guard let batch else { return }
            write(batch.joined())
        }
    }
}

public struct AccessLogSinkError: Error, CustomStringConvertible {
    public var path: String
    public var description: String { "cannot open the access log \(path) for writing" }
}
