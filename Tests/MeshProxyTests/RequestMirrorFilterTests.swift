import Testing
@testable import MeshProxy

/// The guide's F2-030: a mirror copy carries the head as the filters before it left it.
@Suite("Request mirror filter")
struct RequestMirrorFilterTests {
    @Test func theRequestGoesOnAndACopyIsAskedFor() {
        var bench = FilterBench()
        var request = FilterRequest(head: HTTPRequestHead(method: "POST", path: "/", authority: "198.19.249.153:8000"), listenerPort: 8000)
        #expect(bench.decode(.requestMirror(RequestMirrorFilter(cluster: "server/pipy-mirror|8080")), &request) == .proceed)
        #expect(request.mirrors == [MirrorRequest(cluster: "server/pipy-mirror|8080", head: request.head)])
        #expect(!request.headModified)
    }
}
