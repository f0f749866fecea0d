import MeshKube
import MeshModel

/// What a cluster's controllers do after a write, for tests of clients that wait on them (`fsm
/// install`, `fsm uninstall`): the apiextensions controller marks a CRD `Established`; the
/// deployment controller rolls a Deployment out to `replicas` pods (named `<deployment>-<template
/// hash>-<n>`, labelled from the template and `pod-template-hash`) and reports them in its status;
/// the garbage collector deletes the pods of a deleted Deployment; the namespace controller
/// deletes everything in a deleted Namespace. Deliberately simple: no ReplicaSets, no scheduling,
/// and a rollout is instant. Off unless `Settings.controllers` is set.
public struct KubeAPIControllers: Sendable, Equatable {
    /// Pods come up `Ready` (and Deployments `Available`); false leaves them pending, as a cluster
    /// that cannot pull the image does.
    public var podsBecomeReady: Bool

    public init(podsBecomeReady: Bool = true) {
        self.podsBecomeReady = podsBecomeReady
    }
}

extension KubeAPIDouble {
    /// Runs the controllers for one served write (on the loop, before its events are published).
    func reconcile(after call: KubeAPICall) {
        guard let controllers, [.create, .update, .patch, .delete].contains(call.verb), let name = call.name ?? Self.createdName(call) else { return }
        let key = KubeObjectKey(namespace: call.type.namespaced ? call.namespace ?? "" : "", name: name)
        switch (call.type, call.verb) {
        case (.customResourceDefinitions, .delete):
            break
        case (.customResourceDefinitions, _):
            establish(key)
        case (.deployments, .delete):
            deletePods(ownedBy: key)
        case (.deployments, _):
            rollOut(key, ready: controllers.podsBecomeReady)
        case (.namespaces, .delete):
            deleteContents(of: name)
        default:
            break
        }
    }

    private static func createdName(_ call: KubeAPICall) -> String? {
        guard call.verb == .create else { return nil }
        return (try? JSONValue(parsing: call.body))?["metadata"]?["name"]?.stringValue
    }

    private func establish(_ key: KubeObjectKey) {
        guard let crd = store.object(.customResourceDefinitions, key), crd["status"]?["conditions"] == nil else { return }
        let conditions: JSONValue = .array(["NamesAccepted", "Established"].map { type in
            .object([("type", .string(type)), ("status", .string("True")), ("reason", .string(type == "Established" ? "InitialNamesAccepted" : "NoConflicts"))])
        })
        store.put(.customResourceDefinitions, crd.setting("status", to: .object([
            ("conditions", conditions), ("acceptedNames", crd["spec"]?["names"] ?? .object([])),
        ])))
    }

    private func rollOut(_ key: KubeObjectKey, ready: Bool) {
        guard let deployment = store.object(.deployments, key) else { return }
        let template = deployment["spec"]?["template"] ?? .object([])
        let hash = Self.templateHash(template)
        let replicas = Self.integer(deployment["spec"]?["replicas"]) ?? 1
        let owned = pods(ownedBy: key)
        for pod in owned where pod["metadata"]?["labels"]?["pod-template-hash"]?.stringValue != hash {
            _ = try? store.delete(.pods, KubeStore.key(pod, type: .pods))
        }
        let current = owned.filter { $0["metadata"]?["labels"]?["pod-template-hash"]?.stringValue == hash }.count
        for index in current..<max(current, replicas) {
            store.put(.pods, Self.pod(of: deployment, key: key, hash: hash, index: index, ready: ready))
        }
        let available = ready ? replicas : 0
        let condition = JSONValue.object([
            ("type", .string("Available")), ("status", .string(ready ? "True" : "False")),
            ("reason", .string(ready ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable")),
        ])
        store.put(.deployments, deployment.setting("status", to: .object([
            ("replicas", .int(Int64(replicas))), ("updatedReplicas", .int(Int64(replicas))), ("readyReplicas", .int(Int64(available))),
            ("availableReplicas", .int(Int64(available))), ("conditions", .array([condition])),
        ])))
    }

    private static func pod(of deployment: JSONValue, key: KubeObjectKey, hash: String, index: Int, ready: Bool) -> JSONValue {
        let template = deployment["spec"]?["template"] ?? .object([])
        let labels = (template["metadata"]?["labels"] ?? .object([])).setting("pod-template-hash", to: .string(hash))
        let owner = JSONValue.object([("apiVersion", .string("apps/v1")), ("kind", .string("Deployment")), ("name", .string(key.name)),
                                      ("uid", deployment["metadata"]?["uid"] ?? .string(""))])
        let suffix = String("abcdefghjk".map { $0 }[index % 10]) + String(repeating: "x", count: 4)
        return .object([
            ("apiVersion", .string("v1")), ("kind", .string("Pod")),
            ("metadata", .object([("name", .string("\(key.name)-\(hash)-\(suffix)")), ("namespace", .string(key.namespace)),
                                  ("labels", labels), ("ownerReferences", .array([owner]))])),
            ("spec", template["spec"] ?? .object([])),
            ("status", .object([
                ("phase", .string(ready ? "Running" : "Pending")),
                ("conditions", .array([.object([("type", .string("Ready")), ("status", .string(ready ? "True" : "False"))])])),
            ])),
        ])
    }

    static func integer(_ value: JSONValue?) -> Int? {
        if case .int(let number)? = value { return Int(number) }
        return nil
    }

    /// A stable 10-character hash of the pod template (FNV-1a of its JSON), as `pod-template-hash`.
    static func templateHash(_ template: JSONValue) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in template.rendered().utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<10).map { alphabet[Int((hash >> UInt64($0 * 6)) % UInt64(alphabet.count))] })
    }

    private func pods(ownedBy key: KubeObjectKey) -> [JSONValue] {
        let pods = (try? store.list(.pods, namespace: key.namespace, selector: LabelSelector(nil), limit: 0, continueToken: nil).items) ?? []
        return pods.filter { pod in
            guard case .array(let owners)? = pod["metadata"]?["ownerReferences"] else { return false }
            return owners.contains { $0["kind"]?.stringValue == "Deployment" && $0["name"]?.stringValue == key.name }
        }
    }

    private func deletePods(ownedBy key: KubeObjectKey) {
        for pod in pods(ownedBy: key) { _ = try? store.delete(.pods, KubeStore.key(pod, type: .pods)) }
    }

    private func deleteContents(of namespace: String) {
        for type in types.values where type.namespaced {
            let items = (try? store.list(type, namespace: namespace, selector: LabelSelector(nil), limit: 0, continueToken: nil).items) ?? []
            for item in items { _ = try? store.delete(type, KubeStore.key(item, type: type)) }
        }
    }
}
