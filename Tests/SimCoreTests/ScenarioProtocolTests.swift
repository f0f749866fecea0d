import MeshModel
import MeshProxy
@testable import SimCore
import Testing

/// The contract's other protocols (SCENARIOS.md, "Traffic from outside, to outside, and other
/// protocols"): https:// loads with `tls:`, grpc:// loads and `grpcStatus:`, udp:// loads, and the
/// grpc-echo, udp-echo and tls-echo apps, through the parser (every key and its errors) and the
/// simulator (what a client observes through a gateway).
@Suite struct ScenarioProtocolTests {
    static let world = """
    name: protocols
    manifests: |
      apiVersion: apps/v1
      kind: Deployment
      metadata: { name: web, namespace: web }
      spec:
        replicas: 1
        selector: { matchLabels: { app: web } }
        template:
          metadata: { labels: { app: web } }
          spec:
            containers: [{ name: web, image: example/web }]
      ---
      apiVersion: v1
      kind: Secret
      metadata: { name: ca, namespace: web }
      stringData: { ca.crt: "CA one" }
      ---
      apiVersion: v1
      kind: Secret
      metadata: { name: cert, namespace: web }
      type: kubernetes.io/tls
      stringData: { tls.crt: "cert issued by CA one", tls.key: "key", ca.crt: "CA one" }

    """

    static func parseError(_ text: String) -> ManifestError? {
        ScenarioParser.error(parsing: text, file: "protocols.yaml")
    }

    static func load(_ fields: String) -> String {
        "steps:\n  - at: 0s\n    load: { name: l, from: external, requests: 1, \(fields) }\n"
    }

    @Test func urlSchemesParse() throws {
        let https = try LoadURL(parsing: "https://gw.web:8443/headers")
        #expect(https.scheme == .https && https.port == 8443 && https.path == "/headers")
        #expect(try LoadURL(parsing: "https://example.com").port == 443)
        let grpc = try LoadURL(parsing: "grpc://grpcbin.grpcbin:9000/hello.HelloService/SayHello")
        #expect(grpc.scheme == .grpc && grpc.path == "/hello.HelloService/SayHello" && grpc.port == 9000)
        let udp = try LoadURL(parsing: "udp://gw.server:8000")
        #expect(udp.scheme == .udp && udp.path.isEmpty && !udp.scheme.isHTTP)
    }

    @Test func badURLsNameWhatIsWrong() {
        let cases: [(url: String, message: String)] = [
            ("ftp://a.b/", "expected http://, https://, tcp://, grpc:// or udp://"),
            ("grpc://a.b/hello.HelloService/SayHello", "grpc:// needs a port"),
            ("udp://a.b", "udp:// needs a port"),
            ("udp://a.b:8000/x", "udp:// takes no path"),
            ("grpc://a.b:9000/headers", "grpc:// needs the method as its path"),
            ("grpc://a.b:9000/svc/a.b", "grpc:// needs the method as its path"),
        ]
        for item in cases {
            let error = Self.parseError(Self.world + Self.load("url: \"\(item.url)\""))
            #expect(error?.path == "steps[0].load.url", "\(item.url)")
            #expect(error?.message.contains(item.message) == true, "\(item.url): \(error?.message ?? "parsed")")
        }
    }

    @Test func tlsKeysParse() throws {
        let text = Self.world + Self.load("url: \"https://gw.web:8443/\", tls: { sni: foo.example.com, caSecret: web/ca, clientSecret: web/cert }")
        let scenario = try ScenarioParser.parse(text, file: "protocols.yaml")
        guard case .load(let load) = scenario.steps[0].action else { Issue.record("not a load"); return }
        #expect(load.tls == LoadTLS(sni: "foo.example.com", caSecret: "web/ca", clientSecret: "web/cert"))
        let insecure = try ScenarioParser.parse(Self.world + Self.load("url: \"https://gw.web:8443/\", tls: { insecure: true }"), file: "p.yaml")
        guard case .load(let second) = insecure.steps[0].action else { Issue.record("not a load"); return }
        #expect(second.tls == LoadTLS(insecure: true))
    }

