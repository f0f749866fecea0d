import Foundation
import MeshControl
import MeshManifest
import MeshModel

/// Addresses of one gateway run: every listener on `host` (127.0.0.1 unless `--host`) at 185xx,
/// apart from the data plane's ports.
struct GatewayLayout {
    var host = "127.0.0.1"
    var upstreamPort = 18580
    let adminPort = 18590
    let envoyAdminPort = 18591
    /// Plain HTTP and TLS-terminating listener of each proxy.
    func ports(_ proxy: GatewayProxy) -> (plain: Int, tls: Int) {
        switch proxy {
        case .ours: (18501, 18502)
        case .nginx: (18511, 18512)
        case .envoy: (18521, 18522)
        }
    }
}

enum GatewayProxy: String, CaseIterable {
    case ours, nginx, envoy
}

/// The one job every edge proxy of `bench gateway` does: requests for `host` whose path starts
/// with `pathPrefix` go to the upstream over kept-alive HTTP/1.1; any other host gets a 404. One
/// worker, no access log; the TLS listener terminates with the same certificate everywhere.
enum GatewayPeerConfigs {
    static let host = "bench.example.com"
    static let pathPrefix = "/gateway"
    /// What the load generator asks for.
    static let path = "/gateway/bench"

    /// Certificate and key files (PEM) the TLS listeners present.
    struct Certificate {
        var certificatePath: String
        var keyPath: String
    }

    static func nginx(address: String, plainPort: Int, tlsPort: Int, upstreamPort: Int, certificate: Certificate, directory: String) -> String {
        PeerConfigs.nginxPrelude(directory: directory, name: "nginx-gateway", upstream: "\(address):\(upstreamPort)") + """
            ssl_session_cache off;
            ssl_session_tickets off;
            server {
                listen \(address):\(plainPort) default_server;
                listen \(address):\(tlsPort) ssl default_server;
                ssl_certificate \(certificate.certificatePath);
                ssl_certificate_key \(certificate.keyPath);
                server_name _;
                return 404;
            }
            server {
                listen \(address):\(plainPort);
                listen \(address):\(tlsPort) ssl;
                server_name \(host);
                ssl_certificate \(certificate.certificatePath);
                ssl_certificate_key \(certificate.keyPath);
                location \(pathPrefix) {
                    proxy_pass http://origin;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                }
            }
        }

        """
    }

    static func envoy(address: String, plainPort: Int, tlsPort: Int, adminPort: Int, upstreamPort: Int, certificate: Certificate) -> String {
        func listener(_ name: String, _ port: Int, tls: Bool) -> String {
            // A key of the filter chain (column 6, beside `filters`).
            let transport = tls ? "\n" + [
                "      transport_socket:",
                "        name: envoy.transport_sockets.tls",
                "        typed_config:",
                "          \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                "          common_tls_context:",
                "            tls_certificates:",
                "            - certificate_chain: { filename: \"\(certificate.certificatePath)\" }",
                "              private_key: { filename: \"\(certificate.keyPath)\" }",
            ].joined(separator: "\n") : ""
            return """
              - name: \(name)
                address: { socket_address: { address: \(address), port_value: \(port) } }
                filter_chains:
                - filters:
                  - name: envoy.filters.network.http_connection_manager
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                      stat_prefix: \(name)
                      route_config:
                        virtual_hosts:
                        - name: bench
                          domains: ["\(host)"]
                          routes:
                          - match: { prefix: "\(pathPrefix)" }
                            route: { cluster: upstream }
                      http_filters:
                      - name: envoy.filters.http.router
                        typed_config:
                          "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\(transport)
            """
        }
        return """
        admin:
          address: { socket_address: { address: \(address), port_value: \(adminPort) } }
        static_resources:
          listeners:
        \(listener("plain", plainPort, tls: false))
        \(listener("tls", tlsPort, tls: true))
        \(PeerConfigs.envoyUpstreamCluster(address: address, port: upstreamPort))
        """
    }

    /// The Gateway API resources our gateway serves: a Gateway with an HTTP and an HTTPS listener
    /// (the certificate in a `kubernetes.io/tls` Secret), an HTTPRoute matching the host and the
    /// path prefix, and a selectorless Service whose Endpoints are the upstream.
    static func manifests(address: String, plainPort: Int, tlsPort: Int, upstreamPort: Int, certificatePEM: String, keyPEM: String) -> String {
        func quoted(_ text: String) -> String {
            String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
        }
        return """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata: {name: fsm-gateway-cls}
        spec: {controllerName: flomesh.io/gateway-controller}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: bench-gateway, namespace: bench}
        spec:
          gatewayClassName: fsm-gateway-cls
          listeners:
          - {name: http, port: \(plainPort), protocol: HTTP}
          - {name: https, port: \(tlsPort), protocol: HTTPS, tls: {certificateRefs: [{name: bench-cert}]}}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: bench, namespace: bench}
        spec:
          parentRefs: [{name: bench-gateway}]
          hostnames: [\(host)]
          rules:
          - matches: [{path: {type: PathPrefix, value: \(pathPrefix)}}]
            backendRefs: [{name: upstream, port: 80}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: upstream, namespace: bench}
        spec: {ports: [{port: 80}]}
        ---
        apiVersion: v1
        kind: Endpoints
        metadata: {name: upstream, namespace: bench}
        subsets: [{addresses: [{ip: \(address)}], ports: [{port: \(upstreamPort)}]}]
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: bench-cert, namespace: bench}
        type: kubernetes.io/tls
        stringData:
          tls.crt: \(quoted(certificatePEM))
          tls.key: \(quoted(keyPEM))

        """
    }

    /// Our gateway's config as the controller computes it from `manifests`: both listeners must
    /// come out programmed, or the reason is thrown.
    static func ours(manifests: String) throws -> GatewayConfig {
        let resources = try ManifestDecoder.decode(manifests, file: "bench-gateway.yaml", defaultNamespace: "bench").map(\.resource)
        var controller = MeshController()
        var cluster = LocalCluster(plan: .loopback)
        _ = controller.apply(cluster.replace(with: resources))
        let config = controller.gatewayConfig(for: "bench/bench-gateway")
        guard let config, config.listeners.count == 2, config.listeners.allSatisfy({ !$0.virtualHosts.isEmpty }) else {
            let conditions = controller.gatewayStatuses.flatMap { status in status.conditions.filter { $0.status != .true }.map { "\(status.object) \(status.scope): \($0.reason) \($0.message)" } }
            throw BenchFailure(description: "the controller did not program the benchmark's Gateway: \(conditions.joined(separator: "; "))")
        }
        return config
    }
}
