import Foundation
import Logging
import MeshControlPlane
import MeshIdentity
import MeshModel
import NIOConcurrencyHelpers
import NIOHTTP1

/// `fsm controller --kubernetes --gateway`'s `GatewayProvisioner`: the leader makes the API hold
/// what `GatewayProvisioningPlan` computes from each new snapshot (the Gateways and the owned
/// objects listed afresh each time), mints gateway credentials with the controller's key, and
/// writes each Gateway API object's status through its status subresource when it changed since
/// this replica last wrote it. Snapshots are taken in order, one pass at a time; a newer one
/// waiting replaces an older; a failed pass is tried again after `retry`.
public final class KubeGatewayProvisioner: GatewayProvisioner {
    let client: KubeClient
    let plan: GatewayProvisioningPlan
    let credentials: CredentialAuthority
    let isLeader: @Sendable () -> Bool
    let retry: Duration
    let logger: Logger
    private let state = NIOLockedValueBox(State())

    struct State {
        var pending: GatewaySnapshot?
        var running = false
        /// The status last written for each object, unstamped.
        var written: [String: JSONValue] = [:]
        var passes = 0
    }

    public init(client: KubeClient, settings: GatewayProvisioningPlan.Settings, credentials: CredentialAuthority, isLeader: @escaping @Sendable () -> Bool,
                retry: Duration = .seconds(5), logger: Logger) {
        self.client = client
        self.plan = GatewayProvisioningPlan(settings: settings)
        self.credentials = credentials
        self.isLeader = isLeader
        self.retry = retry
        self.logger = logger
    }

    /// The leader's; a replica that is not forgets what it wrote (another leader may have written
    /// since), so that it writes every status again once it leads.
    public var isActive: Bool {
        let leading = isLeader()
        if !leading { state.withLockedValue { $0.written.removeAll() } }
        return leading
    }

    /// Passes completed (the tests wait on it).
    public var passes: Int { state.withLockedValue { $0.passes } }

    public func provision(_ snapshot: GatewaySnapshot) {
        let start = state.withLockedValue { state -> Bool in
            state.pending = snapshot
            defer { state.running = true }
            return !state.running
        }
        if start { Task { await self.drain() } }
    }

    private func drain() async {
        while let snapshot = state.withLockedValue({ state -> GatewaySnapshot? in
            defer { state.pending = nil }
            if state.pending == nil { state.running = false }
            return state.pending
        }) {
            do {
                try await reconcile(snapshot)
            } catch {
                logger.warning("cannot provision the gateways; trying again", metadata: ["problem": "\(error)"])
                try? await Task.sleep(for: retry)
                if isLeader() { state.withLockedValue { if $0.pending == nil { $0.pending = snapshot } } }
            }
            state.withLockedValue { $0.passes += 1 }
        }
    }

    func reconcile(_ snapshot: GatewaySnapshot) async throws {
        guard isLeader() else { return }
        let gateways = try await client.list(.gateways).items.map(GatewayProvisioningPlan.GatewayObject.init)
        var existing: [KubeResourceType: [KubeObject]] = [:]
        for type in [KubeResourceType.deployments, .services, .secrets] {
            existing[type] = try await client.list(type, labelSelector: plan.ownedSelector).items
        }
        let workloads = plan.workloads(configs: snapshot.configs, gateways: gateways)
        for action in plan.plan(workloads, existing: existing) {
            try await perform(action)
        }
        try await writeStatuses(GatewayStatusWrite.writes(snapshot.statuses))
    }

    private func perform(_ action: GatewayProvisioningPlan.Action) async throws {
        switch action {
        case .apply(let type, let key, let object):
            guard try await isOursOrAbsent(type, key) else { return }
            logger.info("gateway object applied", metadata: ["kind": "\(type.kind)", "object": "\(key)"])
            try await client.apply(type, namespace: key.namespace, name: key.name, object: object)
        case .delete(let type, let key):
            logger.info("gateway object deleted", metadata: ["kind": "\(type.kind)", "object": "\(key)"])
            try await client.delete(type, namespace: key.namespace, name: key.name)
        case .writeCredential(let key, let gateway, let owner):
            guard try await isOursOrAbsent(.secrets, key) else { return }
            let parts = gateway.split(separator: "/", maxSplits: 1).map(String.init)
            var generator = SystemRandomNumberGenerator()
            let credential = try credentials.mint(.gateway(namespace: parts[0], name: parts.count > 1 ? parts[1] : ""), using: &generator)
            logger.info("gateway credential written", metadata: ["secret": "\(key)", "gateway": "\(gateway)"])
            try await client.apply(.secrets, namespace: key.namespace, name: key.name,
                                   object: plan.credentialSecret(key, token: credential.token, gateway: gateway, owner: owner))
        }
    }

    /// Whether the object is missing or carries the plan's label: one of that name the controller did
    /// not make (a user's `fsm-gateway-<ns>` Service, say) is left alone, and said so.
    private func isOursOrAbsent(_ type: KubeResourceType, _ key: KubeObjectKey) async throws(KubeError) -> Bool {
        guard let existing = try await client.get(type, namespace: key.namespace, name: key.name) else { return true }
        guard existing.metadata?["labels"]?[GatewayProvisioningPlan.provisionerLabel]?.stringValue == plan.settings.meshName else {
            logger.warning("gateway object of that name exists and was not made by the controller; left alone",
                           metadata: ["kind": "\(type.kind)", "object": "\(key)"])
            return false
        }
        return true
    }

    /// Writes the statuses that differ from what this replica last wrote; an object gone is skipped.
    private func writeStatuses(_ writes: [GatewayStatusWrite]) async throws {
        let time = ISO8601DateFormatter().string(from: Date())
        for write in writes {
            let id = "\(write.type) \(write.key)"
            guard state.withLockedValue({ $0.written[id] }) != write.status else { continue }
            // A built-in class name without an object, or an object deleted meanwhile, is skipped.
            guard try await patchStatus(write, time: time) else { continue }
            state.withLockedValue { $0.written[id] = write.status }
        }
    }

    /// A merge patch of the object's status subresource; false when the object does not exist.
    private func patchStatus(_ write: GatewayStatusWrite, time: String) async throws(KubeError) -> Bool {
        let path = write.type.objectPath(namespace: write.key.namespace.isEmpty ? nil : write.key.namespace, name: write.key.name) + "/status"
        let body: JSONValue = .object([("status", write.stamped(time))])
        do {
            _ = try await client.send(.PATCH, path, body: Array(body.rendered().utf8), contentType: "application/merge-patch+json")
            return true
        } catch {
            if error.isNotFound { return false }
            throw error
        }
    }
}
