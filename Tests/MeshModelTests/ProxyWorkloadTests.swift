import MeshModel
import Testing

@Suite struct ProxyWorkloadTests {
    static let workload = ProxyWorkload(namespace: "metrics-demo", kind: "Deployment", name: "curl", pod: "curl-0")

    static func config(version: String = "v\"1") -> ProxyConfig {
        ProxyConfig(version: version, serviceIdentity: "curl.metrics-demo.cluster.local", spec: ProxySpec(sidecarLogLevel: "info"))
    }

    @Test func splicingIntoAGroupsRenderingGivesTheSameBytesAsRenderingWithTheWorkload() throws {
        var stamped = Self.config()
        stamped.spec.workload = Self.workload
        let spliced = try #require(Self.workload.spliced(into: Self.config().renderedJSON()))
        #expect(spliced == stamped.renderedJSON())
        #expect(spliced.contains(#""Spec":{"Workload":{"Namespace":"metrics-demo","Kind":"Deployment","Name":"curl","Pod":"curl-0"},"ServiceIdentity""#))
        // The config reads back with its workload; without one it has none.
        #expect(try ProxyConfig(jsonText: spliced).spec.workload == Self.workload)
        #expect(try ProxyConfig(jsonText: Self.config().renderedJSON()).spec.workload == nil)
        #expect(try ProxyConfig(jsonText: stamped.renderedJSON(pretty: true)) == stamped)
    }

    @Test func textThatIsNotARenderedConfigIsLeftAlone() {
        #expect(Self.workload.spliced(into: "{}") == nil)
        #expect(Self.workload.spliced(into: #"{"Version":"1"}"#) == nil)
    }
}
