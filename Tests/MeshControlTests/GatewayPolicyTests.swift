import MeshControl
import MeshModel
import MeshTesting
import Testing

/// F2-021..F2-029: each FSM Gateway policy lands where its targetRef and level put it, and only there.
@Suite struct GatewayPolicyTests {
    static let forbidden = GatewayAccessControl(blacklist: ["192.168.0.0/24"], whitelist: ["112.94.5.242"], enableXFF: true, statusCode: 403, message: "Forbidden")

    @Test func aRouteLevelFaultTakesOnlyItsMatch() throws {
        let (_, config) = try GatewayCluster.demo("F2-021a")
        let rules = try #require(config?.host("foo.example.com")?.rules)
        #expect(rules.map(\.match?.path.value) == ["/headers", "/"])
        #expect(rules[0].faultInjection == GatewayConfig.Attached(source: "FaultInjectionPolicy httpbin/fault-injection http[0]",
                                                                 settings: GatewayFaultInjection(abort: GatewayFaultAbort(percent: 100, statusCode: 404))))
        #expect(rules[1].faultInjection == nil)
        #expect(config?.host("bar.example.com")?.rules.allSatisfy { $0.faultInjection == nil } == true)
    }

    @Test func aDomainLevelFaultTakesEveryRuleOfTheHost() throws {
        let (_, abort) = try GatewayCluster.demo("F2-021b")
        #expect(abort?.host("foo.example.com")?.rules.map(\.faultInjection?.source) == Array(repeating: "FaultInjectionPolicy httpbin/fault-injection hostnames[0]", count: 2))
        #expect(abort?.host("bar.example.com")?.rules.allSatisfy { $0.faultInjection == nil } == true)
        let (_, delay) = try GatewayCluster.demo("F2-021c")
        #expect(delay?.host("foo.example.com")?.rules.first?.faultInjection?.settings.delay == GatewayFaultDelay(percent: 100, rangeMin: 500, rangeMax: 1000, unit: .ms))
    }

    @Test func accessControlByDomainAndByRoute() throws {
        let (_, domain) = try GatewayCluster.demo("F2-022a")
        #expect(domain?.host("foo.example.com")?.rules.map(\.accessControl?.settings) == [Self.forbidden, Self.forbidden])
        let (_, route) = try GatewayCluster.demo("F2-022b")
        #expect(route?.host("foo.example.com")?.rules.map(\.accessControl?.settings) == [Self.forbidden, nil]) // `/get` stays open
    }

    @Test func rateLimitsByPortDomainAndRoute() throws {
        let (_, port) = try GatewayCluster.demo("F2-023a")
        #expect(port?.listeners.first?.bytesPerSecond == 2048)
        let limit = GatewayRateLimit(backlog: 1, requests: 100, statTimeWindow: 60, responseStatusCode: 429,
                                     responseHeadersToAdd: [GatewayHeader(name: "RateLimit-Limit", value: "100")])
        let (_, domain) = try GatewayCluster.demo("F2-023b")
        #expect(domain?.host("foo.example.com")?.rules.first?.rateLimit == GatewayConfig.Attached(source: "RateLimitPolicy httpbin/ratelimit-sample hostnames[0]", settings: limit))
        #expect(domain?.host("bar.example.com")?.rules.first?.rateLimit == nil)
        #expect(domain?.listeners.first?.bytesPerSecond == nil)
        let (_, route) = try GatewayCluster.demo("F2-023c")
        #expect(route?.host("foo.example.com")?.rules.map(\.rateLimit?.settings) == [limit, nil]) // `/status/204` goes through `/`
    }

    @Test func servicePoliciesLandOnTheirBackends() throws {
        let (_, retry) = try GatewayCluster.demo("F2-024")
        #expect(retry?.host("*")?.rules.first?.backends.first?.policies == GatewayConfig.BackendPolicies(retry: GatewayRetry(retryOn: ["5xx"], numRetries: 5, backoffBaseInterval: 2)))
        let (cluster, sticky) = try GatewayCluster.demo("F2-025")
        let backend = try #require(sticky?.host("*")?.rules.first?.backends.first)
        #expect(backend.policies.sessionSticky == GatewaySessionSticky(cookieName: "_srv_id", expires: 600))
        let ips = try [#require(cluster.podIP("server", "pipy-1")), #require(cluster.podIP("server", "pipy-2"))]
        #expect(backend.endpoints == ips.map { "\($0):8080" }.sorted())
        let (_, health) = try GatewayCluster.demo("F2-026")
        #expect(health?.host("*")?.rules.first?.backends.first?.policies.healthCheck == GatewayHealthCheck(
            interval: 10, maxFails: 3, failTimeout: 1, path: "/healthz", matches: [GatewayHealthCheckMatch(statusCodes: [200, 201])]))
        let (_, hashing) = try GatewayCluster.demo("F2-027a")
        #expect(hashing?.host("*")?.rules.first?.backends.first?.policies.loadBalancer == .hashing)
        let (_, least) = try GatewayCluster.demo("F2-027b")
        #expect(least?.host("*")?.rules.first?.backends.first?.policies.loadBalancer == .leastConnection)
    }

    @Test func upstreamTLSCarriesTheCA() throws {
        let (_, config) = try GatewayCluster.demo("F2-028")
        let backend = try #require(config?.host("foo.example.com")?.rules.first?.backends.first)
        #expect(backend.port == 8443)
        #expect(backend.policies.upstreamTLS == GatewayConfig.UpstreamTLS(caPEM: "-----BEGIN ca.crt-----\nhttps-cert\n-----END ca.crt-----\n", mTLS: false))
    }

    @Test func gatewayMTLSVerifiesClientsAgainstTheSecretsCA() throws {
        let (_, config) = try GatewayCluster.demo("F2-029")
        let tls = try #require(config?.listeners.first?.tls)
        #expect(tls.requireClientCertificate)
        #expect(tls.clientCA == "-----BEGIN ca.crt-----\nsimple-gateway-cert\n-----END ca.crt-----\n")
        #expect(tls.certificates.map(\.secret) == ["httpbin/simple-gateway-cert"]) // a generic Secret serves as well as a tls one
    }

    @Test func aPolicyForAnotherServiceOrPortChangesNothing() throws {
        var (cluster, before) = try GatewayCluster.demo("F2-011")
        try cluster.apply("""
        apiVersion: gateway.flomesh.io/v1alpha1
        kind: LoadBalancerPolicy
        metadata: {name: lb}
        spec:
          targetRef: {group: "", kind: Service, name: httpbin, namespace: httpbin}
          ports: [{port: 9999, type: HashingLoadBalancer}]
        """, namespace: "httpbin")
        #expect(cluster.controller.gatewayConfig(for: "httpbin/simple-fsm-gateway") == before)
        before = cluster.controller.gatewayConfig(for: "httpbin/simple-fsm-gateway")
        #expect(before?.host("foo.example.com")?.rules.first?.backends.first?.policies == GatewayConfig.BackendPolicies())
    }
}