    @Test func badTLSKeysNameTheirLine() {
        let cases: [(fields: String, path: String, message: String)] = [
            ("url: \"http://gw.web:8000/\", tls: { insecure: true }", "steps[0].load.tls", "applies to https:// loads only"),
            ("url: \"https://gw.web:8443/\", tls: { sni: \"Not A Name\" }", "steps[0].load.tls.sni", "expected a DNS name"),
            ("url: \"https://gw.web:8443/\", tls: { caSecret: ca }", "steps[0].load.tls.caSecret", "namespace/name"),
            ("url: \"https://gw.web:8443/\", tls: { caSecret: web/none }", "steps[0].load.tls.caSecret", "no Secret \"web/none\""),
            ("url: \"https://gw.web:8443/\", tls: { caSecret: web/cert, clientSecret: web/ca }", "steps[0].load.tls.clientSecret", "has no tls.crt"),
            ("url: \"https://gw.web:8443/\", tls: { caSecret: web/ca, insecure: true }", "steps[0].load.tls.insecure", "not both"),
            ("url: \"https://gw.web:8443/\", tls: { insecure: yes please }", "steps[0].load.tls.insecure", ""),
            ("url: \"https://gw.web:8443/\", tls: { cacert: web/ca }", "steps[0].load.tls.cacert", "unknown field"),
        ]
        for item in cases {
            let error = Self.parseError(Self.world + Self.load(item.fields))
            #expect(error?.path == item.path, "\(item.fields): \(error?.path ?? "parsed")")
            #expect(error?.message.contains(item.message) == true, "\(item.fields): \(error?.message ?? "parsed")")
            #expect((error?.line ?? 0) > 20, "\(item.fields)")
        }
        // A Secret with a ca.crt beside its certificate serves as a caSecret too.
        #expect(Self.parseError(Self.world + Self.load("url: \"https://gw.web:8443/\", tls: { caSecret: web/cert }")) == nil)
    }

    @Test func aBodySizeParsesAndItsBadValuesNameTheirLine() throws {
        let scenario = try ScenarioParser.parse(Self.world + Self.load("url: \"http://gw.web:8000/\", method: POST, bodyBytes: 8192"), file: "p.yaml")
        guard case .load(let load) = scenario.steps[0].action else { Issue.record("not a load"); return }
        #expect(load.bodyBytes == 8192)
        for (fields, message) in [("url: \"tcp://gw.web:9000\", bodyBytes: 10", "applies to http:// and https:// loads only"),
                                  ("url: \"http://gw.web:8000/\", bodyBytes: 0", "1"), ("url: \"http://gw.web:8000/\", bodyBytes: lots", "")] {
            let error = Self.parseError(Self.world + Self.load(fields))
            #expect(error?.path == "steps[0].load.bodyBytes", "\(fields): \(error?.path ?? "parsed")")
            #expect(error?.message.contains(message) == true, "\(fields): \(error?.message ?? "parsed")")
        }
    }

    @Test func appModelsAndTheirKeys() throws {
        let good = try ScenarioParser.parse(Self.world + "apps:\n  web: { model: tls-echo, secret: web/cert, certificateKey: tls.crt }\n", file: "p.yaml")
        #expect(good.apps["web"] == AppSpec(model: .tlsEcho, options: ["secret": "web/cert", "certificateKey": "tls.crt"]))
        for model in ["grpc-echo", "udp-echo"] {
            #expect(try ScenarioParser.parse(Self.world + "apps:\n  web: { model: \(model) }\n", file: "p.yaml").apps["web"]?.model.rawValue == model)
        }
        let cases: [(entry: String, path: String, message: String)] = [
            ("{ model: tls-echo }", "apps.web.model", "needs secret: namespace/name"),
            ("{ model: echo, secret: web/cert }", "apps.web.secret", "model echo serves no TLS"),
            ("{ model: tls-echo, secret: cert }", "apps.web.secret", "namespace/name"),
            ("{ model: tls-echo, secret: web/gone }", "apps.web.secret", "no Secret \"web/gone\""),
            ("{ model: tls-echo, secret: web/ca }", "apps.web.secret", "has no tls.crt"),
            ("{ model: tls-echo, secret: web/cert, certificateKey: server.pem }", "apps.web.secret", "has no server.pem"),
        ]
        for item in cases {
            let error = Self.parseError(Self.world + "apps:\n  web: \(item.entry)\n")
            #expect(error?.path == item.path, "\(item.entry): \(error?.path ?? "parsed")")
            #expect(error?.message.contains(item.message) == true, "\(item.entry): \(error?.message ?? "parsed")")
        }
    }

