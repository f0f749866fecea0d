/// The order in which a load's workers make their first call, as the simulator's workers start:
/// worker w begins once worker w - 1's first call has finished (answered or failed). A real run
/// uses it for `tcp://` loads in closed loop, whose admission is per connection (a TCP rate limit
/// of one connection lets exactly the first worker through, as in the simulator), so which worker
/// wins does not depend on how the machine schedules their tasks (DECISIONS 178).
struct RealWorkerStartOrder: Sendable {
    private let finished: [AsyncStream<Void>]
    private let signals: [AsyncStream<Void>.Continuation]

    init(workers: Int) {
        let pairs = (0..<max(0, workers)).map { _ in AsyncStream<Void>.makeStream() }
        finished = pairs.map(\.stream)
        signals = pairs.map(\.continuation)
    }

    /// Returns once the worker before `worker` has finished its first call (at once for the first).
    func awaitTurn(of worker: Int) async {
        guard worker > 0, worker - 1 < finished.count else { return }
        for await _ in finished[worker - 1] {}
    }

    /// `worker` finished its first call (again: nothing happens).
    func firstCallFinished(by worker: Int) {
        guard signals.indices.contains(worker) else { return }
        signals[worker].finish()
    }
}
