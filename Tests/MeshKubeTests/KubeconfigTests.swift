import Foundation
import MeshKube
import MeshModel
import MeshTestCA
import Testing

/// kubeconfig files: every supported auth form, and one exact line for every kind of bad file.
@Suite struct KubeconfigTests {
    static let pem = TestCA.shared.rootPEM
    static var pemBase64: String { Data(pem.utf8).base64EncodedString() }

    /// A temporary directory holding `files`; the kubeconfig's path is returned with it.
    static func directory(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kubeconfig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, text) in files { try Data(text.utf8).write(to: directory.appendingPathComponent(name)) }
        return directory
    }

    static func config(user: String, cluster: String = "    server: https://10.0.0.1:6443\n    certificate-authority-data: \(pemBase64)", current: String = "current-context: dev") -> String {
        """
        apiVersion: v1
        kind: Config
        \(current)
        clusters:
        - name: kind
          cluster:
        \(cluster)
        contexts:
        - name: dev
          context:
            cluster: kind
            user: admin
            namespace: bookstore
        - name: ops
          context:
            cluster: kind
        users:
        - name: admin
          user:
        \(user)

        """
    }

    @Test func aBearerTokenWithCAData() throws {
        let connection = try Kubeconfig.parse(Self.config(user: "    token: abc.def"), file: "/k/config")
        #expect(connection.server == "https://10.0.0.1:6443")
        #expect(connection.trust == .certificateAuthority(pem: Array(Self.pem.utf8)))
        #expect(connection.credentials == .bearerToken("abc.def"))
        #expect(connection.namespace == "bookstore")
        #expect(connection.origin == "kubeconfig /k/config context dev")
    }

    @Test func aClientCertificateAndKeyAsData() throws {
        let connection = try Kubeconfig.parse(Self.config(user: "    client-certificate-data: \(Self.pemBase64)\n    client-key-data: \(Self.pemBase64)"), file: "/k/config")
        #expect(connection.credentials == .clientCertificate(certificatePEM: Array(Self.pem.utf8), keyPEM: Array(Self.pem.utf8)))
    }

    @Test func filesAreReadRelativeToTheKubeconfig() throws {
        let directory = try Self.directory([
            "ca.crt": Self.pem, "client.crt": Self.pem, "client.key": Self.pem, "token": "rotating-token\n",
            "config": Self.config(user: "    client-certificate: client.crt\n    client-key: client.key",
                                  cluster: "    server: https://10.0.0.1:6443\n    certificate-authority: ca.crt"),
            "token-config": Self.config(user: "    tokenFile: token"),
        ])
        defer { try? FileManager.default.removeItem(at: directory) }
        let connection = try Kubeconfig.load(path: directory.appendingPathComponent("config").path)
        #expect(connection.trust == .certificateAuthority(pem: Array(Self.pem.utf8)))
        #expect(connection.credentials == .clientCertificate(certificatePEM: Array(Self.pem.utf8), keyPEM: Array(Self.pem.utf8)))
        let tokenConnection = try Kubeconfig.load(path: directory.appendingPathComponent("token-config").path)
        #expect(tokenConnection.credentials == .bearerTokenFile(directory.appendingPathComponent("token").path))
    }

    @Test func insecureSkipVerifyAndAnotherContext() throws {
        let text = Self.config(user: "    token: t", cluster: "    server: https://10.0.0.1:6443\n    insecure-skip-tls-verify: true")
        let connection = try Kubeconfig.parse(text, file: "/k/config", context: "ops")
        #expect(connection.trust == .insecureSkipVerify)
        #expect(connection.credentials == KubeCredentials.none, "the ops context names no user")
        #expect(connection.namespace == nil)
    }

    @Test func inClusterReadsTheServiceAccountMount() throws {
        let directory = try Self.directory(["token": "sa-token\n", "ca.crt": Self.pem, "namespace": "fsm-system\n"])
        defer { try? FileManager.default.removeItem(at: directory) }
        let connection = try KubeConnection.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"],
                                                      directory: directory.path)
        #expect(connection.server == "https://10.96.0.1:443")
        #expect(connection.credentials == .bearerTokenFile(directory.appendingPathComponent("token").path))
        #expect(connection.namespace == "fsm-system")
        #expect(throws: KubeError(.configuration, request: "in-cluster configuration",
                                  message: "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: not running in a pod; give --kubeconfig FILE")) {
            try KubeConnection.inCluster(environment: [:], directory: directory.path)
        }
    }

    /// Each bad file gives exactly this line.
    @Test(arguments: [
        (config(user: "    token: t", current: "current-context: \"\""), "/k/config:1:1: no current-context is set; give --context NAME"),
        (config(user: "    token: t", current: "current-context: prod"), "/k/config:10:1: contexts: no context named \"prod\"; defined: dev, ops"),
        (config(user: "    client-certificate-data: bm90IHBlbQ==\n    client-key-data: \(pemBase64)"),
         "/k/config:21:30: users[0].user.client-certificate-data: the base64 decodes to something that is not PEM (no -----BEGIN line)"),
        (config(user: "    client-key-data: \"%%%\""), "/k/config:21:22: users[0].user.client-key-data: expected the base64 of a PEM file"),
        (config(user: "    client-certificate-data: \(pemBase64)"), "/k/config:21:5: users[0].user: a client certificate needs client-key or client-key-data"),
        (config(user: "    exec:\n      command: aws"), "/k/config:22:7: users[0].user.exec: exec credentials are not supported; use a token, tokenFile or a client certificate and key"),
        (config(user: "    token: t", cluster: "    server: 10.0.0.1:6443"), "/k/config:7:13: clusters[0].cluster.server: expected an https:// URL of the API server, found \"10.0.0.1:6443\""),
        (config(user: "    tokenFile: /nonexistent/token"), "/k/config:21:16: users[0].user.tokenFile: cannot read the token file /nonexistent/token"),
        (config(user: "    token: t", cluster: "    certificate-authority-data: \(pemBase64)"), "/k/config:7:5: clusters[0].cluster.server: missing required field \"server\""),
        ("- a list\n", "/k/config:1:1: expected a kubeconfig (a mapping with clusters, users, contexts), found a sequence"),
        ("clusters: [\n", "/k/config:2:1: YAML syntax error: did not find expected node content (while parsing a flow node at line 2, column 1)"),
    ])
    func aBadKubeconfigIsOneLineNamingFileAndField(text: String, expected: String) {
        do {
            _ = try Kubeconfig.parse(text, file: "/k/config")
            Issue.record("expected: \(expected)")
        } catch {
            #expect(error.description == expected)
        }
    }

    @Test func anUnreadableKubeconfigNamesTheFile() {
        #expect(throws: KubeError(.configuration, request: "/nonexistent/config", message: "cannot read the kubeconfig file")) {
            try Kubeconfig.load(path: "/nonexistent/config")
        }
    }
}
