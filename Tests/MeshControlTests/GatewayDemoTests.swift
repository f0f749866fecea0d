import MeshControl
import MeshManifest
import MeshModel
import MeshTesting
import Testing

/// A controller fed through `LocalCluster` (pods stamped out with loopback addresses), as
/// `fsm controller --manifests` feeds it.
struct GatewayCluster {
    var controller = MeshController()
    var cluster = LocalCluster(plan: .loopback)
    var declared: [Resource] = []

    /// Adds the manifests to the desired state and applies the difference.
    @discardableResult
    mutating func apply(_ manifests: String, namespace: String) throws -> ControllerUpdate {
        declared += try ManifestDecoder.decode(manifests, file: "demo.yaml", defaultNamespace: namespace).map(\.resource)
        return controller.apply(cluster.replace(with: declared))
    }

    mutating func delete(_ key: ResourceKey) -> ControllerUpdate {
        declared.removeAll { $0.key == key }
        return controller.apply(cluster.replace(with: declared))
    }

    static func demo(_ id: String) throws -> (GatewayCluster, GatewayConfig?) {
        guard let demo = GatewayDemo.all.first(where: { $0.id == id }) else { throw DemoMissing(id: id) }
        var cluster = GatewayCluster()
        try cluster.apply(demo.manifests, namespace: demo.namespace)
        return (cluster, cluster.controller.gatewayConfig(for: "\(demo.namespace)/simple-fsm-gateway"))
    }

    func status(_ object: String, _ scope: String = "") -> GatewayStatus? {
        controller.gatewayStatuses.first { $0.object == object && $0.scope == scope }
    }

    func podIP(_ namespace: String, _ name: String) -> String? {
        cluster.pods.first { $0.metadata.namespace == namespace && $0.metadata.name.hasPrefix(name) }?.podIP
    }
}

struct DemoMissing: Error { var id: String }

extension GatewayConfig {
    func host(_ hostname: String, port: Int = 8000) -> VirtualHost? {
        listeners.first { $0.port == port }?.virtualHosts.first { $0.hostname == hostname }
    }
}

/// Each F2 demo's manifests decode, and the gateway config the controller computes from them is
/// what the guide's outcome needs.
@Suite struct GatewayDemoTests {
    /// The httpbin Deployment and Service of http-routing.yaml.
    static let httpbinApp = GatewayDemo.httpRouting.split(separator: "---\n")
        .filter { $0.contains("name: httpbin\n") && !$0.contains("kind: HTTPRoute") }.joined(separator: "---\n")

    @Test(arguments: GatewayDemo.all)
    func everyDemoManifestDecodes(demo: GatewayDemo) throws {
        let resources = try ManifestDecoder.decode(demo.manifests, file: "\(demo.id).yaml", defaultNamespace: demo.namespace)
        #expect(!resources.isEmpty)
    }

