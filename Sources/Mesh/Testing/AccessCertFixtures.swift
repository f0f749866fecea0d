/// The guide's AccessCert (demos.md 6.7; fsm-docs `service_based_access_control.md`, encrypted
/// transfers): in `httpbin`, writing Secret `curl/curl-mtls-secret` with SAN `curl.curl.cluster.local`.
public enum AccessCertFixtures {
    public static let san = "curl.curl.cluster.local"

    public static func guide(namespace: String = "httpbin") -> String {
        """
        kind: AccessCert
        apiVersion: policy.flomesh.io/v1alpha1
        metadata:
          name: curl-mtls-cert
          namespace: \(namespace)
        spec:
          subjectAltNames:
          - \(san)
          secret:
            name: curl-mtls-secret
            namespace: curl
        """
    }
}
