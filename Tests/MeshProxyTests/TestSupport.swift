import MeshModel
@testable import MeshProxy

enum Fixture {
    static let httpbinCluster = "httpbin/httpbin|14001"
    static let httpbinIP = SocketAddress(ip: "10.96.0.10", port: 14001)
    static let service = "httpbin.httpbin.svc.cluster.local"

    static func hostMappings(service: String = service, short: String = "httpbin", namespace: String = "httpbin", port: Int = 14001) -> [HostMapping] {
        let bare = [short, "\(short).\(namespace)", "\(short).\(namespace).svc", "\(short).\(namespace).svc.cluster", "\(short).\(namespace).svc.cluster.local"]
        return (bare + bare.map { "\($0):\(port)" }).map { HostMapping(host: $0, service: service) }
    }

    /// One outbound HTTP service `httpbin` with the given rules and cluster settings.
    static func outbound(
        rules: [RouteRule] = [RouteRule(targetClusters: [WeightedCluster(name: httpbinCluster, weight: 100)])],
        endpoints: [String] = ["10.244.0.5:14001"],
        settings: ConnectionSettings? = nil,
        retry: RetryPolicy? = nil,
        extraClusters: [ClusterConfig] = []
    ) -> ProxyConfig {
        let match = OutboundTrafficMatch(
            port: 14001, appProtocol: .http, destinationIPRanges: ["10.96.0.10/32"],
            httpHostPort2Service: hostMappings(),
            httpServiceRouteRules: [ServiceRouteRules(service: service, rules: rules)],
            serviceIdentity: "httpbin.httpbin.cluster.local"
        )
        let cluster = ClusterConfig(name: httpbinCluster, endpoints: endpoints.map { ClusterEndpoint(address: $0) }, connectionSettings: settings, retryPolicy: retry)
        return ProxyConfig(version: "v1", serviceIdentity: "curl.curl.cluster.local", outbound: OutboundConfig(trafficMatches: [match], clustersConfigs: [cluster] + extraClusters))
    }

    static func get(_ path: String = "/get", host: String = "httpbin.httpbin:14001", method: String = "GET", headers: [HTTPHeader] = []) -> HTTPRequestHead {
        HTTPRequestHead(method: method, path: path, authority: host, headers: headers)
    }
}

extension Sidecar {
    /// A counter of one cluster (the fixture's httpbin cluster unless named), as `/stats` names it.
    func clusterStat(_ suffix: String, cluster: String = Fixture.httpbinCluster) -> UInt64 {
        stats.value("cluster.\(cluster).\(suffix)")
    }
}

extension Sequence<OutboundHTTPAction> {
    var sends: [(exchange: ExchangeID, attempt: Int, cluster: String, endpoint: SocketAddress, connection: UpstreamConnectionID, isNew: Bool)] {
        compactMap {
            if case let .send(id, attempt, cluster, endpoint, connection, isNew, _) = $0 { return (id, attempt, cluster, endpoint, connection, isNew) }
            return nil
        }
    }

    var responses: [(exchange: ExchangeID, head: HTTPResponseHead, local: LocalReason?)] {
        compactMap {
            if case let .respond(id, head, local, _) = $0 { return (id, head, local) }
            return nil
        }
    }

    /// The response flags of each answer, in order.
    var responseFlags: [ResponseFlags] {
        compactMap {
            if case let .respond(_, _, _, flags) = $0 { return flags }
            return nil
        }
    }

    var timers: [(timer: ProxyTimer, after: MeshDuration)] {
        compactMap {
            if case let .startTimer(timer, after) = $0 { return (timer, after) }
            return nil
        }
    }

    /// The route timeouts started (the engine starts one per exchange).
    var requestTimers: [(timer: ProxyTimer, after: MeshDuration)] {
        timers.filter { if case .requestTimeout = $0.timer { true } else { false } }
    }

    var sentProtocols: [AppProtocol] {
        compactMap {
            if case let .send(_, _, _, _, _, _, appProtocol) = $0 { return appProtocol }
            return nil
        }
    }

    var cancelledTimers: [ProxyTimer] {
        compactMap {
            if case let .cancelTimer(timer) = $0 { return timer }
            return nil
        }
    }

    var closes: [UpstreamConnectionID] {
        compactMap {
            if case let .closeUpstream(id) = $0 { return id }
            return nil
        }
    }
}

func ms(_ n: Int64) -> MeshInstant { MeshInstant(nanoseconds: n * 1_000_000) }
func seconds(_ n: Int64) -> MeshInstant { MeshInstant(nanoseconds: n * 1_000_000_000) }
