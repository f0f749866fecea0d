import MeshInstall
import MeshKube
import MeshModel

/// `fsm install` against a cluster: refuses when the mesh (or another mesh in the namespace) is
/// there, applies every document of the plan by server-side apply (field manager `fsm`) phase by
/// phase, waits until the CRDs are Established before anything that uses them, and until the
/// Deployments are Available, within one deadline. Returns the lines the guides print (F1-006).
public struct ControlPlaneInstaller: Sendable {
    public var client: KubeClient
    public var manifests: ControlPlaneManifests
    /// The whole install's deadline (applying and waiting).
    public var timeout: Duration
    public var pollInterval: Duration

    public init(client: KubeClient, manifests: ControlPlaneManifests, timeout: Duration = .seconds(300), pollInterval: Duration = .milliseconds(500)) {
        self.client = client
        self.manifests = manifests
        self.timeout = timeout
        self.pollInterval = pollInterval
    }

    /// Installs and returns the lines to print.
    public func install() async throws(OperateError) -> [String] {
        let plan = try InstallPlan(documents: manifests.documents())
        try await refuseExistingMesh()
        let deadline = ContinuousClock.now + timeout
        for phase in InstallPlan.Phase.allCases {
            for step in plan.steps(in: phase) { try await apply(step) }
            if phase == .customResourceDefinitions { try await waitEstablished(plan.steps(in: phase), deadline: deadline) }
        }
        let deployments = plan.steps(in: .deployments)
        try await waitAvailable(deployments, deadline: deadline)
        var lines: [String] = []
        // The guides list the injector before the controller.
        for step in deployments.sorted(by: { $0.name > $1.name }) {
            lines += try await readyPods(of: step).map { "\(step.name)[\($0)] Done" }
        }
        lines.append("FSM installed successfully in namespace [\(manifests.namespace)] with mesh name [\(manifests.meshName)]")
        return lines
    }

    /// The guides' errors (as FSM's CLI words them) when this mesh exists anywhere, or the
    /// namespace holds another mesh's controller.
    func refuseExistingMesh() async throws(OperateError) {
        let meshes: [MeshInstance]
        do {
            meshes = try await MeshInstance.list(client: client)
        } catch {
            throw OperateError("fsm install: cannot list the meshes in the cluster", error)
        }
        if meshes.contains(where: { $0.name == manifests.meshName }) {
            throw OperateError("Mesh \(manifests.meshName) already exists in cluster. Please specify a new mesh name using --mesh-name")
        }
        if let other = meshes.first(where: { $0.namespace == manifests.namespace }) {
            throw OperateError("Namespace \(manifests.namespace) already has an fsm controller (mesh \(other.name)). Please specify a new namespace using --fsm-namespace")
        }
    }

    func apply(_ step: InstallPlan.Step) async throws(OperateError) {
        do {
            try await client.apply(step.type, namespace: step.namespace, name: step.name, object: step.object)
        } catch {
            throw OperateError("fsm install: applying \(step.label)", error)
        }
    }

    func waitEstablished(_ steps: [InstallPlan.Step], deadline: ContinuousClock.Instant) async throws(OperateError) {
        try await wait(deadline: deadline, what: "CustomResourceDefinitions to become Established") { () async throws(OperateError) -> [String] in
            var waiting: [String] = []
            for step in steps {
                let crd = try await get(step)
                if !(crd.map(RolloutStatus.isEstablished) ?? false) { waiting.append(step.name) }
            }
            return waiting
        }
    }

    func waitAvailable(_ steps: [InstallPlan.Step], deadline: ContinuousClock.Instant) async throws(OperateError) {
        try await wait(deadline: deadline, what: "Deployments to become Available") { () async throws(OperateError) -> [String] in
            var waiting: [String] = []
            for step in steps {
                let problem = try await get(step).map(RolloutStatus.deploymentProblem) ?? "it does not exist"
                if let problem { waiting.append("\(step.namespace ?? "")/\(step.name) (\(problem))") }
            }
            return waiting
        }
    }

    /// Polls `waiting` (what is not ready yet) until it is empty or the deadline passes.
    func wait(deadline: ContinuousClock.Instant, what: String, _ waiting: () async throws(OperateError) -> [String]) async throws(OperateError) {
        while true {
            let left = try await waiting()
            if left.isEmpty { return }
            if ContinuousClock.now + pollInterval > deadline {
                throw OperateError("fsm install: timed out after \(Self.format(timeout)) waiting for \(what): \(left.joined(separator: ", ")) (raise --timeout, or see kubectl -n \(manifests.namespace) get pods,events)")
            }
            do { try await Task.sleep(for: pollInterval) } catch { throw OperateError("fsm install: cancelled while waiting for \(what)") }
        }
    }

    func get(_ step: InstallPlan.Step) async throws(OperateError) -> JSONValue? {
        do {
            return try await client.get(step.type, namespace: step.namespace, name: step.name)?.json
        } catch {
            throw OperateError("fsm install: reading \(step.label)", error)
        }
    }

    /// The names of the Deployment's ready pods (selected by its `app` label), sorted.
    func readyPods(of step: InstallPlan.Step) async throws(OperateError) -> [String] {
        do {
            return try await client.list(.pods, namespace: step.namespace, labelSelector: "app=\(step.name)").items
                .filter { RolloutStatus.isReady(pod: $0.json) }.map(\.name).sorted()
        } catch {
            throw OperateError("fsm install: listing the pods of \(step.label)", error)
        }
    }

    /// `5m0s`, `90s`, as Go prints durations.
    static func format(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        return seconds >= 60 ? "\(seconds / 60)m\(seconds % 60)s" : "\(seconds)s"
    }
}