    @Test func grpcStatusExpectation() throws {
        let text = Self.world + Self.load("url: \"grpc://gw.web:9000/a.B/C\"") + "expect:\n  - load: l\n    grpcStatus: { 0: 1 }\n"
        let scenario = try ScenarioParser.parse(text, file: "p.yaml")
        #expect(scenario.expectations.map(\.check) == [.grpcStatus(load: "l", counts: [0: 1])])
        #expect(scenario.expectations[0].text == "l grpcStatus {0: 1}")
        let bad = Self.parseError(Self.world + Self.load("url: \"grpc://gw.web:9000/a.B/C\"") + "expect:\n  - load: l\n    grpcStatus: { 17: 1 }\n")
        #expect(bad?.path == "expect[0].grpcStatus.17" && bad?.message.contains("gRPC status code") == true, "\(bad?.description ?? "parsed")")
        let unknown = Self.parseError(Self.world + Self.load("url: \"grpc://gw.web:9000/a.B/C\"") + "expect:\n  - load: m\n    grpcStatus: { 0: 1 }\n")
        #expect(unknown?.message.contains("no load named \"m\"") == true)
    }

    // MARK: - through the simulator

    static func run(_ text: String) throws -> SimulationResult {
        var simulation = Simulation(scenario: try ScenarioParser.parse(text, file: "protocols.yaml"))
        return simulation.run()
    }

    /// Inside the mesh the sidecars would wrap the app's TLS in their mTLS, which is not modelled:
    /// such a load does not run, and says so. (To a host outside the cluster it is egress, relayed
    /// unread: SimulationEgressGatewayTests, egress-https-sni.yaml.)
    @Test func httpsFromAMeshedPodIntoTheClusterDoesNotRunSilently() throws {
        // web-0, the simulator's first pod, is at 10.244.0.10.
        let text = "mesh: { namespaces: [web] }\n" + Self.world
            + "steps:\n  - at: 0s\n    load: { name: l, from: web/web, url: \"https://10.244.0.10:8443/\", requests: 2 }\n"
        let result = try Self.run(text)
        #expect(result.loads.first?.requests == 0)
        #expect(result.events.contains { $0.text.contains("https:// from a meshed pod to a service or pod of the cluster is not modelled") })
    }

    @Test func reportFieldsOnlyForTheirLoads() throws {
        let text = Self.world + """
        external:
          site: { host: site.example.com, ip: 203.0.113.40, ports: [443, 7], model: tls-echo }
          dgram: { host: dgram.example.com, ip: 203.0.113.41, ports: [7], model: udp-echo }
        steps:
          - at: 0s
            load: { name: public, from: external, url: "https://site.example.com/", requests: 2 }
          - at: 0s
            load: { name: pinned, from: external, url: "https://site.example.com/", tls: { caSecret: web/ca }, requests: 2 }
          - at: 0s
            load: { name: plain, from: external, url: "http://site.example.com:443/", requests: 2 }
          - at: 0s
            load: { name: datagram, from: external, url: "udp://dgram.example.com:7", requests: 3 }
          - at: 0s
            load: { name: closed-port, from: external, url: "udp://dgram.example.com:8", requests: 1 }

        """
        let result = try Self.run(text)
        let loads = Dictionary(uniqueKeysWithValues: result.loads.map { ($0.name, $0) })
        // The public roots trust site.example.com's public certificate; a pinned CA does not.
        #expect(loads["public"]?.status.map(\.code) == [200] && loads["public"]?.tlsFailures == 0)
        #expect(loads["pinned"]?.status.map(\.code) == [0] && loads["pinned"]?.tlsFailures == 2)
        // Plain HTTP to a TLS server: closed, no TLS failure of the client's, and no field for an http:// load.
        #expect(loads["plain"]?.status.map(\.code) == [0] && loads["plain"]?.tlsFailures == nil)
        #expect(loads["datagram"]?.count(status: 200) == 3 && loads["datagram"]?.grpcStatus.isEmpty == true)
        // An external host answers only on its ports.
        #expect(loads["closed-port"]?.status.map(\.code) == [0])
        #expect(result.apps.first { $0.deployment == "site" }?.received == 2)
        #expect(result.apps.first { $0.deployment == "dgram" }?.received == 3)
    }

