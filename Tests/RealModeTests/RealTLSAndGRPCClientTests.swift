import Foundation
import MeshControl
import MeshModel
@testable import MeshRealMode
import MeshShell
import MeshTesting
import NIOCore
import NIOHTTP1
import NIOPosix
import SimCore
import Testing

/// Real mode's https:// and grpc:// clients against its real tls-echo and grpc-echo apps over
/// loopback (the suite's test address block): curl's verdicts (`--cacert`, `-k`, the public roots, a name the
/// certificate lacks) and grpcurl's call, with the answers the simulator's models give.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct RealTLSAndGRPCClientTests {
    /// The suite's block (`TestAddressBlock.suite`): the echo servers' ports are fixed.
    static func address(_ host: Int) throws -> String { try TestAddressBlock.suite("RealTLSAndGRPCClientTests").address(host) }
    static var tlsEchoIP: String { get throws { try address(1) } }
    static var grpcEchoIP: String { get throws { try address(2) } }

    static func pod(_ name: String, ip: String, port: Int, spec: AppSpec, hostName: String? = nil) -> RealPod {
        let key = PodKey(namespace: "httpbin", name: "\(name)-0")
        let app = AppModelInstance(deployment: name, template: PodSpec(), spec: spec, seed: 1, podName: key.description)
        return RealPod(key: key, deployment: name, labels: [:], spec: PodSpec(), ip: ip, appPorts: [port], app: app,
                       resource: Pod(metadata: ObjectMeta(name: key.name, namespace: key.namespace), podIP: ip), appSpec: spec, hostName: hostName)
    }

    /// The tls-echo app of gateway-upstream-tls.yaml (its Secret's certificate) on the suite block's .1:8443,
    /// and an https:// GET to it with `tls`; the response, or the error and whether TLS failed.
    static func get(with tls: LoadTLS) async throws -> (response: RealHTTPConnection.Response?, tlsFailed: Bool) {
        let scenario = try RealModeTests.load("gateway-upstream-tls.yaml")
        let certificates = try RealSecretCertificates(scenario: scenario)
        let secrets = RealSecretCertificates.secretsByName(of: certificates.rewritten(scenario))
        let ip = try tlsEchoIP
        let pod = Self.pod("httpbin", ip: ip, port: 8443, spec: try #require(scenario.apps["httpbin"]))
        let server = RealAppServer(pod: pod, tcpCalls: RealTCPCallLedger(), tls: try certificates.serverContext(for: pod, secrets: secrets))
        let group = MultiThreadedEventLoopGroup.singleton
        try await server.start(group: group)
        let url = try LoadURL(parsing: "https://httpbin.httpbin:8443/headers")
        let client = try RealTLSClient(tls: tls, url: url, secrets: secrets, publicRootPEM: certificates.publicRoot.certificatePEM)
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/headers")
        head.headers.add(name: "host", value: "foo.example.com")
        var outcome: (response: RealHTTPConnection.Response?, tlsFailed: Bool) = (nil, false)
        if let connection = try? await RealHTTPConnection.connect(host: ip, port: 8443, tls: client, group: group) {
            outcome = ((try? await connection.request(head, timeout: .seconds(10))), connection.tlsFailed)
            connection.close()
        }
        await server.stop()
        return outcome
    }

    @Test func trustingTheSecretsCAGetsTheAppsAnswer() async throws {
        // gateway-upstream-tls.yaml's only https name is none: the certificate names the Host the loads send.
        let (response, tlsFailed) = try await Self.get(with: LoadTLS(sni: "foo.example.com", caSecret: "httpbin/https-cert"))
        let answer = try #require(response)
        #expect(answer.status == 200)
        #expect(answer.headers.first(name: RealAppHeaders.deployment) == "httpbin")
        #expect(!tlsFailed)
    }

    @Test func anotherCAOrTheWrongNameOrThePublicRootsFailTheHandshake() async throws {
        for tls in [LoadTLS(sni: "foo.example.com"), LoadTLS(sni: "elsewhere.example.org", caSecret: "httpbin/https-cert")] {
            let (response, tlsFailed) = try await Self.get(with: tls)
            #expect(response == nil, "\(tls)")
            #expect(tlsFailed, "\(tls)")
        }
    }

    @Test func insecureAcceptsAnyCertificate() async throws {
        let (response, tlsFailed) = try await Self.get(with: LoadTLS(sni: "elsewhere.example.org", insecure: true))
        #expect(response?.status == 200)
        #expect(!tlsFailed)
    }

    @Test func aGRPCCallGetsGRPCEchosTrailersOnlyStatusAndBody() async throws {
        let spec = AppSpec(model: .grpcEcho, body: #"{"reply": "hello Flomesh"}"#)
        let server = RealAppServer(pod: Self.pod("grpcbin", ip: try Self.grpcEchoIP, port: 9000, spec: spec), tcpCalls: RealTCPCallLedger())
        let group = MultiThreadedEventLoopGroup.singleton
        try await server.start(group: group)
        let connection = try await RealGRPCConnection.connect(host: Self.grpcEchoIP, port: 9000, bindTo: nil, group: group)
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/hello.HelloService/SayHello")
        head.headers.add(name: "host", value: "grpcbin:9000")
        head.headers.add(name: "content-type", value: "application/grpc")
        head.headers.add(name: "te", value: "trailers")
        for _ in 0..<2 {  // two streams on the one connection
            let answer = try await connection.call(head, timeout: .seconds(10))
            #expect(answer.status == 200)
            #expect(answer.headers.first(name: "grpc-status") == "0")
            #expect(answer.headers.first(name: "content-type") == "application/grpc")
            #expect(answer.body == #"{"reply": "hello Flomesh"}"#)
            #expect(GRPCStatus.of(status: answer.status, grpcStatus: answer.headers.first(name: "grpc-status")) == 0)
        }
        connection.close()
        await server.stop()
    }
}
