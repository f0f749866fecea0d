import Glibc

/// The posix_spawn call behind `SpawnedProcess.spawn` (and `fsm up`'s detached processes): the
/// child gets its standard streams as asked, an empty signal mask and default signal actions,
/// and no other descriptor of this process (`posix_spawn_file_actions_addclosefrom_np`:
/// DECISIONS 264).
enum ProcessSpawner {
    static func spawn(_ launch: ProcessLaunch) throws(SpawnFailure) -> SpawnedProcess {
        if let directory = launch.workingDirectory, !InputFile.isDirectory(directory) {
            throw SpawnFailure(executable: launch.executable, reason: "the working directory \(directory) is not a directory")
        }
        var streams = StreamSetup()
        defer { streams.closeChildEnds() }
        do {
            try streams.input(launch.standardInput)
            try streams.output(launch.standardOutput, to: 1)
            try streams.error(launch.standardError)
        } catch {
            streams.closeParentEnds()
            throw SpawnFailure(executable: launch.executable, reason: error.description)
        }
        let pid: pid_t
        do {
            pid = try start(launch, streams: streams)
        } catch {
            streams.closeParentEnds()
            throw error
        }
        return SpawnedProcess(pid: pid, executable: launch.executable, standardInput: streams.parentEnd(0),
                              standardOutput: streams.parentEnd(1), standardError: streams.parentEnd(2))
    }

    private static func start(_ launch: ProcessLaunch, streams: StreamSetup) throws(SpawnFailure) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        for step in streams.steps {
            switch step {
            case .dup(let from, let to): posix_spawn_file_actions_adddup2(&actions, from, to)
            case .openNull(let fd, let flags): posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", flags, 0)
            }
        }
        if let directory = launch.workingDirectory { try GNUSpawnActions.changeDirectory(&actions, to: directory, executable: launch.executable) }
        try GNUSpawnActions.closeFrom(3, &actions, executable: launch.executable)
        setSignals(&attributes, newSession: launch.newSession)
        let argv: [UnsafeMutablePointer<CChar>?] = ([launch.executable] + launch.arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = (launch.environment ?? ProcessLaunch.inheritedEnvironment()).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, launch.executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw SpawnFailure(executable: launch.executable, errno: result) }
        return pid
    }

    /// The caller may be a thread with signals blocked (Dispatch and NIO threads are), or a process
    /// that ignores some (SIGPIPE): the child starts with an empty mask and every signal's default
    /// action, so that SIGTERM reaches it.
    private static func setSignals(_ attributes: inout posix_spawnattr_t, newSession: Bool) {
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        // POSIX_SPAWN_SETSID (0x80) sits behind _GNU_SOURCE, which Swift's Glibc module does not define.
        let sessionFlag: Int16 = 0x80
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK) | Int16(POSIX_SPAWN_SETSIGDEF) | (newSession ? sessionFlag : 0))
    }
}

/// The descriptors of one spawn: the child's ends (dup2'd onto 0, 1 and 2, closed here after the
/// spawn) and this process's ends of the pipes.
struct StreamSetup {
    enum Step {
        case dup(from: Int32, to: Int32)
        case openNull(Int32, flags: Int32)
    }

    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    private(set) var steps: [Step] = []
    /// This process's end for standard input, output and error (when a pipe).
    private(set) var parentEnds: [Int32?] = [nil, nil, nil]
    private var childEnds: [Int32] = []

    mutating func input(_ input: ProcessLaunch.Input) throws(Problem) {
        switch input {
        case .inherit: break
        case .null: steps.append(.openNull(0, flags: O_RDONLY))
        case .pipe:
            let (read, write) = try Self.pipe()
            childEnds.append(read)
            parentEnds[0] = write
            steps.append(.dup(from: read, to: 0))
        case .file(let path): try openFile(path, flags: O_RDONLY, onto: 0)
        }
    }