    /// A plain request to an HTTP listener with a hostname is routed by its Host (no handshake asked
    /// for), while an https:// client's ClientHello to that plain port fails.
    @Test func aPlainListenerWithAHostnameServesPlainClientsOnly() throws {
        let text = """
        name: hostname-listener
        apps:
          web: { model: echo, body: "web" }
        manifests: |
          apiVersion: gateway.networking.k8s.io/v1
          kind: Gateway
          metadata: { name: gw, namespace: web }
          spec:
            gatewayClassName: fsm-gateway-cls
            listeners:
            - { protocol: HTTP, port: 8000, name: foo, hostname: foo.example.com }
          ---
          apiVersion: gateway.networking.k8s.io/v1
          kind: HTTPRoute
          metadata: { name: r, namespace: web }
          spec:
            parentRefs: [{ name: gw, port: 8000 }]
            rules:
            - backendRefs: [{ name: web, port: 80 }]
          ---
          apiVersion: apps/v1
          kind: Deployment
          metadata: { name: web, namespace: web }
          spec:
            selector: { matchLabels: { app: web } }
            template:
              metadata: { labels: { app: web } }
              spec:
                containers: [{ name: web, image: example/web, ports: [{ containerPort: 80 }] }]
          ---
          apiVersion: v1
          kind: Service
          metadata: { name: web, namespace: web }
          spec:
            selector: { app: web }
            ports: [{ port: 80 }]
        steps:
          - at: 0s
            load: { name: plain, from: external, url: "http://fsm-gateway-web.web:8000/", headers: { host: foo.example.com }, requests: 2 }
          - at: 0s
            load: { name: tls, from: external, url: "https://fsm-gateway-web.web:8000/", tls: { sni: foo.example.com, insecure: true }, requests: 2 }
        expect:
          - load: plain
            status: { 200: 2 }
          - load: tls
            status: { 0: 2 }

        """
        var simulation = Simulation(scenario: try ScenarioParser.parse(text, file: "hostname-listener.yaml"))
        let result = simulation.run()
        let report = Report(result: result)
        #expect(report.passed, "\(report.text())")
        #expect(result.loads.first { $0.name == "tls" }?.tlsFailures == 2)
    }

    /// The contract's own example: a gRPC call from a meshed pod through both sidecars.
    @Test func aGRPCCallThroughTheMesh() throws {
        let text = """
        name: grpc-mesh
        mesh: { namespaces: [curl, grpcbin] }
        apps:
          grpcbin: { model: grpc-echo, body: "hello" }
        manifests: |
          apiVersion: apps/v1
          kind: Deployment
          metadata: { name: curl, namespace: curl }
          spec:
            selector: { matchLabels: { app: curl } }
            template:
              metadata: { labels: { app: curl } }
              spec:
                containers: [{ name: curl, image: curlimages/curl }]
          ---
          apiVersion: apps/v1
          kind: Deployment
          metadata: { name: grpcbin, namespace: grpcbin }
          spec:
            selector: { matchLabels: { app: grpcbin } }
            template:
              metadata: { labels: { app: grpcbin } }
              spec:
                containers: [{ name: grpcbin, image: moul/grpcbin, ports: [{ containerPort: 9000 }] }]
          ---
          apiVersion: v1
          kind: Service
          metadata: { name: grpcbin, namespace: grpcbin }
          spec:
            selector: { app: grpcbin }
            ports: [{ name: grpc, port: 9000, appProtocol: grpc }]
        steps:
          - at: 0s
            load: { name: grpc, from: curl/curl, url: "grpc://grpcbin.grpcbin:9000/hello.HelloService/SayHello", requests: 5 }
        expect:
          - load: grpc
            status: { 200: 5 }
          - load: grpc
            grpcStatus: { 0: 5 }
          - load: grpc
            headers: { grpc-status: "0", content-type: application/grpc }

        """
        var simulation = Simulation(scenario: try ScenarioParser.parse(text, file: "grpc-mesh.yaml"))
        let report = Report(result: simulation.run())
        #expect(report.passed, "\(report.text())")
    }

