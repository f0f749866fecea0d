import Glibc
import Synchronization

/// This process's end of a pipe to a child (non-blocking, close-on-exec), closed once: by
/// `close()` or when dropped.
public final class PipeEnd: Sendable {
    private let descriptor: Mutex<Int32>

    init(descriptor: Int32) {
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        self.descriptor = Mutex(descriptor)
    }

    deinit { close() }

    /// The descriptor, or nil once closed.
    public var fileDescriptor: Int32? {
        descriptor.withLock { $0 >= 0 ? $0 : nil }
    }

    public func close() {
        let fd = descriptor.withLock { fd in
            defer { fd = -1 }
            return fd
        }
        if fd >= 0 { _ = systemClose(fd) }
    }

    /// What one read found.
    public enum ReadResult: Sendable, Equatable {
        case bytes([UInt8])
        /// Nothing to read now; the writer is still there.
        case nothingYet
        /// The writer closed its end (or the pipe failed): nothing more will come.
        case end
    }

    /// Reads what is there now, at most `limit` bytes, without waiting.
    public func read(limit: Int = 64 << 10) -> ReadResult {
        // Under the lock: a `close()` meanwhile cannot hand the number to another file mid-read
        // (the read never blocks: the end is non-blocking).
        descriptor.withLock { fd in
            guard fd >= 0 else { return .end }
            return Self.read(fd, limit: limit)
        }
    }

    private static func read(_ fd: Int32, limit: Int) -> ReadResult {
        var buffer = [UInt8](repeating: 0, count: limit)
        while true {
            let count = buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress!, $0.count) }
            if count > 0 { return .bytes(Array(buffer[0..<count])) }
            if count == 0 { return .end }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .nothingYet
            default: return .end
            }
        }
    }

    /// Waits up to `timeout` for bytes (or the end), then reads them; `.nothingYet` when none came.
    public func read(waitingAtMost timeout: Duration, limit: Int = 64 << 10) -> ReadResult {
        guard let fd = fileDescriptor else { return .end }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&entry, 1, pollMilliseconds(timeout))
        return ready == 0 ? .nothingYet : read(limit: limit)
    }

    /// Everything up to the end (waiting for it).
    public func readToEnd() -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            switch read(waitingAtMost: .seconds(1)) {
            case .bytes(let chunk): bytes += chunk
            case .nothingYet: continue
            case .end: return bytes
            }
        }
    }

    /// Writes what it can of `bytes` now: the count written, or nil when the reader is gone
    /// (EPIPE: the child closed its input or exited; no SIGPIPE is raised in this process).
    public func write(_ bytes: ArraySlice<UInt8>) -> Int? {
        descriptor.withLock { fd in
            guard fd >= 0 else { return nil }
            return bytes.isEmpty ? 0 : Self.write(fd, bytes)
        }
    }

    private static func write(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Int? {
        withSIGPIPEBlocked {
            while true {
                let count = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress!, $0.count) }
                if count >= 0 { return count }
                switch errno {
                case EINTR: continue
                case EAGAIN, EWOULDBLOCK: return 0
                default: return nil
                }
            }
        }
    }

    /// Writes all of `bytes` (waiting while the pipe is full) and closes this end; false when the
    /// reader went away first.
    @discardableResult
    public func writeAllAndClose(_ bytes: [UInt8]) -> Bool {
        defer { close() }
        var rest = bytes[...]
        while !rest.isEmpty {
            guard let fd = fileDescriptor, let count = write(rest) else { return false }
            if count == 0 {
                var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&entry, 1, 1000)
            }
            rest = rest.dropFirst(count)
        }
        return true
    }
}

/// Runs `body` with SIGPIPE blocked on this thread, and takes back a SIGPIPE that `body` raised
/// (a write to a pipe whose reader is gone then fails with EPIPE instead of killing the process).
func withSIGPIPEBlocked<T>(_ body: () -> T) -> T {
    var pipeSignal = sigset_t()
    sigemptyset(&pipeSignal)
    sigaddset(&pipeSignal, SIGPIPE)
    var previous = sigset_t()
    pthread_sigmask(SIG_BLOCK, &pipeSignal, &previous)
    var pendingBefore = sigset_t()
    sigpending(&pendingBefore)
    let alreadyPending = sigismember(&pendingBefore, SIGPIPE) == 1
    let result = body()
    var pendingAfter = sigset_t()
    sigpending(&pendingAfter)
    if !alreadyPending, sigismember(&pendingAfter, SIGPIPE) == 1 {
        var none = timespec(tv_sec: 0, tv_nsec: 0)
        _ = sigtimedwait(&pipeSignal, nil, &none)
    }
    pthread_sigmask(SIG_SETMASK, &previous, nil)
    return result
}

/// `timeout` as poll(2)'s milliseconds: rounded up (a wait is never shorter than asked), 0 at least.
func pollMilliseconds(_ timeout: Duration) -> Int32 {
    let (seconds, attoseconds) = timeout.components
    guard seconds >= 0, attoseconds >= 0 else { return 0 }
    guard seconds < Int64(Int32.max / 1000) else { return Int32.max }
    let perMillisecond: Int64 = 1_000_000_000_000_000
    return Int32(clamping: seconds * 1000 + (attoseconds + perMillisecond - 1) / perMillisecond)
}

/// `read(2)`, `write(2)` and `close(2)`, named apart from `PipeEnd`'s methods.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { read(fd, buffer, count) }
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
func systemClose(_ fd: Int32) -> Int32 { close(fd) }
