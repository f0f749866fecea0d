import MeshModel

/// The names FSM gives identities, services and clusters.
public enum ServiceNames {
    /// `<serviceaccount>.<namespace>.cluster.local`.
    public static func identity(serviceAccount: String, namespace: String) -> String {
        "\(serviceAccount).\(namespace).cluster.local"
    }

    /// `<svc>.<ns>.svc.cluster.local`.
    public static func fqdn(service: String, namespace: String) -> String {
        "\(service).\(namespace).svc.cluster.local"
    }

    /// `ns/svc|port` (outbound) or `ns/svc|port|local` (inbound).
    public static func cluster(service: String, namespace: String, port: Int, local: Bool = false) -> String {
        local ? "\(namespace)/\(service)|\(port)|local" : "\(namespace)/\(service)|\(port)"
    }

    /// The five name forms of a service and each with `:port`: the keys of `HttpHostPort2Service`.
    public static func hostForms(service: String, namespace: String, port: Int) -> [String] {
        let bare = [service, "\(service).\(namespace)", "\(service).\(namespace).svc", "\(service).\(namespace).svc.cluster", "\(service).\(namespace).svc.cluster.local"]
        return bare + bare.map { "\($0):\(port)" }
    }
}
