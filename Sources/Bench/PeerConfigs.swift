import MeshModel

/// Addresses of one data-plane run. Peers listen on 127.0.0.1:18xxx; our sidecars need one
/// address per pod (a sidecar reaches its peer on the peer's inbound port), taken from 127.85.200.x.
struct DataPlaneLayout {
    var upstreamPort = 18080
    /// The upstream also listens here for the server sidecars: a sidecar in local mode takes a
    /// 127.0.0.1 app endpoint as its own pod address, so the app needs an address of its own.
    let serverAppIP = "127.85.200.250"
    /// Envoy, HAProxy and NGINX: the 1-hop instance, then the two instances of the 2-hop path.
    func peerPorts(base: Int) -> (oneHop: Int, twoHopFirst: Int, twoHopSecond: Int) { (base + 1, base + 2, base + 3) }
    let envoyBase = 18100
    let haproxyBase = 18200
    let nginxBase = 18300

    struct Pod {
        var ip: String
        var outboundPort: Int
        var inboundPort: Int
        var adminPort: Int
    }

    /// Client sidecar alone: its peer is the upstream itself, reached on the "inbound port".
    var clientOnly: Pod { Pod(ip: "127.85.200.1", outboundPort: 18401, inboundPort: upstreamPort, adminPort: 18491) }
    var plainClient: Pod { Pod(ip: "127.85.200.11", outboundPort: 18411, inboundPort: 18410, adminPort: 18492) }
    var plainServer: Pod { Pod(ip: "127.85.200.12", outboundPort: 18412, inboundPort: 18410, adminPort: 18493) }
    var tlsClient: Pod { Pod(ip: "127.85.200.21", outboundPort: 18421, inboundPort: 18420, adminPort: 18494) }
    var tlsServer: Pod { Pod(ip: "127.85.200.22", outboundPort: 18422, inboundPort: 18420, adminPort: 18495) }
    var loggedClient: Pod { Pod(ip: "127.85.200.31", outboundPort: 18431, inboundPort: 18430, adminPort: 18496) }
    var loggedServer: Pod { Pod(ip: "127.85.200.32", outboundPort: 18432, inboundPort: 18430, adminPort: 18497) }
    var tracedClient: Pod { Pod(ip: "127.85.200.41", outboundPort: 18441, inboundPort: 18440, adminPort: 18498) }
    var tracedServer: Pod { Pod(ip: "127.85.200.42", outboundPort: 18442, inboundPort: 18440, adminPort: 18499) }
}

/// Static configurations with the same job for every proxy: accept HTTP/1.1, forward to one
/// upstream address over kept-alive connections, no access log, one worker thread.
enum PeerConfigs {
    static func envoy(listenPort: Int, adminPort: Int, upstreamPort: Int) -> String {
        """
        admin:
          address: { socket_address: { address: 127.0.0.1, port_value: \(adminPort) } }
        static_resources:
          listeners:
          - name: listener
            address: { socket_address: { address: 127.0.0.1, port_value: \(listenPort) } }
            filter_chains:
            - filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                  stat_prefix: bench
                  route_config:
                    virtual_hosts:
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/" }
                        route: { cluster: upstream }
                  http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
        \(envoyUpstreamCluster(address: "127.0.0.1", port: upstreamPort))
        """
    }

    /// Envoy's `clusters:` (under `static_resources`): `upstream`, one static endpoint.
    static func envoyUpstreamCluster(address: String, port: Int) -> String {
        """
          clusters:
          - name: upstream
            type: STATIC
            connect_timeout: 1s
            load_assignment:
              cluster_name: upstream
              endpoints:
              - lb_endpoints:
                - endpoint: { address: { socket_address: { address: \(address), port_value: \(port) } } }

        """
    }

    static func haproxy(listenPort: Int, upstreamPort: Int) -> String {
        """
        global
            nbthread 1
            maxconn 4000
        defaults
            mode http
            timeout connect 1s
            timeout client 30s
            timeout server 30s
            http-reuse always
        frontend bench
            bind 127.0.0.1:\(listenPort)
            default_backend upstream
        backend upstream
            server origin 127.0.0.1:\(upstreamPort)

        """
    }

    /// One process (`master_process off`), so /proc of the PID started is the process that works;
    /// no access log, client connections kept alive, `upstream origin` kept alive too. The
    /// `http` block is left open for the servers.
    static func nginxPrelude(directory: String, name: String, upstream: String) -> String {
        """
        daemon off;
        master_process off;
        worker_processes 1;
        pid \(directory)/\(name).pid;
        error_log \(directory)/\(name).error.log warn;
        events { worker_connections 4096; }
        http {
            access_log off;
            keepalive_timeout 300s;
            keepalive_requests 10000000;
            upstream origin { server \(upstream); keepalive 64; }

        """
    }

