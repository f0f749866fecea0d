import Foundation
import MeshModel
import MeshRuntime
import MeshShell
import MeshTestCA
import MeshTesting
import NIOCore
import Testing

/// `fsm gateway` as a user runs it (on a leased block): the real `fsm controller` watching a manifest
/// directory with a Gateway of every listener kind, the real `fsm demo-app httpbin` behind it, a
/// gateway credential from `fsm credential --gateway`, then `fsm gateway`; NIO clients check the
/// guides' outcomes (F2-010 404 before a route and 200 after, F2-011 Host routing, F2-016 TCP,
/// F2-017 TLS termination by SNI, F2-018 passthrough, F2-020 UDP). The TLS and UDP backends are
/// in-process servers at the pod addresses the manifests give.
@Suite(.timeLimit(.minutes(2)))
struct GatewayCommandTests {
    /// Host `host` of the suite's block (`TestAddressBlock.suite`): the controller's, the
    /// gateway's and the backends' ports are fixed.
    static func address(_ host: Int) throws -> String { try TestAddressBlock.suite("GatewayCommandTests").address(host) }
    static var controllerIP: String { get throws { try address(1) } }
    static var httpbinIP: String { get throws { try address(2) } }
    static var tlsBackendIP: String { get throws { try address(3) } }
    static var udpBackendIP: String { get throws { try address(4) } }
    static var mirrorIP: String { get throws { try address(5) } }
    static var grpcIP: String { get throws { try address(6) } }
    static var secureIP: String { get throws { try address(7) } }
    static var gatewayIP: String { get throws { try address(10) } }

    /// A long-running `fsm` subcommand, its output in a file; stopped with SIGTERM.
    final class Running: Sendable {
        let process: SpawnedProcess
        let output: URL

        init(_ arguments: [String], output: URL) throws {
            self.output = output
            process = try SpawnedProcess.spawn(ProcessLaunch(try #require(TestExecutables.path(of: "fsm"), "the fsm executable is not built"), arguments,
                                                             standardOutput: .file(output.path, append: false), standardError: .standardOutput))
        }

        var log: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

        /// SIGTERM; SIGKILL only when it is still there after the graceful shutdown's 30 s.
        func stop() {
            process.terminate(grace: .seconds(35))
        }
    }

    static func run(_ arguments: [String]) throws -> Int32 {
        let launch = ProcessLaunch(try #require(TestExecutables.path(of: "fsm")), arguments, standardOutput: .null, standardError: .inherit)
        return try SpawnedProcess.run(launch, timeout: .seconds(60)).termination.shellStatus
    }

    static func tlsSecret(_ name: String, _ certificate: GatewayConfig.Certificate) -> String {
        func block(_ pem: String) -> String { pem.split(separator: "\n").map { "    \($0)" }.joined(separator: "\n") }
        return """
        apiVersion: v1
        kind: Secret
        metadata: {name: \(name), namespace: httpbin}
        type: kubernetes.io/tls
        stringData:
          tls.crt: |
        \(block(certificate.certificatePEM))
          tls.key: |
        \(block(certificate.privateKeyPEM))

        """
    }

    /// A generic Secret holding the test CA as `ca.crt` (UpstreamTLSPolicy's certificateRef).
    static func caSecret(_ name: String) -> String {
        """
        apiVersion: v1
        kind: Secret
        metadata: {name: \(name), namespace: httpbin}
        stringData:
          ca.crt: |
        \(TestCA.shared.rootPEM.split(separator: "\n").map { "    \($0)" }.joined(separator: "\n"))

        """
    }

    static func pod(_ name: String, app: String, ip: String) -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: \(name), namespace: httpbin, labels: {app: \(app)}}
        spec: {containers: [{name: \(app), image: \(app)}]}
        status: {podIP: \(ip)}

