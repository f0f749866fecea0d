import Foundation
import MeshControlPlane
import MeshIdentity
import MeshModel
import MeshRuntime
import MeshShell
import MeshTestCA
import MeshTesting
import NIOCore
import Testing

/// AccessCert end to end on real sockets (demos.md 6.7, the mTLS variant): `fsm controller` on a
/// manifest directory issues the guide's certificate into its Secret directory (key 0600), and a
/// plain TLS client outside the mesh presenting it reaches the app through a meshed pod's inbound
/// under an AccessControl naming its SAN; without it, or with another name, it does not. (On
/// loopback the target port travels in `x-fsm-target-port`, where capture gives the original
/// destination.)
/// Addresses: 127.77.48.x.
@Suite(.timeLimit(.minutes(1)))
struct AccessCertBorderTests {
    static let san = AccessCertFixtures.san

    static let manifests = """
    apiVersion: config.flomesh.io/v1alpha3
    kind: MeshConfig
    metadata:
      name: fsm-mesh-config
    spec:
      featureFlags:
        enableAccessCertPolicy: true
    ---
    \(AccessCertFixtures.guide())
    """

    /// The echo server's inbound, admitting the AccessCert's SAN (what the controller makes of an
    /// AccessControl with an `AuthenticatedPrincipal` source, `AccessControlTests`).
    static func serverConfig(serverIP: String) -> ProxyConfig {
        var config = MeshPair.serverConfig(serverIP: serverIP, rules: [RouteRule(pathRegex: ".*", targetClusters: [], allowedServices: ["nobody.default.cluster.local"])])
        let local = [WeightedCluster(name: "default/echo|8080|local", weight: 100)]
        config.inbound.trafficMatches[0].accessControl = InboundAccessControl(authenticatedPrincipals: [san], targetClusters: local)
        return config
    }

    /// Runs the controller until the Secret directory is written; returns its files' contents.
    static func issue(into root: URL) async throws -> AccessCertMaterial {
        let manifestDirectory = root.appendingPathComponent("manifests")
        try FileManager.default.createDirectory(at: manifestDirectory, withIntermediateDirectories: true)
        try Data(manifests.utf8).write(to: manifestDirectory.appendingPathComponent("access.yaml"))
        var settings = ControllerSettings(host: "127.0.0.1", port: 0, pollInterval: .milliseconds(100), certificateAuthority: TestCA.shared.authority)
        let store = AccessCertFileStore(root: root.appendingPathComponent("secrets").path, logger: MeshPair.quietLogger)
        settings.accessCertStore = store
        let controller = try await ControllerServer.start(manifests: manifestDirectory.path, settings: settings, logger: MeshPair.quietLogger)
        let directory = store.directory(of: SecretReference(namespace: "curl", name: "curl-mtls-secret"))
        try await waitFor(seconds: 5) { FileManager.default.fileExists(atPath: directory + "/owner") }
        await controller.shutdown()
        func text(_ name: String) throws -> String { try String(contentsOfFile: directory + "/" + name, encoding: .utf8) }
        let keyMode = try FileManager.default.attributesOfItem(atPath: directory + "/tls.key")[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        let directoryMode = try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int
        #expect(directoryMode == 0o700)
        return AccessCertMaterial(caPEM: try text("ca.crt"), certificatePEM: try text("tls.crt"), privateKeyPEM: try text("tls.key"))
    }

    @Test func aClientPresentingTheIssuedCertificateIsAdmittedAndOthersAreNot() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("accesscert-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: root) }
        let material = try await Self.issue(into: root)
        #expect(material.caPEM == TestCA.shared.rootPEM)
        let block = try TestAddressBlock.lease()
        try await MeshPair.run(block: block, server: Self.serverConfig(serverIP: block.address(2))) { mesh in
            let admitted = try await TLSTestClient.exchange(host: mesh.serverIP, certificatePEM: material.certificatePEM, privateKeyPEM: material.privateKeyPEM,
                                                            trusting: material.caPEM, request: "GET /with-cert HTTP/1.1\r\nhost: echo:8080\r\nx-fsm-target-port: 8080\r\nconnection: close\r\n\r\n")
            #expect(admitted.text.hasPrefix("HTTP/1.1 200"), "\(admitted.text)")
            // Without a certificate: plaintext is refused at the border.
            let plain = try await RawClient.exchange(host: mesh.serverIP, port: 15003, bytes: "GET /plain HTTP/1.1\r\nhost: echo:8080\r\nx-fsm-target-port: 8080\r\n\r\n")
            #expect(!plain.contains("HTTP/1.1"))
            // A mesh certificate with another name takes the port's policy, which admits nobody.
            let other = try await TLSTestClient.exchange(host: mesh.serverIP, certificate: try TestCA.shared.issue("other.curl.cluster.local"),
                                                         request: "GET /other HTTP/1.1\r\nhost: echo:8080\r\nx-fsm-target-port: 8080\r\nconnection: close\r\n\r\n")
            #expect(other.text.hasPrefix("HTTP/1.1 403"), "\(other.text)")
            #expect(mesh.app.seenHeaders.count == 1)
        }
    }
}