    // MARK: - the modelled handshake

    @Test func aClientAcceptsWhatItsTrustIssued() {
        let ca = Secret(metadata: ObjectMeta(name: "c", namespace: "n"), data: ["tls.crt": Array("leaf".utf8), "ca.crt": Array("CA".utf8)])
        let selfSigned = Secret(metadata: ObjectMeta(name: "s", namespace: "n"), type: Secret.tlsType, data: ["tls.crt": Array("self".utf8)])
        let leaf = ModelledCertificate(secret: ca)!
        let own = ModelledCertificate(secret: selfSigned)!
        #expect(leaf.issuer == "CA" && own.issuer == "self")
        #expect(ModelledCertificate(secret: ca, key: "server.pem") == nil)
        #expect(TLSClientHello(sni: "a", trust: .anchor("CA")).accepts(leaf))
        #expect(!TLSClientHello(sni: "a", trust: .anchor("CA")).accepts(own))
        #expect(TLSClientHello(sni: "a", trust: .anchor("self")).accepts(own))
        #expect(TLSClientHello(sni: "a", trust: .insecure).accepts(own))
        #expect(!TLSClientHello(sni: "a", trust: .publicRoots).accepts(leaf))
        #expect(TLSClientHello(sni: "httpbin.org", trust: .publicRoots).accepts(ModelledCertificate(publicHost: "httpbin.org")))
        #expect(!TLSClientHello(sni: "example.com", trust: .publicRoots).accepts(ModelledCertificate(publicHost: "httpbin.org")))
        #expect(!TLSClientHello(sni: "httpbin.org", trust: .anchor("")).accepts(ModelledCertificate(publicHost: "httpbin.org")))
    }

    @Test func aServerDemandingClientCertificatesChecksTheirIssuer() {
        let client = ModelledCertificate(certificatePEM: "client", secret: Secret(metadata: ObjectMeta(name: "c"), data: ["ca.crt": Array("CA".utf8)]))
        #expect(TLSClientHello(trust: .insecure).satisfies(clientCA: nil))
        #expect(!TLSClientHello(trust: .insecure).satisfies(clientCA: "CA"))
        #expect(TLSClientHello(trust: .insecure, clientCertificate: client).satisfies(clientCA: "CA"))
        #expect(!TLSClientHello(trust: .insecure, clientCertificate: client).satisfies(clientCA: "other"))
        #expect(!TLSClientHello(trust: .insecure, clientCertificate: ModelledCertificate(publicHost: "x")).satisfies(clientCA: ""))
    }

    @Test func grpcStatusFollowsGRPCsHTTPMapping() {
        let ok = HTTPResponseHead(status: 200, headers: [HTTPHeader(name: "grpc-status", value: "5")])
        #expect(GRPCStatus.of(status: 200, head: ok) == 5)
        #expect(GRPCStatus.of(status: 0, head: ok) == 14)
        #expect(GRPCStatus.of(status: 404, head: HTTPResponseHead(status: 404)) == 12)
        #expect(GRPCStatus.of(status: 503, head: nil) == 14)
        #expect(GRPCStatus.of(status: 403, head: nil) == 7)
        #expect(GRPCStatus.of(status: 500, head: nil) == 2)
        #expect(GRPCStatus.of(status: 200, head: HTTPResponseHead(status: 200, headers: [HTTPHeader(name: "grpc-status", value: "99")])) == 2)
    }
}
