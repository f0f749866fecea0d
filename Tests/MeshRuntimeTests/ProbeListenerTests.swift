import Foundation
import MeshModel
import MeshRuntime
import NIOCore
import Testing

/// The kubelet's rewritten probes against a real sidecar and app (fsm-guides.txt 5): the sidecar
/// asks the app's original endpoint and answers with its status; `/fsm-healthcheck` on 15904
/// answers whether the `Original-Tcp-Port` accepts connections (a test address block each).
@Suite(.timeLimit(.minutes(2)))
struct ProbeListenerTests {
    static let app = MeshPair.appPort
    /// Nothing listens here on the probe tests' pod addresses.
    static let closedPort = 59_999

    static func get(_ host: String, _ port: Int, _ path: String, headers: [(String, String)] = []) async throws -> MeshHTTPResponse {
        try await MeshHTTP.request(host: host, port: port, path: path, headers: headers, timeout: .seconds(10))
    }

    @Test func httpProbesAnswerWithTheAppsStatus() async throws {
        let probes = [
            SidecarProbe(kind: .liveness, target: .http(port: Self.app, path: "/liveness")),
            SidecarProbe(kind: .readiness, target: .http(port: Self.app, path: "/status/503")),
            SidecarProbe(kind: .startup, target: .https(port: Self.app)),
        ]
        try await MeshPair.run(tuneServer: { $0.probes = probes }) { mesh in
            let live = try await Self.get(mesh.serverIP, 15901, "/fsm-liveness-probe")
            #expect(live.status == 200)
            #expect(live.body == "GET /liveness ")
            // The readiness probe: the app's 503 is the probe's answer.
            let ready = try await Self.get(mesh.serverIP, 15902, "/fsm-readiness-probe")
            #expect(ready.status == 503)
            #expect(ready.body == "GET /status/503 ")
            #expect(try await Self.get(mesh.serverIP, 15901, "/other").status == 404)
            // HTTPS probes are relayed byte for byte: whatever the kubelet says reaches the app.
            let relayed = try await Self.get(mesh.serverIP, 15903, "/secure")
            #expect(relayed.status == 200)
            #expect(relayed.body == "GET /secure ")
            #expect(relayed.header("x-app") == "echo")
            // No tcpSocket probe: no healthcheck port.
            await #expect(throws: (any Error).self) { _ = try await Self.get(mesh.serverIP, 15904, "/fsm-healthcheck") }
        }
    }

    @Test func anAppThatDoesNotAnswerInTimeFailsTheProbe() async throws {
        let probes = [SidecarProbe(kind: .liveness, target: .http(port: Self.app, path: "/slow/4000"), timeoutSeconds: 1),
                      SidecarProbe(kind: .readiness, target: .http(port: Self.closedPort, path: "/ready"))]
        try await MeshPair.run(tuneServer: { $0.probes = probes }) { mesh in
            let started = ContinuousClock.now
            let slow = try await Self.get(mesh.serverIP, 15901, "/fsm-liveness-probe")
            #expect(slow.status == 503)
            #expect(slow.body == "the app's probe on port \(Self.app) did not answer in time\n")
            #expect(ContinuousClock.now - started < .seconds(3))
            let refused = try await Self.get(mesh.serverIP, 15902, "/fsm-readiness-probe")
            #expect(refused.status == 503)
            #expect(refused.body.hasPrefix("the app's probe port \(Self.closedPort) did not accept the connection"))
            let stats = parseStats(try await mesh.admin(mesh.serverIP, "/stats").body)
            #expect(stats["runtime.probe.app_unavailable"] == 2)
        }
    }

    @Test func theHealthcheckAnswers200WhenThePortAcceptsAnd503WhenNot() async throws {
        let probes = [SidecarProbe(kind: .liveness, target: .tcp(port: Self.app)), SidecarProbe(kind: .readiness, target: .tcp(port: Self.closedPort))]
        try await MeshPair.run(tuneServer: { $0.probes = probes }) { mesh in
            let open = try await Self.get(mesh.serverIP, 15904, "/fsm-healthcheck", headers: [("Original-Tcp-Port", "\(Self.app)")])
            #expect(open.status == 200)
            #expect(open.body == "port \(Self.app) accepts connections\n")
            let closed = try await Self.get(mesh.serverIP, 15904, "/fsm-healthcheck", headers: [("Original-Tcp-Port", "\(Self.closedPort)")])
            #expect(closed.status == 503)
            // Only the pod's own probe ports may be checked; the header is required.
            #expect(try await Self.get(mesh.serverIP, 15904, "/fsm-healthcheck", headers: [("Original-Tcp-Port", "15000")]).status == 403)
            #expect(try await Self.get(mesh.serverIP, 15904, "/fsm-healthcheck").status == 400)
            // No HTTP probe: 15901-15903 are not listening.
            await #expect(throws: (any Error).self) { _ = try await Self.get(mesh.serverIP, 15901, "/fsm-liveness-probe") }
        }
    }
}
