import MeshInstall
import MeshManifest
import MeshModel
import Testing

/// Least privilege: the ClusterRoles and Roles grant exactly the table's (group, resource, verb)
/// triples, the controller watches exactly the kinds the decoder reads, and nothing is a wildcard.
@Suite struct ControlPlaneAccessTests {
    struct Grant: Hashable {
        var group: String
        var resource: String
        var verb: String
        var names: [String]
        var namespaced: Bool
    }

    func grants(in documents: [JSONValue], role: String, kind: String) throws -> Set<Grant> {
        let document = try #require(documents.first { $0["kind"] == .string(kind) && $0["metadata"]?["name"] == .string(role) }, "no \(kind) \(role)")
        guard case .array(let rules)? = document["rules"] else { return [] }
        var result: Set<Grant> = []
        for rule in rules {
            guard case .array(let groups)? = rule["apiGroups"], case .array(let resources)? = rule["resources"], case .array(let verbs)? = rule["verbs"] else { continue }
            var names: [String] = []
            if case .array(let listed)? = rule["resourceNames"] { names = listed.compactMap { if case .string(let s) = $0 { s } else { nil } } }
            for case .string(let group) in groups { for case .string(let resource) in resources { for case .string(let verb) in verbs {
                result.insert(Grant(group: group, resource: resource, verb: verb, names: names, namespaced: kind == "Role"))
            } } }
        }
        return result
    }

    func expected(_ component: ControlPlaneComponent) -> Set<Grant> {
        Set(component.access(meshName: "fsm").flatMap { access in
            access.verbs.map { Grant(group: access.group, resource: access.resource, verb: $0, names: access.resourceNames, namespaced: access.scope == .controlPlaneNamespace) }
        })
    }

    @Test(arguments: ControlPlaneComponent.allCases)
    func rolesGrantExactlyTheTable(component: ControlPlaneComponent) throws {
        let documents = ControlPlaneManifests().documents()
        let granted = try grants(in: documents, role: "\(component.rawValue)-fsm", kind: "ClusterRole")
            .union(try grants(in: documents, role: component.rawValue, kind: "Role"))
        #expect(granted == expected(component))
        #expect(granted.allSatisfy { $0.verb != "*" && $0.resource != "*" && $0.group != "*" })
        // The API ignores resourceNames for list, watch and create: never pinned together.
        #expect(granted.filter { !$0.names.isEmpty }.allSatisfy { !["list", "watch", "create"].contains($0.verb) })
    }

    @Test func theControllerWatchesEveryKindTheDecoderReads() {
        let watched = Set(ControlPlaneComponent.controller.access(meshName: "fsm").filter { $0.verbs.contains("watch") }.map(\.resource))
        let plurals: [String: String] = [
            "Namespace": "namespaces", "Service": "services", "ServiceAccount": "serviceaccounts", "Endpoints": "endpoints",
            "Pod": "pods", "Deployment": "deployments", "StatefulSet": "statefulsets",
        ].merging(CustomResourceKind.all.map { ($0.kind, $0.plural) }) { a, _ in a }
        // The edge kinds (Gateway API, FSM Gateway policies, Ingress, IngressBackend, Secret) are
        // watched with the gateway and the ingress on.
        let meshKinds = ManifestDecoder.supportedKinds.filter { !ManifestDecoder.gatewayKindNames.contains($0.kind) }
        #expect(watched == Set(meshKinds.map { plurals[$0.kind] ?? "unknown kind \($0.kind)" }))
        let edge = ControlPlaneComponent.Edge(gateway: true, ingress: true)
        let everything = Set(ControlPlaneComponent.controller.access(meshName: "fsm", edge: edge).filter { $0.verbs.contains("watch") }.map(\.resource))
        let edgePlurals = plurals.merging(CustomResourceKind.gateway.map { ($0.kind, $0.plural) } + [("Secret", "secrets"), ("Ingress", "ingresses")]) { a, _ in a }
        #expect(everything == Set(ManifestDecoder.supportedKinds.map { edgePlurals[$0.kind] ?? "unknown kind \($0.kind)" }))
    }

    @Test func bindingsNameOnlyTheirOwnServiceAccount() throws {
        let bindings = ControlPlaneManifests(namespace: "cp").documents().filter { $0["kind"] == .string("ClusterRoleBinding") || $0["kind"] == .string("RoleBinding") }
        #expect(bindings.count == 4)
        for binding in bindings {
            guard case .array(let subjects)? = binding["subjects"] else { Issue.record("no subjects"); continue }
            #expect(subjects.count == 1)
            #expect(subjects.first?["namespace"] == .string("cp"))
            #expect(subjects.first?["name"] == binding["metadata"]?["labels"]?["app"])
        }
    }
}

extension ControlPlaneComponent: CustomTestStringConvertible {
    public var testDescription: String { rawValue }
}
