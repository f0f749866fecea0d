import Foundation
import MeshControl
import MeshManifest
import MeshModel
import MeshTesting
import Testing

/// The Egress policy API from its YAML to the source pod's config (demos.md 6.3): one rule per
/// Egress port for the pods running as its ServiceAccount, the HTTPRouteGroup matches as routes,
/// the error codes E2000-E2004 on the controller's findings.
@Suite struct EgressPolicyTests {
    static let http80 = """
    kind: Egress
    apiVersion: policy.flomesh.io/v1alpha1
    metadata:
      name: httpbin-80
      namespace: curl
    spec:
      sources:
      - kind: ServiceAccount
        name: curl
        namespace: curl
      hosts:
      - httpbin.org
      ports:
      - number: 80
        protocol: http
      matches:
      - apiGroup: specs.smi-spec.io/v1alpha4
        kind: HTTPRouteGroup
        name: egress-http-route
    """

    static let routeGroup = """
    apiVersion: specs.smi-spec.io/v1alpha4
    kind: HTTPRouteGroup
    metadata:
      name: egress-http-route
      namespace: curl
    spec:
      matches:
      - name: get
        pathRegex: /get
    """

    static let tcp443 = """
    kind: Egress
    apiVersion: policy.flomesh.io/v1alpha1
    metadata: {name: tcp-443, namespace: curl}
    spec:
      sources: [{kind: ServiceAccount, name: curl, namespace: curl}]
      ipAddresses: ["203.0.113.0/24", "not-a-range"]
      ports: [{number: 443, protocol: tcp}]
    """

    static let https443 = """
    kind: Egress
    apiVersion: policy.flomesh.io/v1alpha1
    metadata: {name: httpbin-443, namespace: curl}
    spec:
      sources: [{kind: ServiceAccount, name: curl, namespace: curl}]
      hosts: [httpbin.org]
      ipAddresses: ["203.0.113.0/24"]
      ports: [{number: 443, protocol: https}]
    """