    mutating func output(_ output: ProcessLaunch.Output, to target: Int32) throws(Problem) {
        switch output {
        case .inherit: break
        case .null: steps.append(.openNull(target, flags: O_WRONLY))
        case .pipe:
            let (read, write) = try Self.pipe()
            childEnds.append(write)
            parentEnds[Int(target)] = read
            steps.append(.dup(from: write, to: target))
        case .file(let path, let append): try openFile(path, flags: O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), onto: target)
        }
    }

    mutating func error(_ error: ProcessLaunch.ErrorOutput) throws(Problem) {
        switch error {
        case .to(let output): try self.output(output, to: 2)
        case .standardOutput: steps.append(.dup(from: 1, to: 2))
        }
    }

    func parentEnd(_ stream: Int) -> PipeEnd? {
        parentEnds[stream].map { PipeEnd(descriptor: $0) }
    }

    func closeChildEnds() {
        for fd in childEnds { _ = systemClose(fd) }
    }

    func closeParentEnds() {
        for fd in parentEnds.compactMap({ $0 }) { _ = systemClose(fd) }
    }

    private mutating func openFile(_ path: String, flags: Int32, onto target: Int32) throws(Problem) {
        let fd = open(path, flags | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Problem(description: "cannot open \(path): \(SystemErrorText.describe(errno: errno))") }
        let kept = Self.aboveStandardStreams(fd)
        childEnds.append(kept)
        steps.append(.dup(from: kept, to: target))
    }

    private static func pipe() throws(Problem) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [0, 0]
        guard GNUSpawnActions.pipeClosedOnExec(&ends) == 0 else { throw Problem(description: "cannot make a pipe: \(SystemErrorText.describe(errno: errno))") }
        return (aboveStandardStreams(ends[0]), aboveStandardStreams(ends[1]))
    }

    /// `fd` moved to 3 or above (close-on-exec): a descriptor of 0–2 (this process had closed a
    /// standard stream) would be overwritten by another stream's dup2 before the child used it.
    private static func aboveStandardStreams(_ fd: Int32) -> Int32 {
        guard fd < 3 else { return fd }
        let moved = fcntl(fd, F_DUPFD_CLOEXEC, 3)
        guard moved >= 0 else { return fd }
        _ = systemClose(fd)
        return moved
    }
}

/// glibc's posix_spawn extensions and `pipe2`, which Swift's Glibc module hides behind
/// _GNU_SOURCE: looked up at run time (`dlsym`), as swift-subprocess does.
enum GNUSpawnActions {
    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    private typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32

    /// Closes every descriptor from `lowest` on in the child (glibc 2.34 and later).
    static func closeFrom(_ lowest: Int32, _ actions: inout posix_spawn_file_actions_t, executable: String) throws(SpawnFailure) {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            throw SpawnFailure(executable: executable, reason: "posix_spawn_file_actions_addclosefrom_np is missing (glibc 2.34 or later)")
        }
        let result = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, lowest)
        guard result == 0 else { throw SpawnFailure(executable: executable, errno: result) }
    }

    /// The child's working directory (glibc 2.29 and later).
    static func changeDirectory(_ actions: inout posix_spawn_file_actions_t, to directory: String, executable: String) throws(SpawnFailure) {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else {
            throw SpawnFailure(executable: executable, reason: "posix_spawn_file_actions_addchdir_np is missing (glibc 2.29 or later)")
        }
        let result = unsafeBitCast(symbol, to: ChangeDirectory.self)(&actions, directory)
        guard result == 0 else { throw SpawnFailure(executable: executable, errno: result) }
    }

    /// `pipe2(ends, O_CLOEXEC)`: both ends close-on-exec from the start, so a child another thread
    /// starts meanwhile cannot inherit them; -1 (errno set) when it fails.
    static func pipeClosedOnExec(_ ends: inout [Int32]) -> Int32 {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pipe2") else {
            errno = ENOSYS
            return -1
        }
        return ends.withUnsafeMutableBufferPointer { unsafeBitCast(symbol, to: Pipe2.self)($0.baseAddress, O_CLOEXEC) }
    }
}
