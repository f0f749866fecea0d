import MeshKube
import MeshModel

/// The order `fsm install` applies the rendered documents in, and what it waits for between them:
/// what others refer to or depend on comes first. Pure.
public struct InstallPlan: Sendable {
    /// The phases in apply order.
    public enum Phase: Int, Comparable, Sendable, CaseIterable {
        case namespace, customResourceDefinitions, access, configuration, meshConfig, services, deployments, webhooks

        public static func < (a: Phase, b: Phase) -> Bool { a.rawValue < b.rawValue }
    }

    /// One object to apply.
    public struct Step: Sendable {
        public var phase: Phase
        public var type: KubeResourceType
        public var namespace: String?
        public var name: String
        public var object: JSONValue

        /// `Deployment fsm-system/fsm-controller`.
        public var label: String { "\(type.kind) \(namespace.map { "\($0)/" } ?? "")\(name)" }
    }

    public private(set) var steps: [Step]

    /// The documents sorted into phases (stable within one). A document of a kind `fsm install`
    /// does not write, or without a name, is an error naming it.
    public init(documents: [JSONValue]) throws(OperateError) {
        var steps: [Step] = []
        for document in documents {
            let apiVersion = document["apiVersion"]?.stringValue ?? "", kind = document["kind"]?.stringValue ?? ""
            guard let type = KubeResourceType.of(apiVersion: apiVersion, kind: kind, among: KubeResourceType.controlPlaneKinds),
                  let name = document["metadata"]?["name"]?.stringValue, !name.isEmpty else {
                throw OperateError("fsm install: cannot apply a document of kind \(apiVersion) \(kind) (named \(document["metadata"]?["name"]?.stringValue ?? "nothing"))")
            }
            let namespace = type.namespaced ? document["metadata"]?["namespace"]?.stringValue : nil
            steps.append(Step(phase: Self.phase(of: type), type: type, namespace: namespace, name: name, object: document))
        }
        self.steps = steps.enumerated().sorted { ($0.element.phase, $0.offset) < ($1.element.phase, $1.offset) }.map(\.element)
    }

    /// The phase of a kind. The MeshConfig goes before the webhook configurations: the validating
    /// webhook (failurePolicy Fail) would refuse it while the injector is not serving yet.
    public static func phase(of type: KubeResourceType) -> Phase {
        switch type {
        case .namespaces: .namespace
        case .customResourceDefinitions: .customResourceDefinitions
        case .serviceAccounts, .clusterRoles, .clusterRoleBindings, .roles, .roleBindings: .access
        case .secrets, .configMaps: .configuration
        case .meshConfigs: .meshConfig
        case .services: .services
        case .deployments: .deployments
        default: .webhooks
        }
    }

    /// The steps of one phase.
    public func steps(in phase: Phase) -> [Step] { steps.filter { $0.phase == phase } }
}