    static func decoded(_ yaml: String) throws -> ResourceChange {
        .upsert(try #require(ManifestDecoder.decode(yaml, file: "egress.yaml").first).resource)
    }

    static func cluster(flag: Bool = true, _ extra: [ResourceChange] = []) -> MeshController {
        var config = ClusterFixtures.permissive()
        config.featureFlags.enableEgressPolicy = flag
        config.traffic.enableEgress = false
        var controller = MeshController(meshConfig: config)
        _ = controller.apply([
            ClusterFixtures.namespace("curl"),
            ClusterFixtures.pod("curl-0", "curl", serviceAccount: "curl", labels: ["app": "curl"], ip: "10.244.0.21"),
            ClusterFixtures.pod("other-0", "curl", serviceAccount: "other", labels: ["app": "other"], ip: "10.244.0.22"),
        ] + extra)
        return controller
    }

    static func policy(_ controller: MeshController, pod: String = "curl-0") throws -> EgressPolicySpec? {
        try #require(controller.config(for: PodKey("curl", pod))).spec.egressPolicy
    }

    @Test func anHTTPEgressWithARouteGroupReachesItsSourcePodOnly() throws {
        var controller = Self.cluster([try Self.decoded(Self.routeGroup), try Self.decoded(Self.http80)])
        let expected = EgressRule(policy: "curl/httpbin-80", port: 80, protocol: .http, hosts: ["httpbin.org"], routes: [EgressRoute(pathRegex: "/get")])
        #expect(try Self.policy(controller) == EgressPolicySpec(rules: [expected]))
        #expect(try Self.policy(controller, pod: "other-0") == nil)
        // A second match widens the routes (the demo's `status`).
        let wider = Self.routeGroup.replacingOccurrences(of: "    pathRegex: /get", with: "    pathRegex: /get\n  - name: status\n    pathRegex: /status.*")
        let update = controller.apply([try Self.decoded(wider)])
        #expect(update.changed.contains(PodKey("curl", "curl-0")))
        #expect(try Self.policy(controller)?.rules.first?.routes?.map(\.pathRegex) == ["/get", "/status.*"])
        // The Egress deleted: no rules, the config says so.
        _ = controller.apply([.delete(ResourceKey(kind: .egress, namespace: "curl", name: "httpbin-80"))])
        #expect(try Self.policy(controller) == nil)
    }

    @Test func withoutTheFeatureFlagNothingIsComputed() throws {
        let controller = Self.cluster(flag: false, [try Self.decoded(Self.http80)])
        #expect(try Self.policy(controller) == nil)
    }

    @Test func aMissingRouteGroupIsE2004AndAllowsNoRequest() throws {
        let controller = Self.cluster([try Self.decoded(Self.http80)])
        #expect(try Self.policy(controller)?.rules.first?.routes == [])
        #expect(controller.diagnostics.contains { $0.code.code == "E2004" && $0.text.contains("curl/egress-http-route") })
    }

    @Test func anInvalidRangeIsE2002AndTheRestApplies() throws {
        let controller = Self.cluster([try Self.decoded(Self.tcp443)])
        #expect(try Self.policy(controller)?.rules == [EgressRule(policy: "curl/tcp-443", port: 443, protocol: .tcp, ipRanges: ["203.0.113.0/24"])])
        #expect(controller.diagnostics.contains { $0.code.code == "E2002" && $0.text.contains("not-a-range") })
    }

    @Test func aConflictingPortIsE2000AndTheOlderPolicyWins() throws {
        let controller = Self.cluster([try Self.decoded(Self.tcp443), try Self.decoded(Self.https443)])
        #expect(try Self.policy(controller)?.rules.map(\.policy) == ["curl/tcp-443"])
        #expect(controller.diagnostics.contains { $0.code.code == "E2000" && $0.text.contains("curl/httpbin-443") })
    }

    @Test func anUpstreamTrafficSettingMatchBringsItsLimitsWhenItsHostIsTheEgresss() throws {
        let setting = """
        apiVersion: policy.flomesh.io/v1alpha1
        kind: UpstreamTrafficSetting
        metadata: {name: httpbin-external, namespace: curl}
        spec:
          host: httpbin.org
          connectionSettings:
            tcp: {maxConnections: 1}
        """
        let egress = Self.http80.replacingOccurrences(of: "kind: HTTPRouteGroup\n    name: egress-http-route",
                                                      with: "kind: UpstreamTrafficSetting\n    name: httpbin-external")
        let controller = Self.cluster([try Self.decoded(setting), try Self.decoded(egress)])
        #expect(try Self.policy(controller)?.rules.first?.connectionSettings?.tcp.maxConnections == 1)
        let wrongHost = Self.cluster([try Self.decoded(setting.replacingOccurrences(of: "host: httpbin.org", with: "host: flomesh.io")), try Self.decoded(egress)])
        #expect(try Self.policy(wrongHost)?.rules.first?.connectionSettings == nil)
        #expect(wrongHost.diagnostics.contains { $0.code.code == "E2003" })
    }

    @Test func theRulesSurviveTheConfigJSON() throws {
        let controller = Self.cluster([try Self.decoded(Self.routeGroup), try Self.decoded(Self.http80), try Self.decoded(Self.tcp443)])
        let config = try #require(controller.config(for: PodKey("curl", "curl-0")))
        let back = try ProxyConfig(jsonText: config.jsonValue.rendered())
        #expect(back.spec.egressPolicy == config.spec.egressPolicy)
    }

    @Test func malformedEgressesAreRefusedWithTheirPlace() {
        let cases: [(String, String)] = [
            (Self.http80.replacingOccurrences(of: "protocol: http", with: "protocol: udp"), "egress.yaml:15:"),
            (Self.http80.replacingOccurrences(of: "- httpbin.org", with: "- \"httpbin org\""), "egress.yaml:12:"),
            (Self.http80.replacingOccurrences(of: "kind: ServiceAccount", with: "kind: Service"), "egress.yaml:8:11: spec.sources[0].kind"),
            (Self.tcp443.replacingOccurrences(of: "ports: [{number: 443, protocol: tcp}]", with: "hosts: [httpbin.org]"), "ports"),
        ]
        for (yaml, fragment) in cases {
            #expect(throws: ManifestError.self) { try ManifestDecoder.decode(yaml, file: "egress.yaml") }
            do { _ = try ManifestDecoder.decode(yaml, file: "egress.yaml") } catch { #expect(error.description.contains(fragment), "\(error.description)") }
        }
    }
}