extension GatewayPolicyTests {
    @Test func aGatewaysRateLimitDefaultCoversEveryRuleAndItsAccessControlDefaultEveryPort() throws {
        var (cluster, _) = try GatewayCluster.demo("F2-011")
        try cluster.apply("""
        apiVersion: gateway.flomesh.io/v1alpha1
        kind: RateLimitPolicy
        metadata: {name: all}
        spec:
          targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: simple-fsm-gateway, namespace: httpbin}
          config: {requests: 10, statTimeWindow: 1}
        ---
        apiVersion: gateway.flomesh.io/v1alpha1
        kind: AccessControlPolicy
        metadata: {name: all}
        spec:
          targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: simple-fsm-gateway, namespace: httpbin}
          config: {blacklist: [10.0.0.0/8]}
        """, namespace: "httpbin")
        let config = try #require(cluster.controller.gatewayConfig(for: "httpbin/simple-fsm-gateway"))
        let rules = config.listeners.flatMap { $0.virtualHosts.flatMap(\.rules) }
        #expect(rules.count == 2)
        #expect(rules.allSatisfy { $0.rateLimit?.source == "RateLimitPolicy httpbin/all config" && $0.accessControl == nil })
        #expect(config.listeners.first?.accessControl == GatewayConfig.Attached(source: "AccessControlPolicy httpbin/all config",
                                                                                settings: GatewayAccessControl(blacklist: ["10.0.0.0/8"])))
    }
}

extension GatewayPolicyTests {
    @Test func aPolicyWhoseTargetIsMissingSaysSo() throws {
        var (cluster, _) = try GatewayCluster.demo("F2-021a")
        #expect(cluster.status("FaultInjectionPolicy httpbin/fault-injection")?.condition("Accepted")?.status == .true)
        try cluster.apply("""
        apiVersion: gateway.flomesh.io/v1alpha1
        kind: RetryPolicy
        metadata: {name: nowhere}
        spec:
          targetRef: {kind: Service, name: fortio, namespace: httpbin}
          config: {retryOn: [5xx]}
        """, namespace: "httpbin")
        #expect(cluster.status("RetryPolicy httpbin/nowhere")?.condition("Accepted") == GatewayCondition(
            type: "Accepted", status: .false, reason: "TargetNotFound", message: "Service httpbin/fortio does not exist"))
        try cluster.apply("apiVersion: v1\nkind: Service\nmetadata: {name: fortio}\nspec: {ports: [{port: 8080}], selector: {app: fortio}}\n", namespace: "httpbin")
        #expect(cluster.status("RetryPolicy httpbin/nowhere")?.condition("Accepted")?.status == .true)
    }
}
