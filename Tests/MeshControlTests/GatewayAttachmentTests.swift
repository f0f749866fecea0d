import MeshControl
import MeshModel
import MeshTesting
import Testing

/// Route attachment and status conditions (Gateway API `ParentReference`, `AllowedRoutes`,
/// `RouteConditionReason`, `ListenerConditionReason`), and the gateways' incremental rebuild.
@Suite struct GatewayAttachmentTests {
    static let gateway = """
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: {name: gw, namespace: edge}
    spec:
      gatewayClassName: fsm-gateway-cls
      listeners:
      - {name: web, port: 8000, protocol: HTTP, hostname: "*.example.com", allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {edge: "yes"}}}}}
      - {name: same, port: 8001, protocol: HTTP}
    ---
    apiVersion: v1
    kind: Namespace
    metadata: {name: shop, labels: {edge: "yes"}}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web, namespace: shop}
    spec: {ports: [{port: 80}], selector: {app: web}}

    """

    static func route(_ name: String, namespace: String = "shop", parent: String = "{name: gw, namespace: edge}", hostnames: String = "[shop.example.com]",
                      backend: String = "{name: web, port: 80}", kind: String = "HTTPRoute", apiVersion: String = "gateway.networking.k8s.io/v1") -> String {
        """
        apiVersion: \(apiVersion)
        kind: \(kind)
        metadata: {name: \(name), namespace: \(namespace)}
        spec:
          parentRefs: [\(parent)]
          hostnames: \(hostnames)
          rules: [{backendRefs: [\(backend)]}]

        """
    }

    func cluster(_ routes: String...) throws -> GatewayCluster {
        var cluster = GatewayCluster()
        try cluster.apply(Self.gateway + routes.map { "---\n" + $0 }.joined(), namespace: "default")
        return cluster
    }

    func accepted(_ cluster: GatewayCluster, _ route: String, _ scope: String = "parent edge/gw") -> GatewayCondition? {
        cluster.status(route, scope)?.condition("Accepted")
    }

    @Test func aRouteFromASelectedNamespaceAttachesWithItsHostname() throws {
        let cluster = try cluster(Self.route("shop"))
        #expect(accepted(cluster, "HTTPRoute shop/shop") == GatewayCondition(type: "Accepted", status: .true, reason: "Accepted"))
        let config = try #require(cluster.controller.gatewayConfig(for: "edge/gw"))
        #expect(config.host("shop.example.com")?.rules.first?.route == "HTTPRoute shop/shop")
        #expect(config.listeners[1].virtualHosts.isEmpty) // `same` takes routes from edge only
    }

    @Test func theListenerHostnameNarrowsARouteWithoutHostnames() throws {
        let cluster = try cluster(Self.route("any", hostnames: "[]"))
        #expect(cluster.controller.gatewayConfig(for: "edge/gw")?.listeners[0].virtualHosts.map(\.hostname) == ["*.example.com"])
    }

