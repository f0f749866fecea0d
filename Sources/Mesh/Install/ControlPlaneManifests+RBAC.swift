import MeshModel

/// ServiceAccounts, and per component a ClusterRole and a Role (the control plane's namespace)
/// rendered from `ControlPlaneComponent.access`, each bound to its ServiceAccount only.
extension ControlPlaneManifests {
    func serviceAccounts() -> [JSONValue] {
        ControlPlaneComponent.allCases.map { component in
            Self.document("v1", "ServiceAccount", metadata(component.rawValue, app: component.rawValue), [])
        }
    }

    /// The cluster-wide role's name: one per mesh (ClusterRoles are not namespaced).
    func clusterRoleName(_ component: ControlPlaneComponent) -> String { "\(component.rawValue)-\(meshName)" }

    func rbac() -> [JSONValue] {
        ControlPlaneComponent.allCases.flatMap { component -> [JSONValue] in
            let access = component.access(meshName: meshName, edge: edge)
            let subject = JSONValue.object([
                ("kind", .string("ServiceAccount")), ("name", .string(component.rawValue)), ("namespace", .string(namespace)),
            ])
            var documents: [JSONValue] = []
            for (scope, kind) in [(APIAccess.Scope.cluster, "Cluster"), (.controlPlaneNamespace, "")] {
                let rules = access.filter { $0.scope == scope }
                guard !rules.isEmpty else { continue }
                let name = scope == .cluster ? clusterRoleName(component) : component.rawValue
                let namespaced = scope == .controlPlaneNamespace
                let meta = metadata(name, namespaced: namespaced, app: component.rawValue)
                documents.append(Self.document("rbac.authorization.k8s.io/v1", "\(kind)Role", meta, [("rules", .array(rules.map(Self.rule)))]))
                documents.append(Self.document("rbac.authorization.k8s.io/v1", "\(kind)RoleBinding", meta, [
                    ("roleRef", .object([("apiGroup", .string("rbac.authorization.k8s.io")), ("kind", .string("\(kind)Role")), ("name", .string(name))])),
                    ("subjects", .array([subject])),
                ]))
            }
            return documents
        }
    }

    static func rule(_ access: APIAccess) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("apiGroups", .array([.string(access.group)])), ("resources", .array([.string(access.resource)])),
        ]
        if !access.resourceNames.isEmpty { pairs.append(("resourceNames", .array(access.resourceNames.map { .string($0) }))) }
        pairs.append(("verbs", .array(access.verbs.map { .string($0) })))
        return .object(pairs)
    }
}
