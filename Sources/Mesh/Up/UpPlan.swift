import MeshDemoApps
import MeshModel

/// Which demo app runs in a pod, and how: chosen from the pod's first container (its name, then
/// the pod's `app` label, then the image name) and its env (`IDENTITY`, `BOOKSTORE_SVC`, ...).
public struct PlannedApp: Codable, Sendable, Equatable {
    public var kind: String
    public var port: Int
    public var identity: String
    public var bookstoreHost: String
    public var bookwarehouseHost: String

    /// The app for a pod, nil when no demo app fits it.
    public init?(pod: Pod) {
        guard let container = pod.spec.containers.first else { return nil }
        let imageName = container.image.split(separator: "/").last.map { String($0.split(separator: ":").first ?? $0) } ?? ""
        let candidates = [container.name, pod.metadata.labels["app"] ?? "", imageName]
        guard let kind = candidates.lazy.compactMap({ DemoAppKind(rawValue: $0) }).first else { return nil }
        func env(_ name: String) -> String? { container.env.first { $0.name == name }?.value }
        self.kind = kind.rawValue
        port = container.ports.first?.containerPort ?? DemoAppKind.defaultPort
        switch kind {
        case .bookstore: identity = env("IDENTITY") ?? pod.metadata.name
        case .bookwarehouse: identity = env("IDENTITY") ?? "bookwarehouse"
        default: identity = env("IDENTITY") ?? pod.metadata.name
        }
        bookstoreHost = "\(env("BOOKSTORE_SVC") ?? "bookstore").\(env("BOOKSTORE_NAMESPACE") ?? "bookstore"):14001"
        bookwarehouseHost = "bookwarehouse.\(env("BOOKWAREHOUSE_NAMESPACE") ?? "bookwarehouse"):14001"
    }

    /// `fsm demo-app` arguments for this app in a pod at `podIP` whose sidecar's outbound listener is on `proxyPort`.
    public func arguments(podIP: String, proxyPort: Int) -> [String] {
        var arguments = ["demo-app", kind, "--listen", "\(podIP):\(port)", "--identity", identity]
        if DemoAppKind(rawValue: kind)?.needsProxy == true {
            arguments += ["--proxy", "\(podIP):\(proxyPort)", "--bookstore", bookstoreHost, "--bookwarehouse", bookwarehouseHost]
        }
        return arguments
    }

    /// `fsm demo-app` arguments for this app in a pod whose traffic is captured: it listens on every
    /// address of its pod and connects to the services themselves (names from the pod's hosts file).
    public var capturedArguments: [String] {
        var arguments = ["demo-app", kind, "--listen", "0.0.0.0:\(port)", "--identity", identity]
        if DemoAppKind(rawValue: kind)?.needsProxy == true {
            arguments += ["--direct", "--bookstore", bookstoreHost, "--bookwarehouse", bookwarehouseHost]
        }
        return arguments
    }
}
