import MeshControl
import MeshManifest
import MeshModel

/// The mesh the sidecar harness runs: bookbuyer calls bookstore, whose service has an HTTP, a gRPC
/// and a TCP port, under SMI access control (HTTP routes with path, method and header matches, a
/// TCP route) with a retry policy. The configs come from the real controller, as `fsm controller`
/// would serve them for this manifest.
struct SidecarFuzzMesh {
    static let httpPort = 14001
    static let grpcPort = 14002
    static let tcpPort = 14003

    var client: ProxyConfig
    var server: ProxyConfig
    var clientIP: String
    var serverIP: String
    /// The bookstore service's cluster IP (a Host or CONNECT authority the client may name).
    var serviceIP: String

    static let manifest = """
        apiVersion: config.flomesh.io/v1alpha1
        kind: MeshConfig
        metadata: { name: fsm-mesh-config, namespace: fsm-system }
        spec:
          traffic: { enablePermissiveTrafficPolicyMode: false }
          featureFlags: { enableRetryPolicy: true }
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata: { name: bookbuyer, namespace: bookbuyer }
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: { name: bookbuyer, namespace: bookbuyer }
        spec:
          replicas: 1
          selector: { matchLabels: { app: bookbuyer } }
          template:
            metadata: { labels: { app: bookbuyer } }
            spec:
              serviceAccountName: bookbuyer
              containers: [{ name: bookbuyer, image: flomesh/bookbuyer }]
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata: { name: bookstore, namespace: bookstore }
        ---
        apiVersion: v1
        kind: Service
        metadata: { name: bookstore, namespace: bookstore }
        spec:
          ports:
            - { name: http, port: 14001 }
            - { name: grpc, port: 14002, appProtocol: grpc }
            - { name: tcp, port: 14003, appProtocol: tcp }
          selector: { app: bookstore }
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: { name: bookstore, namespace: bookstore }
        spec:
          replicas: 1
          selector: { matchLabels: { app: bookstore } }
          template:
            metadata: { labels: { app: bookstore } }
            spec:
              serviceAccountName: bookstore
              containers:
                - name: bookstore
                  image: flomesh/bookstore
                  ports: [{ containerPort: 14001 }, { containerPort: 14002 }, { containerPort: 14003 }]
        ---
        kind: TrafficTarget
        apiVersion: access.smi-spec.io/v1alpha3
        metadata: { name: bookstore, namespace: bookstore }
        spec:
          destination: { kind: ServiceAccount, name: bookstore, namespace: bookstore }
          rules:
            - kind: HTTPRouteGroup
              name: bookstore-routes
              matches: [books-bought, buy-a-book, status, grpc]
            - kind: TCPRoute
              name: bookstore-tcp
          sources:
            - { kind: ServiceAccount, name: bookbuyer, namespace: bookbuyer }
        ---
        apiVersion: specs.smi-spec.io/v1alpha4
        kind: HTTPRouteGroup
        metadata: { name: bookstore-routes, namespace: bookstore }
        spec:
          matches:
            - name: books-bought
              pathRegex: /books-bought
              methods: [GET]
              headers:
                - "user-agent": ".*-http-client/*.*"
                - "client-app": "bookbuyer"
            - name: buy-a-book
              pathRegex: ".*a-book.*new"
              methods: [GET]
            - name: status
              pathRegex: "/status/[0-9]+"
              methods: [GET, POST, PUT]
            - name: grpc
              pathRegex: "/bookstore[.]Books/.*"
              methods: ["*"]
        ---
        apiVersion: specs.smi-spec.io/v1alpha4
        kind: TCPRoute
        metadata: { name: bookstore-tcp, namespace: bookstore }
        spec:
          matches:
            ports: [14003]
        ---
        kind: Retry
        apiVersion: policy.flomesh.io/v1alpha1
        metadata: { name: retry, namespace: bookbuyer }
        spec:
          source: { kind: ServiceAccount, name: bookbuyer, namespace: bookbuyer }
          destinations:
            - { kind: Service, name: bookstore, namespace: bookstore }
          retryPolicy:
            retryOn: "5xx"
            perTryTimeout: 1s
            numRetries: 2
            retryBackoffBaseInterval: 10ms
        """

    /// The controller's configs for the two pods; a manifest the controller does not take as
    /// meant is a harness bug, so it stops the process.
    static func make() -> SidecarFuzzMesh {
        let resources: [Resource]
        do {
            resources = try ManifestDecoder.decode(manifest, file: "SidecarFuzzMesh.manifest").map(\.resource)
        } catch {
            fatalError("the sidecar harness's manifest does not decode: \(error)")
        }
        var cluster = LocalCluster(meshNamespaces: ["bookbuyer", "bookstore"])
        var controller = MeshController()
        _ = controller.apply(cluster.replace(with: resources))
        let clientKey = PodKey(namespace: "bookbuyer", name: "bookbuyer-0")
        let serverKey = PodKey(namespace: "bookstore", name: "bookstore-0")
        guard let client = controller.config(for: clientKey), let server = controller.config(for: serverKey),
              let clientIP = cluster.pod(clientKey)?.podIP, let serverIP = cluster.pod(serverKey)?.podIP,
              let serviceIP = serviceAddress(in: cluster) else {
            fatalError("the sidecar harness's mesh has no bookbuyer-0 and bookstore-0 (meshed: \(controller.meshedPods))")
        }
        return SidecarFuzzMesh(client: client, server: server, clientIP: clientIP, serverIP: serverIP, serviceIP: serviceIP)
    }

    private static func serviceAddress(in cluster: LocalCluster) -> String? {
        for resource in cluster.resources.values {
            if case .service(let service) = resource, service.metadata.name == "bookstore" { return service.clusterIP }
        }
        return nil
    }
}