    static func nginx(listenPort: Int, upstreamPort: Int, directory: String, name: String) -> String {
        nginxPrelude(directory: directory, name: name, upstream: "127.0.0.1:\(upstreamPort)") + """
            server {
                listen 127.0.0.1:\(listenPort);
                location / {
                    proxy_pass http://origin;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                }
            }
        }

        """
    }
}

/// The bookstore demo's shape for our sidecars: bookbuyer calls bookstore (and can reach
/// bookwarehouse), bookstore accepts bookbuyer's calls on 14001 and hands them to its app.
enum BookstoreConfigs {
    static let bookstore = "bookstore.bookstore.svc.cluster.local"
    static let bookwarehouse = "bookwarehouse.bookwarehouse.svc.cluster.local"
    static let buyerIdentity = "bookbuyer.bookbuyer.cluster.local"
    static let storeIdentity = "bookstore.bookstore.cluster.local"
    static let servicePort = 14001
    /// What the load generator sends as Host: the name a bookbuyer pod uses.
    static let hostHeader = "bookstore.bookstore:14001"

    static func hosts(_ fqdn: String, port: Int) -> [HostMapping] {
        let parts = fqdn.split(separator: ".")
        let names = [String(parts[0]), "\(parts[0]).\(parts[1])", "\(parts[0]).\(parts[1]).svc", fqdn]
        return names.flatMap { [HostMapping(host: $0, service: fqdn), HostMapping(host: "\($0):\(port)", service: fqdn)] }
    }

    /// bookbuyer's sidecar; `bookstoreEndpoint` is the address its bookstore cluster points to.
    static func client(bookstoreEndpoint: String) -> ProxyConfig {
        let storeCluster = "bookstore/bookstore|\(servicePort)"
        let warehouseCluster = "bookwarehouse/bookwarehouse|\(servicePort)"
        return ProxyConfig(
            version: "bench-bookbuyer-1",
            serviceIdentity: buyerIdentity,
            outbound: OutboundConfig(
                trafficMatches: [
                    OutboundTrafficMatch(
                        port: servicePort, appProtocol: .http, destinationIPRanges: ["10.96.0.10/32"], httpHostPort2Service: hosts(bookstore, port: servicePort),
                        httpServiceRouteRules: [ServiceRouteRules(service: bookstore, rules: [
                            RouteRule(pathRegex: "/books-bought", methods: ["GET"], targetClusters: [WeightedCluster(name: storeCluster, weight: 100)]),
                            RouteRule(pathRegex: "/buy-a-book/new", methods: ["GET"], targetClusters: [WeightedCluster(name: storeCluster, weight: 100)]),
                            RouteRule(pathRegex: ".*", targetClusters: [WeightedCluster(name: storeCluster, weight: 100)]),
                        ])],
                        serviceIdentity: buyerIdentity
                    ),
                    OutboundTrafficMatch(
                        port: servicePort, appProtocol: .http, destinationIPRanges: ["10.96.0.11/32"], httpHostPort2Service: hosts(bookwarehouse, port: servicePort),
                        httpServiceRouteRules: [ServiceRouteRules(service: bookwarehouse, rules: [RouteRule(pathRegex: ".*", targetClusters: [WeightedCluster(name: warehouseCluster, weight: 100)])])],
                        serviceIdentity: buyerIdentity
                    ),
                ],
                clustersConfigs: [
                    ClusterConfig(name: storeCluster, endpoints: [ClusterEndpoint(address: bookstoreEndpoint)]),
                    ClusterConfig(name: warehouseCluster, endpoints: [ClusterEndpoint(address: "127.85.200.251:\(servicePort)")]),
                ]
            )
        )
    }

    /// bookstore's sidecar: inbound on the service port, handed to the app at `appAddress`.
    static func server(appAddress: String) -> ProxyConfig {
        let local = "bookstore/bookstore|\(servicePort)|local"
        return ProxyConfig(
            version: "bench-bookstore-1",
            serviceIdentity: storeIdentity,
            inbound: InboundConfig(
                trafficMatches: [InboundTrafficMatch(
                    port: servicePort, appProtocol: .http, httpHostPort2Service: hosts(bookstore, port: servicePort),
                    httpServiceRouteRules: [ServiceRouteRules(service: bookstore, rules: [
                        RouteRule(pathRegex: "/books-bought", methods: ["GET"], targetClusters: [WeightedCluster(name: local, weight: 100)]),
                        RouteRule(pathRegex: "/buy-a-book/new", methods: ["GET"], targetClusters: [WeightedCluster(name: local, weight: 100)]),
                        RouteRule(pathRegex: ".*", targetClusters: [WeightedCluster(name: local, weight: 100)]),
                    ])]
                )],
                clustersConfigs: [ClusterConfig(name: local, endpoints: [ClusterEndpoint(address: appAddress)])]
            )
        )
    }
}