    @Test func quickstartServesTheRepoOnceItsServiceExists() throws {
        var (cluster, config) = try GatewayCluster.demo("F2-010")
        #expect(cluster.status("GatewayClass fsm-gateway-cls")?.condition("Accepted") == GatewayCondition(type: "Accepted", status: .true, reason: "Accepted"))
        let rule = try #require(config?.host("*")?.rules.first)
        #expect(rule.match == GatewayHTTPRouteMatch())
        #expect(rule.backends.isEmpty)
        let parent = cluster.status("HTTPRoute fsm-system/repo", "parent fsm-system/simple-fsm-gateway port 8000")
        #expect(parent?.condition("Accepted")?.status == .true)
        #expect(parent?.condition("ResolvedRefs") == GatewayCondition(type: "ResolvedRefs", status: .false, reason: "BackendNotFound",
                                                                       message: "Service fsm-system/fsm-controller does not exist"))
        let update = try cluster.apply("""
        apiVersion: v1
        kind: Service
        metadata: {name: fsm-controller}
        spec: {ports: [{port: 6060}], selector: {app: fsm-controller}}
        """, namespace: "fsm-system")
        #expect(update.gateways == ["fsm-system/simple-fsm-gateway"])
        config = cluster.controller.gatewayConfig(for: "fsm-system/simple-fsm-gateway")
        #expect(config?.host("*")?.rules.first?.backends.map(\.service) == ["fsm-system/fsm-controller"])
        #expect(cluster.status("HTTPRoute fsm-system/repo", "parent fsm-system/simple-fsm-gateway port 8000")?.condition("ResolvedRefs")?.status == .true)
    }

    @Test func hostnameRoutingHasNoCatchAllHost() throws {
        let (cluster, config) = try GatewayCluster.demo("F2-011")
        let listener = try #require(config?.listeners.first)
        #expect(listener.virtualHosts.map(\.hostname) == ["bar.example.com", "foo.example.com"])
        let ip = try #require(cluster.podIP("httpbin", "httpbin"))
        let backend = try #require(config?.host("foo.example.com")?.rules.first?.backends.first)
        #expect(backend == GatewayConfig.Backend(service: "httpbin/httpbin", port: 8080, weight: 1, endpoints: ["\(ip):80"]))
        #expect(cluster.status("Gateway httpbin/simple-fsm-gateway")?.condition("Programmed")?.status == .true)
    }

    @Test func urlRewriteRulesComeLongestPrefixFirst() throws {
        let (_, config) = try GatewayCluster.demo("F2-012a")
        let rules = try #require(config?.host("foo.example.com")?.rules)
        #expect(rules.map(\.match?.path.value) == ["/get", "/"])
        #expect(rules[0].filters == [.urlRewrite(GatewayURLRewrite(path: .replaceFullPath("/headers")))])
        #expect(rules[1].filters.isEmpty)
        let (_, prefix) = try GatewayCluster.demo("F2-012b")
        #expect(prefix?.host("foo.example.com")?.rules.first?.filters == [.urlRewrite(GatewayURLRewrite(path: .replacePrefixMatch("/stream")))])
        let (_, hostname) = try GatewayCluster.demo("F2-012c")
        #expect(hostname?.host("foo.example.com")?.rules.first?.filters == [.urlRewrite(GatewayURLRewrite(hostname: "baz.example.com"))])
    }

    @Test func redirectsCarryTheirLocationParts() throws {
        let (_, host) = try GatewayCluster.demo("F2-013a")
        #expect(host?.host("foo.example.com")?.rules.first?.filters == [.requestRedirect(GatewayRequestRedirect(hostname: "bar.example.com", port: 8000, statusCode: 301))])
        let (_, prefix) = try GatewayCluster.demo("F2-013b")
        let rules = try #require(prefix?.host("foo.example.com")?.rules)
        #expect(rules.map(\.match?.path.value) == ["/status", "/"]) // `- matches:` with no value matches every path
        #expect(rules[0].filters == [.requestRedirect(GatewayRequestRedirect(path: .replacePrefixMatch("/stream"), statusCode: 301))])
        let (_, full) = try GatewayCluster.demo("F2-013c")
        #expect(full?.host("foo.example.com")?.rules.first?.filters == [.requestRedirect(GatewayRequestRedirect(path: .replaceFullPath("/status/200"), statusCode: 301))])
    }

    @Test func headerModifiersAreDataForTheEngine() throws {
        let expected: [(String, GatewayConfig.Filter)] = [
            ("F2-014a", .requestHeaderModifier(GatewayHeaderModifier(add: [GatewayHeader(name: "header-2-add", value: "foo")]))),
            ("F2-014b", .requestHeaderModifier(GatewayHeaderModifier(set: [
                GatewayHeader(name: "header-2-set", value: "foo"),
                GatewayHeader(name: "user-agent", value: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"),
            ]))),
            ("F2-014c", .requestHeaderModifier(GatewayHeaderModifier(remove: ["user-agent"]))),
            ("F2-015a", .responseHeaderModifier(GatewayHeaderModifier(add: [GatewayHeader(name: "header-2-add", value: "foo")]))),
            ("F2-015b", .responseHeaderModifier(GatewayHeaderModifier(set: [GatewayHeader(name: "header-2-set", value: "foo"), GatewayHeader(name: "server", value: "fsm/gateway")]))),
            ("F2-015c", .responseHeaderModifier(GatewayHeaderModifier(remove: ["server"]))),
        ]
        for (id, filter) in expected {
            let (_, config) = try GatewayCluster.demo(id)
            #expect(config?.host("foo.example.com")?.rules.first?.filters == [filter], "\(id)")
        }
    }

    @Test func oneTCPRouteServesBothPorts() throws {
        var (cluster, config) = try GatewayCluster.demo("F2-016")
        #expect(config?.listeners.map(\.port) == [8000, 8001])
        #expect(cluster.status("TCPRoute httpbin/tcp-route", "parent httpbin/simple-fsm-gateway port 8001")?.condition("Accepted")?.status == .true)
        #expect(config?.listeners.allSatisfy(\.backends.isEmpty) == true) // the sample app comes separately
        try cluster.apply(GatewayDemoTests.httpbinApp, namespace: "httpbin")
        config = cluster.controller.gatewayConfig(for: "httpbin/simple-fsm-gateway")
        let ip = try #require(cluster.podIP("httpbin", "httpbin"))
        #expect(config?.listeners.filter { $0.protocol == .tcp }.map { $0.backends.map(\.endpoints) } == [[["\(ip):80"]], [["\(ip):80"]]])
    }

    @Test func tlsTerminationTakesTheSecretsCertificate() throws {
        let (cluster, config) = try GatewayCluster.demo("F2-017")
        let tls = try #require(config?.listeners.first?.tls)
        #expect(tls.mode == .terminate)
        #expect(tls.certificates.map(\.secret) == ["httpbin/simple-gateway-cert"])
        #expect(tls.certificates.first?.certificatePEM == "-----BEGIN tls.crt-----\nsimple-gateway-cert\n-----END tls.crt-----\n")
        #expect(!tls.requireClientCertificate)
        #expect(cluster.status("Gateway httpbin/simple-fsm-gateway", "listener https")?.condition("ResolvedRefs")?.status == .true)
    }

    @Test func tlsPassthroughGoesToTheExternalHost() throws {
        let (_, config) = try GatewayCluster.demo("F2-018")
        #expect(config?.listeners.first?.sniRoutes == [GatewayConfig.SNIRoute(hostname: "*", route: "TLSRoute httpbin/tcp-route", backends: [
            GatewayConfig.Backend(service: "httpbin.org", port: 443, endpoints: ["httpbin.org:443"], external: true),
        ])])
    }

    @Test func grpcRoutesMatchServiceAndMethod() throws {
        let (_, config) = try GatewayCluster.demo("F2-019")
        let rule = try #require(config?.host("*")?.rules.first)
        #expect(rule.grpcMatch == GatewayGRPCRouteMatch(service: "hello.HelloService", method: "SayHello"))
        #expect(rule.backends.map(\.service) == ["grpcbin/grpcbin"])
    }

    @Test func udpRoutesReachFortio() throws {
        let (cluster, config) = try GatewayCluster.demo("F2-020")
        let ip = try #require(cluster.podIP("server", "fortio"))
        #expect(config?.listeners.first?.protocol == .udp)
        #expect(config?.listeners.first?.backends.map(\.endpoints) == [["\(ip):8078"]])
    }

    @Test func mirrorsResolveTheirBackend() throws {
        let (cluster, config) = try GatewayCluster.demo("F2-030")
        let ip = try #require(cluster.podIP("server", "pipy-mirror"))
        let rule = try #require(config?.host("*")?.rules.first)
        #expect(rule.filters == [.requestMirror(GatewayConfig.Backend(service: "server/pipy-mirror", port: 8080, endpoints: ["\(ip):8080"]))])
        #expect(rule.backends.map(\.service) == ["server/pipy"])
    }
}