    @Test func refusals() throws {
        let cluster = try cluster(
            Self.route("other-host", hostnames: "[shop.other.com]"),
            Self.route("not-selected", namespace: "default"),
            Self.route("no-section", parent: "{name: gw, namespace: edge, sectionName: missing}"),
            Self.route("no-gateway", parent: "{name: nowhere, namespace: edge}"),
            Self.route("tcp", kind: "TCPRoute", apiVersion: "gateway.networking.k8s.io/v1alpha2").replacingOccurrences("  hostnames: [shop.example.com]\n", with: ""))
        #expect(accepted(cluster, "HTTPRoute shop/other-host") == GatewayCondition(type: "Accepted", status: .false, reason: "NoMatchingListenerHostname",
                                                                                  message: "no hostname of the route matches listener web's *.example.com"))
        #expect(accepted(cluster, "HTTPRoute default/not-selected") == GatewayCondition(type: "Accepted", status: .false, reason: "NotAllowedByListeners",
                                                                                       message: "listener web does not allow routes from namespace default"))
        #expect(accepted(cluster, "HTTPRoute shop/no-section", "parent edge/gw section missing") == GatewayCondition(
            type: "Accepted", status: .false, reason: "NoMatchingParent", message: "no listener of Gateway edge/gw has name missing"))
        #expect(accepted(cluster, "HTTPRoute shop/no-gateway", "parent edge/nowhere")?.reason == "NoMatchingParent")
        #expect(accepted(cluster, "TCPRoute shop/tcp") == GatewayCondition(type: "Accepted", status: .false, reason: "NotAllowedByListeners",
                                                                          message: "listener web does not allow TCPRoute"))
        #expect(cluster.controller.gatewayConfig(for: "edge/gw")?.listeners.allSatisfy(\.virtualHosts.isEmpty) == true)
    }

    @Test func unresolvedBackendsSayWhyAndTheRestServes() throws {
        let cluster = try cluster(
            Self.route("missing", backend: "{name: nothing, port: 80}, {name: web, port: 80}"),
            Self.route("cross", hostnames: "[cross.example.com]", backend: "{name: web, namespace: default, port: 80}"),
            Self.route("kind", hostnames: "[kind.example.com]", backend: "{group: example.io, kind: Bucket, name: b}"),
            Self.route("port", hostnames: "[port.example.com]", backend: "{name: web, port: 81}"))
        func resolved(_ name: String) -> GatewayCondition? { cluster.status("HTTPRoute shop/\(name)", "parent edge/gw")?.condition("ResolvedRefs") }
        #expect(resolved("missing") == GatewayCondition(type: "ResolvedRefs", status: .false, reason: "BackendNotFound", message: "Service shop/nothing does not exist"))
        #expect(resolved("cross")?.reason == "RefNotPermitted")
        #expect(resolved("kind")?.reason == "InvalidKind")
        #expect(resolved("port") == GatewayCondition(type: "ResolvedRefs", status: .false, reason: "BackendNotFound", message: "Service shop/web has no port 81"))
        #expect(accepted(cluster, "HTTPRoute shop/missing")?.status == .true)
        let config = cluster.controller.gatewayConfig(for: "edge/gw")
        #expect(config?.host("shop.example.com")?.rules.first?.backends.map(\.service) == ["shop/web"])
        #expect(config?.host("kind.example.com")?.rules.first?.backends == [])
    }

    @Test func weightsCarryOverAndAZeroWeightLeavesTheChoice() throws {
        var cluster = try cluster(Self.route("split", backend: "{name: web, port: 80, weight: 90}, {name: canary, port: 80, weight: 10}, {name: dark, port: 80, weight: 0}"))
        try cluster.apply("""
        apiVersion: v1
        kind: Service
        metadata: {name: canary, namespace: shop}
        spec: {ports: [{port: 80}], selector: {app: canary}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: dark, namespace: shop}
        spec: {ports: [{port: 80}], selector: {app: dark}}
        """, namespace: "shop")
        let backends = cluster.controller.gatewayConfig(for: "edge/gw")?.host("shop.example.com")?.rules.first?.backends
        #expect(backends?.map(\.service) == ["shop/web", "shop/canary"])
        #expect(backends?.map(\.weight) == [90, 10])
    }

    @Test func aMissingCertificateDropsOnlyItsListener() throws {
        var cluster = GatewayCluster()
        try cluster.apply("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: gw}
        spec:
          gatewayClassName: fsm-gateway-cls
          listeners:
          - {name: https, port: 8443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}
          - {name: http, port: 8000, protocol: HTTP}
        """, namespace: "edge")
        func listener(_ name: String) -> GatewayStatus? { cluster.status("Gateway edge/gw", "listener \(name)") }
        #expect(listener("https")?.condition("ResolvedRefs") == GatewayCondition(type: "ResolvedRefs", status: .false, reason: "InvalidCertificateRef", message: "Secret edge/cert does not exist"))
        #expect(listener("https")?.condition("Programmed")?.status == .false)
        #expect(cluster.controller.gatewayConfig(for: "edge/gw")?.listeners.map(\.name) == ["http"])
        #expect(cluster.status("Gateway edge/gw")?.condition("Programmed")?.status == .true)
        try cluster.apply("apiVersion: v1\nkind: Secret\nmetadata: {name: cert}\ndata: {ca.crt: Y2E=}\n", namespace: "edge")
        #expect(listener("https")?.condition("ResolvedRefs")?.message == "Secret edge/cert has no tls.crt and tls.key")
        try cluster.apply("apiVersion: v1\nkind: Secret\nmetadata: {name: cert}\nstringData: {tls.crt: C, tls.key: K}\n", namespace: "edge")
        #expect(listener("https")?.condition("ResolvedRefs")?.status == .true)
        #expect(cluster.controller.gatewayConfig(for: "edge/gw")?.listeners.map(\.name) == ["https", "http"])
    }

    @Test func anotherControllersGatewayIsLeftAlone() throws {
        var cluster = GatewayCluster()
        try cluster.apply("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata: {name: nginx}
        spec: {controllerName: nginx.org/gateway-controller}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: gw}
        spec: {gatewayClassName: nginx, listeners: [{name: http, port: 80, protocol: HTTP}]}
        """, namespace: "edge")
        #expect(cluster.controller.gatewayNames.isEmpty)
        #expect(cluster.controller.gatewayStatuses.map(\.object) == ["GatewayClass fsm", "GatewayClass fsm-gateway-cls"])
    }

    @Test func onlyChangesThatReachTheGatewaysRebuildThem() throws {
        var cluster = try cluster(Self.route("shop"))
        let builds = cluster.controller.gatewayBuilds
        var update = try cluster.apply("""
        apiVersion: v1
        kind: Pod
        metadata: {name: unrelated, namespace: elsewhere, labels: {app: x}}
        spec: {containers: [{name: x, image: x}]}
        """, namespace: "elsewhere")
        #expect(cluster.controller.gatewayBuilds == builds)
        #expect(update.gateways.isEmpty)
        update = try cluster.apply("""
        apiVersion: v1
        kind: Pod
        metadata: {name: web-1, namespace: shop, labels: {app: web}}
        spec: {containers: [{name: web, image: web, ports: [{containerPort: 80}]}]}
        """, namespace: "shop")
        #expect(cluster.controller.gatewayBuilds == builds + 1)
        #expect(update.gateways == ["edge/gw"])
        let ip = try #require(cluster.podIP("shop", "web-1"))
        #expect(cluster.controller.gatewayConfig(for: "edge/gw")?.host("shop.example.com")?.rules.first?.backends.first?.endpoints == ["\(ip):80"])
        update = cluster.delete(ResourceKey(kind: .gateway, namespace: "edge", name: "gw"))
        #expect(update.gateways == ["edge/gw"])
        #expect(cluster.controller.gatewayNames.isEmpty)
        #expect(accepted(cluster, "HTTPRoute shop/shop")?.reason == "NoMatchingParent")
    }
}

extension String {
    func replacingOccurrences(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
