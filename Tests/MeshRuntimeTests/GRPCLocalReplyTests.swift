import MeshProxy
@testable import MeshRuntime
import Testing

struct GRPCLocalReplyTests {
    @Test func httpStatusesMapAsEnvoyMapsThem() {
        let expected: [Int: Int] = [400: 13, 401: 16, 403: 7, 404: 12, 429: 14, 502: 14, 503: 14, 504: 14, 413: 2, 500: 2]
        for (http, grpc) in expected { #expect(GRPCLocalReply.grpcStatus(forHTTPStatus: http) == grpc, "HTTP \(http)") }
    }

    @Test func localAnswerBecomesTrailersOnlyAndKeepsItsExtraHeaders() {
        let answer = MeshProxy.HTTPResponseHead(status: 429, headers: [MeshProxy.HTTPHeader(name: "x-envoy-ratelimited", value: "true"),
                                                                       MeshProxy.HTTPHeader(name: "content-type", value: "text/plain")],
                                                body: "local rate limited\n")
        let rewritten = GRPCLocalReply.rewrite(answer)
        #expect(rewritten.status == 200)
        #expect(rewritten.body == nil)
        #expect(rewritten.header("grpc-status") == "14")
        #expect(rewritten.header("grpc-message") == "local rate limited")
        #expect(rewritten.header("content-type") == "application/grpc")
        #expect(rewritten.header("x-envoy-ratelimited") == "true")
        #expect(rewritten.headers.filter { $0.name == "content-type" }.count == 1)
    }

    @Test func grpcMessageIsPercentEncoded() {
        #expect(GRPCLocalReply.percentEncoded("100% sure\nhé") == "100%25 sure%0Ah%C3%A9")
    }

    @Test func onlyGRPCContentTypesCount() {
        #expect(GRPCLocalReply.isGRPC(contentType: "application/grpc"))
        #expect(GRPCLocalReply.isGRPC(contentType: "application/grpc+proto"))
        #expect(GRPCLocalReply.isGRPC(contentType: "Application/GRPC"))
        #expect(!GRPCLocalReply.isGRPC(contentType: "application/json"))
        #expect(!GRPCLocalReply.isGRPC(contentType: nil))
    }
}
