import MeshInject
import MeshModel
import Testing

/// The guide's rewrite table for one container at a time (the golden tests cover whole pods).
@Suite struct ProbeRewriteTests {
    static func container(_ probe: JSONValue, kind: SidecarProbe.Kind = .liveness) -> JSONValue {
        .object([("name", .string("app")), ("ports", .array([.object([("name", .string("http")), ("containerPort", .int(8080))])])), (kind.fieldName, probe)])
    }

    @Test func httpProbesGetTheKindsPortAndPath() {
        for kind in SidecarProbe.Kind.allCases {
            let probe: JSONValue = .object([("httpGet", .object([("path", .string("/ok")), ("port", .string("http"))])), ("timeoutSeconds", .int(4))])
            guard case .rewritten(let rewritten, let target) = ProbeRewrite.rewrite(kind, in: Self.container(probe, kind: kind)) else {
                Issue.record("not rewritten")
                continue
            }
            #expect(rewritten["httpGet"] == .object([("path", .string(kind.path)), ("port", .int(kind.port))]))
            #expect(rewritten["timeoutSeconds"] == .int(4))
            #expect(target == SidecarProbe(kind: kind, target: .http(port: 8080, path: "/ok"), timeoutSeconds: 4))
        }
    }

    @Test func httpsKeepsItsPathTcpBecomesTheHealthcheck() {
        let https: JSONValue = .object([("httpGet", .object([("path", .string("/secure")), ("port", .int(8443)), ("scheme", .string("HTTPS"))]))])
        #expect(ProbeRewrite.rewrite(.readiness, in: Self.container(https, kind: .readiness)) == .rewritten(
            probe: .object([("httpGet", .object([("path", .string("/secure")), ("port", .int(15902)), ("scheme", .string("HTTPS"))]))]),
            target: SidecarProbe(kind: .readiness, target: .https(port: 8443))))
        let tcp: JSONValue = .object([("initialDelaySeconds", .int(5)), ("tcpSocket", .object([("port", .int(8080))]))])
        guard case .rewritten(let rewritten, let target) = ProbeRewrite.rewrite(.liveness, in: Self.container(tcp)) else {
            Issue.record("not rewritten")
            return
        }
        #expect(rewritten["initialDelaySeconds"] == .int(5))
        #expect(rewritten["httpGet"]?["httpHeaders"] == .array([.object([("name", .string("Original-Tcp-Port")), ("value", .string("8080"))])]))
        #expect(target.servedPort == 15904)
    }

    @Test func probesTheRewriteLeavesAlone() {
        let exec: JSONValue = .object([("exec", .object([("command", .array([.string("/bin/true")]))]))])
        #expect(ProbeRewrite.rewrite(.liveness, in: Self.container(exec)) == .unchanged)
        #expect(ProbeRewrite.rewrite(.startup, in: Self.container(exec)) == .unchanged)
        let named: JSONValue = .object([("tcpSocket", .object([("port", .string("grpc"))]))])
        #expect(ProbeRewrite.rewrite(.liveness, in: Self.container(named)) == .skipped("its port \"grpc\" names none of the container's ports"))
        let host: JSONValue = .object([("httpGet", .object([("host", .string("example.com")), ("port", .int(80))]))])
        #expect(ProbeRewrite.rewrite(.liveness, in: Self.container(host)) == .skipped("its httpGet names host example.com, not the pod"))
    }

    @Test func sidecarProbeArgumentsRoundTrip() throws {
        for probe in [SidecarProbe(kind: .liveness, target: .http(port: 14001, path: "/a:b?c=1")), SidecarProbe(kind: .readiness, target: .https(port: 8443), timeoutSeconds: 3),
                      SidecarProbe(kind: .startup, target: .tcp(port: 5432))] {
            #expect(try SidecarProbe(argument: probe.argument) == probe)
        }
        #expect(throws: SidecarProbeError.self) { try SidecarProbe(argument: "liveness=http:14001:1") }
        #expect(throws: SidecarProbeError.self) { try SidecarProbe(argument: "alive=tcp:1:1") }
        #expect(throws: SidecarProbeError.self) { try SidecarProbe(argument: "liveness=tcp:0:1") }
    }
}
