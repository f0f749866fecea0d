import MeshInstall
import MeshModel
import Testing

/// `fsm namespace add|remove|ignore|list` and `fsm metrics enable|disable` on one namespace: the
/// patch sent and the guides' lines.
@Suite struct NamespaceMembershipTests {
    let plain = NamespaceMembership(name: "bookstore")
    let member = NamespaceMembership(name: "bookstore", labels: ["flomesh.io/monitored-by": "fsm"], annotations: ["flomesh.io/sidecar-injection": "enabled"])

    @Test func addLabelsAndAnnotates() {
        let patch = JSONValue.object([("metadata", .object([
            ("labels", .object([("flomesh.io/monitored-by", .string("fsm"))])),
            ("annotations", .object([("flomesh.io/sidecar-injection", .string("enabled"))])),
        ]))])
        #expect(plain.add(meshName: "fsm", disableSidecarInjection: false, controlPlaneHere: false)
                == .patch(patch, "Namespace [bookstore] successfully added to mesh [fsm]"))
        #expect(member.add(meshName: "fsm", disableSidecarInjection: false, controlPlaneHere: false)
                == .unchanged("Namespace [bookstore] has already been added to mesh [fsm]"))
        guard case .patch(let disabled, _) = member.add(meshName: "fsm", disableSidecarInjection: true, controlPlaneHere: false) else {
            Issue.record("--disable-sidecar-injection must flip an enabled namespace (F1-048)"); return
        }
        #expect(disabled["metadata"]?["annotations"]?["flomesh.io/sidecar-injection"] == .string("disabled"))
        #expect(plain.add(meshName: "fsm", disableSidecarInjection: false, controlPlaneHere: true)
                == .unchanged("Namespace [bookstore] already has [fsm-controller] installed and cannot be added to mesh [fsm]"))
        let ignored = NamespaceMembership(name: "bookstore", labels: ["flomesh.io/ignore": "true"])
        #expect(ignored.add(meshName: "fsm", disableSidecarInjection: false, controlPlaneHere: false)
                == .refused("Cannot add ignored namespace [bookstore]: remove its flomesh.io/ignore label first"))
    }

    @Test func removeDropsTheMeshKeys() {
        guard case .patch(let patch, let line) = member.remove(meshName: "fsm") else { Issue.record("no patch"); return }
        #expect(line == "Namespace [bookstore] successfully removed from mesh [fsm]")
        #expect(patch["metadata"]?["labels"]?["flomesh.io/monitored-by"] == .null)
        #expect(patch["metadata"]?["annotations"]?["flomesh.io/sidecar-injection"] == .null)
        #expect(member.remove(meshName: "other") == .refused("Namespace belongs to mesh [fsm], not mesh [other]. Please specify the correct mesh"))
        #expect(plain.remove(meshName: "fsm") == .unchanged("Namespace [bookstore] already does not belong to any mesh"))
    }

    @Test func ignoreAndMetrics() {
        guard case .patch(let patch, let line) = plain.ignore() else { Issue.record("no patch"); return }
        #expect(line == "Successfully configured namespace [bookstore] to be ignored")
        #expect(patch["metadata"]?["labels"]?["flomesh.io/ignore"] == .string("true"))
        guard case .patch(let metrics, let enabled) = member.metrics(enable: true) else { Issue.record("no patch"); return }
        #expect(enabled == "Metrics successfully enabled in namespace [bookstore]")
        #expect(metrics["metadata"]?["annotations"]?["flomesh.io/metrics"] == .string("enabled"))
        #expect(plain.metrics(enable: true) == .refused("namespace [bookstore] does not belong to a mesh, missing label \"flomesh.io/monitored-by\""))
    }

    @Test func listIsTheGuidesTable() {
        let namespaces = [
            member,
            NamespaceMembership(name: "bookbuyer", labels: ["flomesh.io/monitored-by": "fsm"]),
            NamespaceMembership(name: "other", labels: ["flomesh.io/monitored-by": "mesh-b", "flomesh.io/ignore": "true"]),
            plain,
        ]
        #expect(NamespaceMembership.list(namespaces, meshName: "fsm") == """
            NAMESPACE   MESH   SIDECAR-INJECTION
            bookbuyer   fsm    -
            bookstore   fsm    enabled

            """)
        #expect(NamespaceMembership.list(namespaces, meshName: nil).contains("other       mesh-b   disabled (ignored)\n"))
        #expect(NamespaceMembership.list([plain], meshName: "fsm") == "No namespaces in mesh [fsm]\n")
        #expect(NamespaceMembership.list([], meshName: nil) == "No namespaces in any mesh\n")
    }

    @Test func readsANamespaceObject() throws {
        let object = try JSONValue(parsing: #"{"metadata":{"name":"bookstore","labels":{"flomesh.io/monitored-by":"fsm"},"annotations":{"flomesh.io/sidecar-injection":"enabled"}}}"#)
        let read = try #require(NamespaceMembership(object: object))
        #expect(read.labels == member.labels && read.annotations == member.annotations)
        #expect(NamespaceMembership(object: .object([])) == nil)
    }
}
