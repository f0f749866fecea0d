import MeshControl
import MeshManifest
import MeshModel
import MeshTesting
import Testing

/// AccessControl (guides 7.2, demos.md 6.7) from its YAML to the server's inbound config: which
/// clients outside the mesh a port admits, following the source Service's pods.
@Suite struct AccessControlTests {
    static let serviceBased = """
    kind: AccessControl
    apiVersion: policy.flomesh.io/v1alpha1
    metadata:
      name: httpbin
      namespace: httpbin
    spec:
      backends:
      - name: httpbin
        port:
          number: 14001 # targetPort of httpbin service
          protocol: http
      sources:
      - kind: Service
        namespace: curl
        name: curl
    """

    static func decoded(_ yaml: String) throws -> ResourceChange {
        let resources = try ManifestDecoder.decode(yaml, file: "acl.yaml")
        return .upsert(try #require(resources.first).resource)
    }

    /// httpbin meshed in `httpbin`; curl outside the mesh with a Service `curl` (demos.md 6.7).
    static func cluster(flag: Bool = true, _ extra: [ResourceChange] = []) -> MeshController {
        var config = ClusterFixtures.permissive()
        config.featureFlags.enableAccessControlPolicy = flag
        var controller = MeshController(meshConfig: config)
        _ = controller.apply([
            ClusterFixtures.namespace("httpbin"),
            ClusterFixtures.namespace("curl", monitored: false, injection: nil),
            ClusterFixtures.service("httpbin", "httpbin", selector: ["app": "httpbin"], clusterIP: "10.96.0.20"),
            ClusterFixtures.pod("httpbin-0", "httpbin", serviceAccount: "httpbin", labels: ["app": "httpbin"], ip: "10.244.0.20"),
            ClusterFixtures.service("curl", "curl", port: 80, selector: ["app": "curl"], clusterIP: "10.96.0.21"),
            ClusterFixtures.pod("curl-0", "curl", serviceAccount: "curl", labels: ["app": "curl"], ip: "10.244.0.21"),
        ] + extra)
        return controller
    }

    static func admission(_ controller: MeshController) throws -> InboundAccessControl? {
        let server = try #require(controller.config(for: PodKey("httpbin", "httpbin-0")))
        return try #require(server.inbound.trafficMatches.first { $0.port == 14001 }).accessControl
    }

    @Test func aServiceSourceAdmitsItsPodsAddresses() throws {
        var controller = Self.cluster([try Self.decoded(Self.serviceBased)])
        let expected = InboundAccessControl(sourceIPRanges: ["10.244.0.21/32"], targetClusters: [WeightedCluster(name: "httpbin/httpbin|14001|local", weight: 100)])
        #expect(try Self.admission(controller) == expected)
        // A second curl pod joins the source.
        let update = controller.apply([ClusterFixtures.pod("curl-1", "curl", serviceAccount: "curl", labels: ["app": "curl"], ip: "10.244.0.22")])
        #expect(update.changed.contains(PodKey("httpbin", "httpbin-0")))
        #expect(try Self.admission(controller)?.sourceIPRanges == ["10.244.0.21/32", "10.244.0.22/32"])
        // Deleting the AccessControl closes the border again.
        _ = controller.apply([.delete(ResourceKey(kind: .accessControl, namespace: "httpbin", name: "httpbin"))])
        #expect(try Self.admission(controller) == nil)
    }

    @Test func theFeatureFlagIsRequired() throws {
        let controller = Self.cluster(flag: false, [try Self.decoded(Self.serviceBased)])
        #expect(try Self.admission(controller) == nil)
    }

    @Test func ipRangesAndPrincipals() throws {
        let control = try Self.decoded("""
        kind: AccessControl
        apiVersion: policy.flomesh.io/v1alpha1
        metadata: { name: httpbin, namespace: httpbin }
        spec:
          backends:
          - { name: httpbin, port: { number: 14001, protocol: http } }
          sources:
          - { kind: IPRange, name: 10.244.0.21/32 }
          - { kind: AuthenticatedPrincipal, name: curl.curl.cluster.local }
        """)
        let controller = Self.cluster([control])
        let admission = try #require(try Self.admission(controller))
        #expect(admission.sourceIPRanges == ["10.244.0.21/32"])
        #expect(admission.authenticatedPrincipals == ["curl.curl.cluster.local"])
        let json = try #require(controller.config(for: PodKey("httpbin", "httpbin-0"))).renderedJSON(pretty: false)
        #expect(json.contains(#""AccessControl":{"SourceIPRanges":["10.244.0.21/32"],"AuthenticatedPrincipals":["curl.curl.cluster.local"],"TargetClusters":{"httpbin/httpbin|14001|local":100}}"#))
    }

    @Test func backendsMustNameTheServiceAndItsTargetPort() throws {
        let otherPort = try Self.decoded(Self.serviceBased.replacing("number: 14001", with: "number: 8080"))
        #expect(try Self.admission(Self.cluster([otherPort])) == nil)
        let otherService = try Self.decoded(Self.serviceBased.replacing("- name: httpbin", with: "- name: other"))
        #expect(try Self.admission(Self.cluster([otherService])) == nil)
        // No backends: every service of the namespace.
        let everything = try Self.decoded("""
        kind: AccessControl
        apiVersion: policy.flomesh.io/v1alpha1
        metadata: { name: all, namespace: httpbin }
        spec:
          sources: [{ kind: IPRange, name: 192.0.2.0/24 }]
        """)
        #expect(try Self.admission(Self.cluster([everything]))?.sourceIPRanges == ["192.0.2.0/24"])
    }

    @Test func aSourceServiceWithoutEndpointsIsReported() throws {
        let missing = try Self.decoded(Self.serviceBased.replacing("name: curl", with: "name: nobody"))
        let controller = Self.cluster([missing])
        #expect(try Self.admission(controller)?.sourceIPRanges == [])
        #expect(controller.diagnostics.contains { $0.code.code == "E2003" && $0.text.contains("curl/nobody has no endpoints") })
    }

    @Test func malformedAccessControlsNameTheirLine() {
        let cases: [(String, String, String)] = [
            ("- { kind: IPRange, name: 10.0.0.300/32 }", "spec.sources[0].name", "CIDR"),
            ("- { kind: Pod, name: curl }", "spec.sources[0].kind", "Service"),
            ("- { kind: Service, name: Curl_1 }", "spec.sources[0].name", "DNS-1035"),
            ("- { kind: AuthenticatedPrincipal, name: \"a b\" }", "spec.sources[0].name", "identity"),
        ]
        for (source, path, message) in cases {
            let yaml = "kind: AccessControl\napiVersion: policy.flomesh.io/v1alpha1\nmetadata: { name: a, namespace: n }\nspec:\n  sources:\n  \(source)\n"
            do {
                _ = try ManifestDecoder.decode(yaml, file: "acl.yaml")
                Issue.record("\(source) should not decode")
            } catch {
                #expect(error.path == path, "\(source)")
                #expect(error.line == 6)
                #expect(error.message.contains(message), "\(error.message)")
            }
        }
        for (spec, path) in [("  sources: []\n", "spec.sources"), ("  backends: [{ name: a, port: { number: 0, protocol: http } }]\n  sources: [{ kind: IPRange, name: 1.2.3.4/32 }]\n", "spec.backends[0].port.number"),
                             ("  backends: [{ name: a, port: { number: 80, protocol: udp } }]\n  sources: [{ kind: IPRange, name: 1.2.3.4/32 }]\n", "spec.backends[0].port.protocol")] {
            let yaml = "kind: AccessControl\napiVersion: policy.flomesh.io/v1alpha1\nmetadata: { name: a, namespace: n }\nspec:\n" + spec
            do {
                _ = try ManifestDecoder.decode(yaml, file: "acl.yaml")
                Issue.record("\(spec) should not decode")
            } catch {
                #expect(error.path == path, "\(error)")
            }
        }
    }
}
