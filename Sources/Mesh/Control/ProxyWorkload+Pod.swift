import MeshModel

extension ProxyWorkload {
    /// The workload of a pod as the controller knows it: its namespace and name, and the workload
    /// whose pod it is by the cluster's naming (`<workload>-<ordinal>`, as `ClusterConventions`
    /// stamps pods out of Deployments; otherwise the pod's ServiceAccount, which is what FSM's
    /// Pipy sidecar names the workload by). The kind is `Deployment`, FSM's default when the
    /// owner is not known; an injected sidecar gets the owner's kind and name from the injector
    /// (`--workload-kind`, `--workload-name`), which take precedence (DECISIONS 122).
    public init(pod: Pod) {
        let name = pod.metadata.name
        var workload = pod.spec.serviceAccountName
        if ClusterConventions.ordinal(ofPod: name) != nil, let dash = name.lastIndex(of: "-") {
            workload = String(name[..<dash])
        }
        if workload.isEmpty { workload = "default" }
        self.init(namespace: pod.metadata.namespace, kind: "Deployment", name: workload, pod: name)
    }
}
