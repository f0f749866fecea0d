import Foundation
import MeshModel
import Testing

@Suite("HTTPRoute filter config")
struct HTTPRouteFilterConfigTests {
    static let every: [HTTPRouteFilterConfig] = [
        .requestHeaderModifier(HTTPHeaderModifierConfig(set: [HeaderValue(name: "header-2-set", value: "foo")], add: [HeaderValue(name: "header-2-add", value: "foo")], remove: ["user-agent"])),
        .responseHeaderModifier(HTTPHeaderModifierConfig(remove: ["server"])),
        .requestRedirect(HTTPRequestRedirectConfig(scheme: "https", hostname: "bar.example.com", path: .prefixMatch("/stream"), port: 8443, statusCode: 301)),
        .urlRewrite(HTTPURLRewriteConfig(hostname: "baz.example.com", path: .fullPath("/headers"))),
        .requestMirror(HTTPRequestMirrorConfig(cluster: "server/pipy-mirror|8080")),
        .faultInjection(HTTPFaultInjectionConfig(delay: .init(percent: 100, range: .init(min: 500, max: 1000), unit: "ms"), abort: .init(percent: 50, statusCode: 404))),
    ]

    @Test func everyFilterRoundTripsThroughJSON() throws {
        let data = try JSONEncoder().encode(HTTPRouteFilterConfigTests.every)
        #expect(try JSONDecoder().decode([HTTPRouteFilterConfig].self, from: data) == HTTPRouteFilterConfigTests.every)
    }

    @Test func theGuidesYAMLShapeDecodes() throws {
        // F2-013's prefix redirect, as the HTTPRoute writes it (in JSON).
        let json = #"{"type": "RequestRedirect", "requestRedirect": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/stream"}, "statusCode": 301}}"#
        let filter = try JSONDecoder().decode(HTTPRouteFilterConfig.self, from: Data(json.utf8))
        #expect(filter == .requestRedirect(HTTPRequestRedirectConfig(path: .prefixMatch("/stream"), statusCode: 301)))
        #expect(filter.typeName == "RequestRedirect")
        // F2-021's delay, as the controller will carry the policy's config on a rule.
        let fault = #"{"type": "FaultInjection", "faultInjection": {"delay": {"percent": 100, "range": {"min": 500, "max": 1000}, "unit": "ms"}}}"#
        #expect(try JSONDecoder().decode(HTTPRouteFilterConfig.self, from: Data(fault.utf8))
            == .faultInjection(HTTPFaultInjectionConfig(delay: .init(percent: 100, range: .init(min: 500, max: 1000), unit: "ms"))))
    }

    @Test func anUnknownTypeNamesTheKnownOnes() {
        let json = #"{"type": "ExtensionRef", "extensionRef": {}}"#
        #expect {
            _ = try JSONDecoder().decode(HTTPRouteFilterConfig.self, from: Data(json.utf8))
        } throws: { error in
            guard case DecodingError.dataCorrupted(let context) = error else { return false }
            return context.debugDescription == "unknown filter type \"ExtensionRef\", expected one of RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect, URLRewrite, RequestMirror, FaultInjection"
        }
    }
}
