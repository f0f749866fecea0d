import MeshModel
import MeshProxy
import Testing

@Suite struct ProbeResponderTests {
    let responder = ProbeResponder(probes: [
        SidecarProbe(kind: .liveness, target: .http(port: 14001, path: "/liveness?full=1"), timeoutSeconds: 2),
        SidecarProbe(kind: .readiness, target: .https(port: 8443)),
        SidecarProbe(kind: .startup, target: .tcp(port: 14001)),
        SidecarProbe(kind: .readiness, target: .tcp(port: 5432), timeoutSeconds: 3),
        // A second HTTP liveness probe (another container): 15901 serves the first.
        SidecarProbe(kind: .liveness, target: .http(port: 9000, path: "/other")),
    ])

    @Test func listenersFollowTheProbes() {
        #expect(responder.listeners == [.http(port: 15901), .relay(port: 15902, to: 8443, connectTimeout: .seconds(1)), .http(port: 15904)])
        #expect(ProbeResponder(probes: []).listeners.isEmpty)
    }

    @Test func httpProbesAreForwardedToTheOriginalEndpoint() {
        #expect(responder.request(port: 15901, method: "GET", path: "/fsm-liveness-probe", originalTCPPort: [])
            == .forward(port: 14001, path: "/liveness?full=1", timeout: .seconds(2)))
        #expect(responder.request(port: 15901, method: "GET", path: "/liveness", originalTCPPort: []) == .respond(.init(status: 404, body: "the liveness probe is /fsm-liveness-probe\n")))
        #expect(responder.request(port: 15901, method: "POST", path: "/fsm-liveness-probe", originalTCPPort: []) == .respond(.init(status: 405, body: "probe endpoints answer GET only\n")))
        #expect(responder.request(port: 15903, method: "GET", path: "/fsm-startup-probe", originalTCPPort: []) == .respond(.init(status: 404, body: "no HTTP probe is served on port 15903\n")))
    }

    @Test func theAppsAnswerOrSilenceBecomesTheProbesAnswer() {
        #expect(responder.forwarded(.answered(status: 500, contentType: "text/html", body: "down"), port: 14001) == .init(status: 500, contentType: "text/html", body: "down"))
        #expect(responder.forwarded(.connectFailed("connection refused"), port: 14001).status == 503)
        #expect(responder.forwarded(.timedOut, port: 14001) == .init(status: 503, body: "the app's probe on port 14001 did not answer in time\n"))
        let long = String(repeating: "x", count: ProbeResponder.maxBody + 10)
        #expect(responder.forwarded(.answered(status: 200, contentType: nil, body: long), port: 1).body.utf8.count == ProbeResponder.maxBody)
    }

    @Test func theHealthcheckConnectsOnlyToProbedPorts() {
        #expect(responder.request(port: 15904, method: "GET", path: "/fsm-healthcheck", originalTCPPort: ["14001"]) == .connect(port: 14001, timeout: .seconds(1)))
        #expect(responder.request(port: 15904, method: "GET", path: "/fsm-healthcheck", originalTCPPort: [" 5432 "]) == .connect(port: 5432, timeout: .seconds(3)))
        #expect(responder.request(port: 15904, method: "GET", path: "/fsm-healthcheck", originalTCPPort: ["22"])
            == .respond(.init(status: 403, body: "port 22 is not the port of one of this pod's tcpSocket probes\n")))
        for header in [[], ["x"], ["1", "2"], ["70000"]] {
            #expect(responder.request(port: 15904, method: "GET", path: "/fsm-healthcheck", originalTCPPort: header)
                == .respond(.init(status: 400, body: "expected one Original-Tcp-Port header naming a port\n")))
        }
        #expect(responder.connected(true, port: 14001) == .init(status: 200, body: "port 14001 accepts connections\n"))
        #expect(responder.connected(false, port: 14001) == .init(status: 503, body: "port 14001 does not accept connections\n"))
    }
}
