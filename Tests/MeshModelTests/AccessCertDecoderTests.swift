import MeshManifest
import MeshModel
import Testing

/// AccessCert (`policy.flomesh.io/v1alpha1`, demos.md 6.7): the guide's manifest and each bad
/// field as one `file:line:column` error naming it.
@Suite struct AccessCertDecoderTests {
    static func accessCert(_ spec: String) -> String {
        "kind: AccessCert\napiVersion: policy.flomesh.io/v1alpha1\nmetadata:\n  name: curl-mtls-cert\n  namespace: httpbin\nspec:\n" + spec
    }

    func error(_ spec: String) -> String? {
        do {
            _ = try ManifestDecoder.decode(Self.accessCert(spec), file: "acct.yaml")
            return nil
        } catch {
            return error.description
        }
    }

    @Test func theGuidesManifestDecodes() throws {
        let decoded = try ManifestDecoder.decode(Self.accessCert("  subjectAltNames:\n  - curl.curl.cluster.local\n  secret:\n    name: curl-mtls-secret\n    namespace: curl\n"),
                                                 file: "acct.yaml")
        #expect(decoded.first?.resource == .accessCert(AccessCert(metadata: ObjectMeta(name: "curl-mtls-cert", namespace: "httpbin"),
                                                                  subjectAltNames: ["curl.curl.cluster.local"],
                                                                  secret: SecretReference(namespace: "curl", name: "curl-mtls-secret"))))
        #expect(decoded.first?.resource.key == ResourceKey(kind: .accessCert, namespace: "httpbin", name: "curl-mtls-cert"))
    }

    @Test func badFieldsAreNamedWithTheirPlace() {
        #expect(error("  secret: {name: s}\n") == "acct.yaml:7:3: spec.subjectAltNames: missing required field \"subjectAltNames\"")
        #expect(error("  subjectAltNames: []\n  secret: {name: s}\n") == "acct.yaml:7:20: spec.subjectAltNames: must have at least one element")
        #expect(error("  subjectAltNames: [Curl_Host]\n  secret: {name: s}\n")?.hasPrefix("acct.yaml:7:21: spec.subjectAltNames[0]: expected a DNS name") == true)
        #expect(error("  subjectAltNames: [a.b.c, a.b.c]\n  secret: {name: s}\n") == "acct.yaml:7:28: spec.subjectAltNames[1]: subject alternative name \"a.b.c\" is listed twice")
        #expect(error("  subjectAltNames: [a.b.c]\n") == "acct.yaml:7:3: spec.secret: missing required field \"secret\"")
        #expect(error("  subjectAltNames: [a.b.c]\n  secret: {namespace: curl}\n") == "acct.yaml:8:11: spec.secret.name: missing required field \"name\"")
        #expect(error("  subjectAltNames: [a.b.c]\n  secret: {name: s, namespace: Bad_NS}\n")?.contains("spec.secret.namespace: invalid namespace \"Bad_NS\"") == true)
        #expect(error("  subjectAltNames: [a.b.c]\n  secret: {name: s, key: tls.crt}\n")?.contains("spec.secret.key") == true)
    }

    @Test func theFeatureFlagIsReadFromTheMeshConfig() throws {
        let text = "apiVersion: config.flomesh.io/v1alpha3\nkind: MeshConfig\nmetadata: {name: fsm-mesh-config}\nspec:\n  featureFlags:\n    enableAccessCertPolicy: true\n"
        guard case .meshConfig(let config)? = try ManifestDecoder.decode(text, file: "mc.yaml").first?.resource else {
            Issue.record("not a MeshConfig")
            return
        }
        #expect(config.featureFlags.enableAccessCertPolicy)
        #expect(!MeshConfig(metadata: ObjectMeta(name: "x")).featureFlags.enableAccessCertPolicy)
    }
}
