import Dispatch
import Foundation
import NIOConcurrencyHelpers

/// Where a sidecar's access-log lines go: a bounded buffer drained by a writer of its own (a
/// dispatch queue), so a writer that blocks (a full pipe, a slow disk) never blocks the event
/// loop. When the buffer is full a line is dropped and counted instead (`offer` says so).
public final class AccessLogSink: @unchecked Sendable {
    public static let defaultCapacity = 4096

    private let lock = NIOLock()
    private var buffer: [String] = []
    private var draining = false
    private var droppedCount: UInt64 = 0
    private let capacity: Int
    private let queue = DispatchQueue(label: "fsm.sidecar.access-log")
    private let write: @Sendable (String) -> Void

    /// `write` gets batches of whole lines, one call at a time, off the event loop.
    public init(capacity: Int = AccessLogSink.defaultCapacity, write: @escaping @Sendable (String) -> Void) {
        self.capacity = max(1, capacity)
        self.write = write
    }

    /// Lines to the process's standard output (what `kubectl logs` shows).
    public static func standardOutput(capacity: Int = AccessLogSink.defaultCapacity) -> AccessLogSink {
        AccessLogSink(capacity: capacity) { text in FileHandle.standardOutput.write(Data(text.utf8)) }
    }

    /// Lines appended to the file at `path` (created 0600 when missing: request paths can carry
    /// what their authors thought private). Fails with one line when it cannot be opened.
    public static func file(_ path: String, capacity: Int = AccessLogSink.defaultCapacity) throws -> AccessLogSink {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw AccessLogSinkError(path: path)
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw AccessLogSinkError(path: path) }
        handle.seekToEndOfFile()
        return AccessLogSink(capacity: capacity) { text in handle.write(Data(text.utf8)) }
    }

    /// Queues one line (with its newline); never blocks. false: the buffer was full, the line dropped.
    @discardableResult
    public func offer(_ line: String) -> Bool {
        let (accepted, startDrain) = lock.withLock { () -> (Bool, Bool) in
            guard buffer.count < capacity else {
                droppedCount += 1
                return (false, false)
            }
            buffer.append(line)
            if draining { return (true, false) }
            draining = true
            return (true, true)
        }
        if startDrain { queue.async { self.drain() } }
        return accepted
    }

    /// Lines dropped so far.
    public var dropped: UInt64 { lock.withLock { droppedCount } }

    /// Waits until every line offered before the call has been written (tests, shutdown).
    public func flush() {
        queue.sync {}
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
