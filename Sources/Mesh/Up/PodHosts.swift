/// The `/etc/hosts` a pod gets on one machine, standing in for cluster DNS: the kubelet's own
/// lines (localhost, the pod's name on its IP), then every service's cluster IP under the names a
/// pod's resolver would try (`name.ns.svc.cluster.local`, `name.ns.svc`, `name.ns`, and `name`
/// alone for a service of the pod's own namespace). Services made after the pod started are not
/// in it.
public enum PodHosts {
    public struct Service: Sendable, Equatable {
        public var name: String
        public var namespace: String
        public var clusterIP: String

        public init(name: String, namespace: String, clusterIP: String) {
            self.name = name
            self.namespace = namespace
            self.clusterIP = clusterIP
        }
    }

    public static func render(podName: String, podNamespace: String, podIP: String, services: [Service]) -> String {
        var lines = ["# Kubernetes-managed hosts file (fsm up --pods netns: no cluster DNS on one machine).", "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
                     "\(podIP)\t\(podName)"]
        for service in services.sorted(by: { ($0.namespace, $0.name) < ($1.namespace, $1.name) }) {
            var names = ["\(service.name).\(service.namespace).svc.cluster.local", "\(service.name).\(service.namespace).svc", "\(service.name).\(service.namespace)"]
            if service.namespace == podNamespace { names.append(service.name) }
            lines.append("\(service.clusterIP)\t" + names.joined(separator: " "))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
