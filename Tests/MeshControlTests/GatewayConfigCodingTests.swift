import Foundation
import MeshControl
import MeshModel
import MeshTesting
import Testing

/// A gateway config survives its JSON, and the filters read as the Gateway API writes them.
@Suite struct GatewayConfigCodingTests {
    static func json(_ config: GatewayConfig) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(config), as: UTF8.self)
    }

    @Test(arguments: ["F2-012b", "F2-013a", "F2-014b", "F2-016", "F2-018", "F2-019", "F2-023b", "F2-025", "F2-029", "F2-030"])
    func everyDemoConfigRoundTrips(id: String) throws {
        let (_, config) = try GatewayCluster.demo(id)
        let original = try #require(config)
        let text = try Self.json(original)
        #expect(try JSONDecoder().decode(GatewayConfig.self, from: Data(text.utf8)) == original)
        #expect(try Self.json(original) == text) // the same bytes every time
    }

    @Test func filtersUseTheGatewayAPIShape() throws {
        let (_, config) = try GatewayCluster.demo("F2-012b")
        let text = try Self.json(try #require(config))
        #expect(text.contains(#"{"type":"URLRewrite","urlRewrite":{"path":{"replacePrefixMatch":"\/stream","type":"ReplacePrefixMatch"}}}"#))
        let bad = #"{"type":"ExtensionRef"}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(GatewayConfig.Filter.self, from: Data(bad.utf8)) }
    }
}
