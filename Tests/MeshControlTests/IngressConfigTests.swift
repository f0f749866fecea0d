import MeshControl
import MeshModel
import MeshTesting
import Testing

/// FSM's ingress controller (`ingressClassName: pipy`): the Ingress objects become the config of
/// `fsm-system/fsm-ingress`, served like a Gateway's.
@Suite struct IngressConfigTests {
    @Test func theGuidesIngressRoutesItsHostToFoo() throws {
        var cluster = GatewayCluster()
        try cluster.apply(IngressBackendTests.mesh, namespace: "default")
        let demo = try #require(GatewayDemo.all.first { $0.id == "F2-001d" })
        let update = try cluster.apply(demo.manifests, namespace: demo.namespace)
        #expect(update.gateways == ["fsm-system/fsm-ingress"])
        let config = try #require(cluster.controller.gatewayConfig(for: "fsm-system/fsm-ingress"))
        let ip = try #require(cluster.podIP("test", "foo-0"))
        #expect(config.listeners.map(\.port) == [80])
        #expect(config.listeners.first?.virtualHosts == [GatewayConfig.VirtualHost(hostname: "foo-basic.bar.com", rules: [
            GatewayConfig.Rule(route: "Ingress test/fsm-ingress", ruleIndex: 0, match: GatewayHTTPRouteMatch(),
                               backends: [GatewayConfig.Backend(service: "test/foo", port: 80, endpoints: ["\(ip):80"])]),
        ])])
    }

    /// demos.md 6.4, FSM Ingress basics: Exact paths, a rewrite and a load-balancer choice.
    @Test func exactPathsAnnotationsAndADefaultBackend() throws {
        var cluster = GatewayCluster()
        try cluster.apply("""
        apiVersion: v1
        kind: Service
        metadata: {name: httpbin}
        spec: {selector: {app: httpbin}, ports: [{name: http, port: 8000}]}
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: httpbin
          annotations:
            pipy.ingress.kubernetes.io/rewrite-target-from: ^/httpbin/?
            pipy.ingress.kubernetes.io/rewrite-target-to: /
            pipy.ingress.kubernetes.io/lb-type: hashing
        spec:
          ingressClassName: pipy
          defaultBackend: {service: {name: httpbin, port: {name: http}}}
          rules:
          - host: example.com
            http:
              paths:
              - {path: /, pathType: Exact, backend: {service: {name: httpbin, port: {number: 8000}}}}
              - {path: /hi, pathType: Exact, backend: {service: {name: httpbin, port: {number: 8000}}}}
              - {path: /httpbin, pathType: Prefix, backend: {service: {name: httpbin, port: {number: 8000}}}}
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: nginx}
        spec:
          ingressClassName: nginx
          rules: [{host: other.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: httpbin, port: {number: 8000}}}}]}}]
        """, namespace: "httpbin")
        let config = try #require(cluster.controller.gatewayConfig(for: "fsm-system/fsm-ingress"))
        let hosts = try #require(config.listeners.first?.virtualHosts)
        #expect(hosts.map(\.hostname) == ["example.com", "*"]) // the nginx class's Ingress is not ours
        #expect(hosts[0].rules.map(\.match?.path) == [GatewayPathMatch(type: .exact, value: "/hi"), GatewayPathMatch(type: .exact, value: "/"),
                                                       GatewayPathMatch(type: .pathPrefix, value: "/httpbin")])
        #expect(hosts[0].rules.allSatisfy { $0.filters == [.pathRegexRewrite(pattern: "^/httpbin/?", replacement: "/")] })
        #expect(hosts[0].rules.allSatisfy { $0.backends.first?.policies.loadBalancer == .hashing })
        #expect(hosts[1].rules.map(\.ruleIndex) == [-1])
        #expect(hosts[1].rules.first?.backends.map(\.port) == [8000]) // the named port resolved
    }
}
