import Foundation
import Logging
import MeshModel
import NIOConcurrencyHelpers

/// Runs `LeaderElection` against a Lease in the API: reads it every `retryPeriod`, creates or
/// updates it as the machine decides (updates carry the resourceVersion read, so a concurrent
/// writer makes ours fail with 409), and tells `onTransition` when this process starts or stops
/// leading. Only the leader writes to the cluster; followers keep serving reads.
public final class LeaseElector: Sendable {
    public let namespace: String
    public let name: String
    private let client: KubeClient
    private let logger: Logger
    private let machine: NIOLockedValueBox<LeaderElection>
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)
    private let onTransition: @Sendable (LeaderElection.Transition) -> Void

    public init(client: KubeClient, namespace: String, name: String, election: LeaderElection, logger: Logger,
                onTransition: @escaping @Sendable (LeaderElection.Transition) -> Void = { _ in }) {
        self.client = client
        self.namespace = namespace
        self.name = name
        self.logger = logger
        self.machine = NIOLockedValueBox(election)
        self.onTransition = onTransition
    }

    public var identity: String { machine.withLockedValue { $0.identity } }
    public var isLeader: Bool { machine.withLockedValue { $0.isLeader } }

    /// A holder identity as client-go makes one: the host name and a random suffix.
    public static func defaultIdentity() -> String {
        let host = ProcessInfo.processInfo.environment["POD_NAME"] ?? ProcessInfo.processInfo.hostName
        return "\(host)_\(UUID().uuidString.lowercased())"
    }

    public func start() {
        let started = Task { await self.run() }
        task.withLockedValue { $0 = started }
    }

    /// Stops trying; a leader gives the lease up (no holder, one second left) so that a
    /// follower takes over at once instead of after the lease duration.
    public func stop(release: Bool = true) async {
        let running = task.withLockedValue { task in
            defer { task = nil }
            return task
        }
        running?.cancel()
        await running?.value
        guard release, let record = machine.withLockedValue({ $0.releaseRecord(wallClock: Date()) }) else {
            report(machine.withLockedValue { $0.resign() })
            return
        }
        do {
            if let lease = try await client.get(.leases, namespace: namespace, name: name) {
                let updated = lease.json.setting("spec", to: record.spec)
                try await client.replace(.leases, namespace: namespace, name: name, object: updated)
            }
        } catch {
            logger.warning("could not release the leader lease", metadata: ["lease": "\(namespace)/\(name)", "error": "\(error)"])
        }
        report(machine.withLockedValue { $0.resign() })
    }

    private func run() async {
        let clock = ContinuousClock()
        let start = clock.now
        let period = machine.withLockedValue { $0.retryPeriod }
        var lastProblem: String?
        while !Task.isCancelled {
            let now = start.duration(to: clock.now)
            do {
                try await tryOnce(now: now)
                lastProblem = nil
            } catch {
                if Task.isCancelled { return }
                let problem = "\(error)"
                if problem != lastProblem, !error.isConflict {
                    logger.warning("leader election: lease update failed", metadata: ["lease": "\(namespace)/\(name)", "error": "\(problem)"])
                }
                lastProblem = problem
                report(machine.withLockedValue { $0.failed(now: start.duration(to: clock.now)) })
            }
            do { try await Task.sleep(for: period) } catch { return }
        }
    }

    private func tryOnce(now: Duration) async throws(KubeError) {
        let lease = try await client.get(.leases, namespace: namespace, name: name)
        let attempt = machine.withLockedValue { $0.attempt(lease: lease?.json, now: now, wallClock: Date()) }
        switch attempt {
        case .standBy:
            report(machine.withLockedValue { $0.sawOtherHolder() })
            return
        case .create(let record):
            let object: JSONValue = .object([
                ("apiVersion", .string("coordination.k8s.io/v1")), ("kind", .string("Lease")),
                ("metadata", .object([("name", .string(name)), ("namespace", .string(namespace))])), ("spec", record.spec),
            ])
            try await client.create(.leases, namespace: namespace, object: object)
        case .update(let record, _):
            guard let lease else { return }
            // The object read keeps its metadata.resourceVersion: a concurrent update makes this one fail with 409.
            try await client.replace(.leases, namespace: namespace, name: name, object: lease.json.setting("spec", to: record.spec))
        }
        report(machine.withLockedValue { $0.succeeded(now: now) })
    }

    private func report(_ transition: LeaderElection.Transition?) {
        guard let transition else { return }
        switch transition {
        case .startedLeading:
            logger.notice("became the leader", metadata: ["lease": "\(namespace)/\(name)", "identity": "\(identity)"])
        case .stoppedLeading:
            logger.notice("stopped leading", metadata: ["lease": "\(namespace)/\(name)", "identity": "\(identity)"])
        }
        onTransition(transition)
    }
}
