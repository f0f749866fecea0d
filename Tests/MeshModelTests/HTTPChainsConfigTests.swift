import MeshModel
import Testing

@Suite("HTTP chains config")
struct HTTPChainsConfigTests {
    static func config(_ chains: HTTPChainsConfig?) -> ProxyConfig {
        ProxyConfig(version: "v1", serviceIdentity: "bookstore.bookstore.cluster.local", spec: ProxySpec(chains: chains))
    }

    @Test func chainsRoundTripThroughTheConfigJSON() throws {
        let config = HTTPChainsConfigTests.config(HTTPChainsConfig(inboundHTTP: ["http-routing", "throttle-route"], outboundHTTP: ["http-routing"]))
        let json = config.renderedJSON()
        #expect(json.contains(#""Chains":{"InboundHTTP":["http-routing","throttle-route"],"OutboundHTTP":["http-routing"]}"#))
        #expect(try ProxyConfig(jsonText: json) == config)
        #expect(json.utf8.count == config.renderedByteCount)
    }

    @Test func aConfigWithoutChainsPrintsNone() {
        #expect(!HTTPChainsConfigTests.config(nil).renderedJSON().contains("Chains"))
    }

    @Test func aChainThatIsNotAListOfNamesIsRefusedWithItsPath() {
        let json = #"{"Version":"v1","Spec":{"ServiceIdentity":"a","Chains":{"InboundHTTP":["http-routing",7]}}}"#
        let error = #expect(throws: ProxyConfigDecodingError.self) { try ProxyConfig(jsonText: json) }
        #expect(error?.description == "Spec.Chains.InboundHTTP[1]: expected a string")
    }
}