        """
    }

    static let gateway = """
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: {name: simple-fsm-gateway, namespace: httpbin}
    spec:
      gatewayClassName: fsm-gateway-cls
      listeners:
      - {protocol: HTTP, port: 8000, name: http, allowedRoutes: {namespaces: {from: Same}}}
      - {protocol: HTTPS, port: 8443, name: https-foo, hostname: foo.example.com, tls: {mode: Terminate, certificateRefs: [{name: foo-cert}]}}
      - {protocol: HTTPS, port: 8443, name: https-bar, hostname: bar.example.com, tls: {mode: Terminate, certificateRefs: [{name: bar-cert}]}}
      - {protocol: TLS, port: 9443, name: pass, tls: {mode: Passthrough}}
      - {protocol: TCP, port: 8001, name: tcp}
      - {protocol: UDP, port: 8002, name: udp}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: httpbin, namespace: httpbin}
    spec: {selector: {app: httpbin}, ports: [{protocol: TCP, port: 8080, targetPort: 14001}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: tls-backend, namespace: httpbin}
    spec: {selector: {app: tls-backend}, ports: [{protocol: TCP, port: 443, targetPort: 9443}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: fortio, namespace: httpbin}
    spec: {selector: {app: fortio}, ports: [{protocol: UDP, port: 8078, name: udp-8078}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: mirror, namespace: httpbin}
    spec: {selector: {app: mirror}, ports: [{protocol: TCP, port: 8080, targetPort: 14002}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: grpcbin, namespace: httpbin}
    spec: {selector: {app: grpcbin}, ports: [{protocol: TCP, port: 9000, targetPort: 9000}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: httpbin-tls, namespace: httpbin}
    spec: {selector: {app: httpbin-tls}, ports: [{protocol: TCP, port: 8443, targetPort: 14443}]}
    ---
    apiVersion: gateway.flomesh.io/v1alpha1
    kind: UpstreamTLSPolicy
    metadata: {name: upstream-tls-policy-sample, namespace: httpbin}
    spec:
      targetRef: {group: "", kind: Service, name: httpbin-tls, namespace: httpbin}
      ports: [{port: 8443, config: {certificateRef: {namespace: httpbin, name: https-cert}, mTLS: false}}]
    ---
    apiVersion: gateway.networking.k8s.io/v1alpha2
    kind: TCPRoute
    metadata: {name: tcp-route, namespace: httpbin}
    spec:
      parentRefs: [{name: simple-fsm-gateway, port: 8001}]
      rules: [{backendRefs: [{name: httpbin, port: 8080}]}]
    ---
    apiVersion: gateway.networking.k8s.io/v1alpha2
    kind: TLSRoute
    metadata: {name: tls-route, namespace: httpbin}
    spec:
      parentRefs: [{name: simple-fsm-gateway, port: 9443}]
      hostnames: [pass.example.com]
      rules: [{backendRefs: [{name: tls-backend, port: 443}]}]
    ---
    apiVersion: gateway.networking.k8s.io/v1alpha2
    kind: UDPRoute
    metadata: {name: udp-route-sample, namespace: httpbin}
    spec:
      parentRefs: [{name: simple-fsm-gateway, port: 8002}]
      rules: [{backendRefs: [{name: fortio, port: 8078}]}]

    """

    static let httpRoute = """
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: http-route-foo, namespace: httpbin}
    spec:
      parentRefs: [{name: simple-fsm-gateway}]
      hostnames: [foo.example.com, bar.example.com]
      rules:
      - backendRefs: [{name: httpbin, port: 8080}]
        filters:
        - {type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: header-2-add, value: foo}]}}
        - {type: ResponseHeaderModifier, responseHeaderModifier: {set: [{name: server, value: fsm/gateway}], add: [{name: header-2-add, value: bar}]}}
        - {type: RequestMirror, requestMirror: {backendRef: {name: mirror, port: 8080}}}
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: http-route-secure, namespace: httpbin}
    spec:
      parentRefs: [{name: simple-fsm-gateway, port: 8000}]
      hostnames: [secure.example.com]
      rules: [{backendRefs: [{name: httpbin-tls, port: 8443}]}]
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: GRPCRoute
    metadata: {name: grpc-route, namespace: httpbin}
    spec:
      parentRefs: [{name: simple-fsm-gateway, port: 8000}]
      rules:
      - matches: [{method: {service: test.Echo, method: Unary}}]
        backendRefs: [{name: grpcbin, port: 9000}]

    """

    static func get(port: Int, host: String, path: String = "/headers") async throws -> String {
        try await RawClient.exchange(host: gatewayIP, port: port, bytes: "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n")
    }

    @Test func theGuidesOutcomesThroughTheRealGateway() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-\(UUID().uuidString)")
        let manifests = scratch.appendingPathComponent("manifests"), state = scratch.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: manifests, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let foo = try GatewayFixtures.certificate(["foo.example.com"], secret: "httpbin/foo-cert")
        let bar = try GatewayFixtures.certificate(["bar.example.com"], secret: "httpbin/bar-cert")
        let passCertificate = try GatewayFixtures.certificate(["pass.example.com"], secret: "backend")
        let objects = try [Self.gateway, Self.tlsSecret("foo-cert", foo), Self.tlsSecret("bar-cert", bar), Self.pod("httpbin-0", app: "httpbin", ip: Self.httpbinIP),
                       Self.pod("tls-backend-0", app: "tls-backend", ip: Self.tlsBackendIP), Self.pod("fortio-0", app: "fortio", ip: Self.udpBackendIP),
                       Self.pod("mirror-0", app: "mirror", ip: Self.mirrorIP), Self.pod("grpcbin-0", app: "grpcbin", ip: Self.grpcIP),
                       Self.pod("httpbin-tls-0", app: "httpbin-tls", ip: Self.secureIP), Self.caSecret("https-cert")]
        try Data(objects.joined(separator: "---\n").utf8).write(to: manifests.appendingPathComponent("gateway.yaml"))

        let backends = Backends()
        try await backends.tlsEcho(host: Self.tlsBackendIP, port: 9443, certificate: passCertificate)
        try await backends.udpEcho(host: Self.udpBackendIP, port: 8078)
        let mirror = EchoApp()
        try await mirror.start(host: Self.mirrorIP, port: 14002)
        defer { Task { await mirror.stop() } }
        let grpc = GRPCTestApp()
        try await grpc.start(host: Self.grpcIP, port: 9000)
        defer { Task { await grpc.stop() } }
        let secure = EchoApp()
        try await backends.tlsHTTP(host: Self.secureIP, port: 14443, certificate: try GatewayFixtures.certificate(["foo.example.com"], secret: "backend"), app: secure)
        let credential = scratch.appendingPathComponent("gateway.credential").path
        #expect(try Self.run(["credential", "--state-dir", state.path, "--gateway", "httpbin/simple-fsm-gateway", "--out", credential]) == 0)
        let controller = try Running(["controller", "--manifests", manifests.path, "--state-dir", state.path, "--listen", "\(Self.controllerIP):6060",
                                      "--log-level", "warning"], output: scratch.appendingPathComponent("controller.log"))
        let httpbin = try Running(["demo-app", "httpbin", "--listen", "\(Self.httpbinIP):14001", "--log-level", "warning"], output: scratch.appendingPathComponent("httpbin.log"))
        let gateway = try Running(["gateway", "--controller", "http://\(Self.controllerIP):6060", "--gateway", "httpbin/simple-fsm-gateway",
                                   "--credential-file", credential, "--bind", Self.gatewayIP, "--admin-address", Self.gatewayIP, "--log-level", "warning"],
                                  output: scratch.appendingPathComponent("gateway.log"))
        defer {
            gateway.stop()
            httpbin.stop()
            controller.stop()
        }
        do {
            try await Self.checkOutcomes(manifests: manifests, mirror: mirror)
        } catch {
            Issue.record("controller: \(controller.log)\ngateway: \(gateway.log)")
            await backends.stop()
            throw error
        }
        await backends.stop()
        gateway.stop()
        #expect(gateway.process.termination == .exited(0), "\(gateway.log)")
    }

    static func checkOutcomes(manifests: URL, mirror: EchoApp) async throws {
        try await GatewayFixtures.eventually("the gateway is ready") {
            (try? await MeshHTTP.request(host: gatewayIP, port: 15000, path: "/ready", timeout: .seconds(2)))?.status == 200
        }
        // F2-010: no route yet, 404.
        #expect(try await get(port: 8000, host: "foo.example.com").hasPrefix("HTTP/1.1 404"))
        // F2-016: the TCP listener relays bytes to httpbin, Host untouched.
        let tcp = try await get(port: 8001, host: "\(gatewayIP):8001")
        #expect(tcp.hasPrefix("HTTP/1.1 200"))
        #expect(tcp.contains("\"host\":\"\(try gatewayIP):8001\""))
        // F2-020: `echo 'fsm' | nc -4u -w1 $GATEWAY_IP 8002`.
        #expect(try await GatewayClients.udp(host: gatewayIP, port: 8002, datagram: "fsm\n") == "fsm\n")
        // F2-018: the TLS backend's own certificate answers pass.example.com.
        #expect(try await GatewayClients.tls(host: gatewayIP, port: 9443, serverName: "pass.example.com", request: "ping", timeout: .milliseconds(500)) == "tls-backend ping")

        // F2-010/011: the route comes; Host routes.
        try Data(httpRoute.utf8).write(to: manifests.appendingPathComponent("http-route.yaml"))
        try await GatewayFixtures.eventually("the route reaches the gateway") {
            (try? await get(port: 8000, host: "foo.example.com"))?.hasPrefix("HTTP/1.1 200") == true
        }
        let foo = try await get(port: 8000, host: "foo.example.com")
        #expect(foo.contains("\"host\":\"foo.example.com\""))
        // F2-014/015: the route's header filters, on the request httpbin echoes and on the answer.
        #expect(foo.contains("\"header-2-add\":\"foo\""))
        #expect(foo.lowercased().contains("\r\nheader-2-add: bar\r\n"))
        #expect(foo.lowercased().contains("\r\nserver: fsm/gateway\r\n"))
        // RequestMirror: a copy of the request (its header filter applied) reaches the mirror service too.
        try await GatewayFixtures.eventually("the mirror gets its copy") {
            mirror.seenHeaders.contains { $0["host"] == "foo.example.com" && $0["header-2-add"] == "foo" }
        }
        #expect(try await get(port: 8000, host: "bar.example.com").contains("\"host\":\"bar.example.com\""))
        #expect(try await get(port: 8000, host: "baz.example.com").hasPrefix("HTTP/1.1 404"))
        // F2-017: each name gets its listener's certificate (the client checks it names the host).
        for host in ["foo.example.com", "bar.example.com"] {
            let answer = try await GatewayClients.tls(host: gatewayIP, port: 8443, serverName: host,
                                                      request: "GET /headers HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n")
            #expect(answer.hasPrefix("HTTP/1.1 200"))
            #expect(answer.contains("\"host\":\"\(host)\""))
        }
        // F2-028: UpstreamTLSPolicy: the gateway speaks TLS to httpbin-tls, verifying it with the Secret's CA.
        let secure = try await get(port: 8000, host: "secure.example.com", path: "/over-tls")
        #expect(secure.hasPrefix("HTTP/1.1 200"))
        #expect(secure.hasSuffix("GET /over-tls "))
        // F2-019: gRPC over h2c (prior knowledge), routed by service and method, to an HTTP/2 backend.
        let client = try await H2TestClient.connect(host: gatewayIP, port: 8000)
        let unary = await GRPCResult.collect(try await client.call("/test.Echo/Unary", authority: "grpc.example.com", message: "Flomesh"))
        #expect(unary.messages == ["echo: Flomesh"])
        #expect(unary.grpcStatus == "0")
        await client.close()
        let metrics = try await MeshHTTP.request(host: gatewayIP, port: 15000, path: "/metrics", timeout: .seconds(2)).body
        #expect(metrics.contains("fsm_gateway_downstream_cx_total{listener_port=\"8443\",listener_kind=\"tls\"} 2"))
    }
}
