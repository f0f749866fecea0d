import Glibc

extension SpawnedProcess {
    /// A child run to its end: how it ended and what it wrote to the pipes.
    public struct Completion: Sendable {
        public var termination: ProcessTermination
        /// Standard output (empty unless it went to a pipe; with standard error when merged).
        public var output: [UInt8]
        public var errorOutput: [UInt8]
        /// It was still running at its deadline and was stopped (SIGTERM, then SIGKILL).
        public var timedOut: Bool

        public var outputText: String { String(decoding: output, as: UTF8.self) }
        public var errorText: String { String(decoding: errorOutput, as: UTF8.self) }
    }

    /// Starts `launch`, writes `input` to its standard input (a pipe when `input` is given), reads
    /// both output pipes as they fill (one poll loop: neither can block the child), and waits
    /// for it. Past `timeout` it gets SIGTERM, `grace` later SIGKILL.
    public static func run(_ launch: ProcessLaunch, input: [UInt8]? = nil, timeout: Duration? = nil,
                           grace: Duration = .seconds(2)) throws(SpawnFailure) -> Completion {
        var launch = launch
        if input != nil { launch.standardInput = .pipe }
        let process = try spawn(launch)
        return process.complete(input: input ?? [], timeout: timeout, grace: grace)
    }

    /// Writes `input` (then closes standard input), reads the output pipes to their ends and
    /// waits for the process, stopping it past `timeout` (counted from now).
    public func complete(input: [UInt8] = [], timeout: Duration? = nil, grace: Duration = .seconds(2)) -> Completion {
        var io = PipeTraffic(input: input[...], process: self)
        var schedule = StopSchedule(deadline: timeout, grace: grace)
        let start = ContinuousClock.now
        var ended = termination
        if ended != nil { schedule.exited(at: .zero) }
        while true {
            let now = ContinuousClock.now - start
            if ended == nil, let termination {
                ended = termination
                schedule.exited(at: now)
            }
            if ended != nil, !io.open { break }
            let action = schedule.tick(at: now)
            perform(action)
            if action == .abandon { break }
            // Without pipes only the exit is awaited: look again every 10 ms (no descriptor tells it).
            var wake: Duration = io.open && ended == nil ? .milliseconds(50) : .milliseconds(10)
            if case .wait(let until?) = action { wake = min(wake, max(.zero, until - now)) }
            io.exchange(waitingAtMost: wake)
        }
        io.closeAll()
        return Completion(termination: ended ?? wait(), output: io.output, errorOutput: io.errorOutput, timedOut: schedule.stopRequested)
    }
}

/// The pipes of one `complete`: input written as the child takes it, both outputs read as they fill.
struct PipeTraffic {
    private var pending: ArraySlice<UInt8>
    private let process: SpawnedProcess
    private(set) var output: [UInt8] = []
    private(set) var errorOutput: [UInt8] = []
    private var outputOpen: Bool
    private var errorOpen: Bool

    init(input: ArraySlice<UInt8>, process: SpawnedProcess) {
        pending = input
        self.process = process
        outputOpen = process.standardOutput?.fileDescriptor != nil
        errorOpen = process.standardError?.fileDescriptor != nil
        if input.isEmpty { process.standardInput?.close() }
    }

    /// Whether a pipe is still in use.
    var open: Bool { outputOpen || errorOpen || process.standardInput?.fileDescriptor != nil }

    /// Waits up to `timeout` for any pipe to be ready, then moves what it can.
    mutating func exchange(waitingAtMost timeout: Duration) {
        var entries: [pollfd] = []
        if outputOpen, let fd = process.standardOutput?.fileDescriptor { entries.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
        if errorOpen, let fd = process.standardError?.fileDescriptor { entries.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
        if let fd = process.standardInput?.fileDescriptor { entries.append(pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)) }
        guard !entries.isEmpty else {
            usleep(UInt32(clamping: Int(pollMilliseconds(timeout)) * 1000))
            return
        }
        guard poll(&entries, nfds_t(entries.count), pollMilliseconds(timeout)) > 0 else { return }
        if outputOpen { outputOpen = Self.drain(process.standardOutput, into: &output) }
        if errorOpen { errorOpen = Self.drain(process.standardError, into: &errorOutput) }
        feed()
    }

    /// Writes what the pipe takes now; closes it once all is written or the child stopped reading.
    private mutating func feed() {
        guard let input = process.standardInput, input.fileDescriptor != nil else { return }
        guard let written = input.write(pending) else {
            input.close()
            return
        }
        pending = pending.dropFirst(written)
        if pending.isEmpty { input.close() }
    }

    /// Reads what `pipe` holds now into `bytes`; false once it reached its end.
    private static func drain(_ pipe: PipeEnd?, into bytes: inout [UInt8]) -> Bool {
        guard let pipe else { return false }
        while true {
            switch pipe.read() {
            case .bytes(let chunk): bytes += chunk
            case .nothingYet: return true
            case .end:
                pipe.close()
                return false
            }
        }
    }

    func closeAll() {
        process.standardInput?.close()
        process.standardOutput?.close()
        process.standardError?.close()
    }
}
