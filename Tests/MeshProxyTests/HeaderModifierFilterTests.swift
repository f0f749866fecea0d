import MeshModel
import Testing
@testable import MeshProxy

/// The guide's F2-014 (request) and F2-015 (response) header manipulation.
@Suite("Header modifier filter")
struct HeaderModifierFilterTests {
    static let userAgent = HTTPHeader(name: "User-Agent", value: "curl/8.1.2")

    @Test func requestAddSetAndRemoveAsTheGuideShows() {
        var bench = FilterBench()
        let add = HTTPFilter.headerModifier(HeaderModifierFilter(side: .request, add: [HTTPHeader(name: "header-2-add", value: "foo")]))
        var added = FilterRequest.get("/headers", headers: [HeaderModifierFilterTests.userAgent])
        #expect(bench.decode(add, &added) == .proceed)
        #expect(added.head.headers == [HeaderModifierFilterTests.userAgent, HTTPHeader(name: "header-2-add", value: "foo")])
        #expect(added.headModified)

        let safari = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"
        let set = HTTPFilter.headerModifier(HeaderModifierFilter(side: .request, set: [HTTPHeader(name: "header-2-set", value: "foo"), HTTPHeader(name: "user-agent", value: safari)]))
        var replaced = FilterRequest.get("/headers", headers: [HeaderModifierFilterTests.userAgent])
        #expect(bench.decode(set, &replaced) == .proceed)
        #expect(replaced.head.header("user-agent") == safari)
        #expect(replaced.head.header("header-2-set") == "foo", "set on a missing header adds it")
        #expect(replaced.head.headers.count == 2)

        let remove = HTTPFilter.headerModifier(HeaderModifierFilter(side: .request, remove: ["user-agent"]))
        var removed = FilterRequest.get("/headers", headers: [HeaderModifierFilterTests.userAgent])
        #expect(bench.decode(remove, &removed) == .proceed)
        #expect(removed.head.header("user-agent") == nil)
    }

    @Test func setReplacesEveryValueAndAddKeepsExistingOnes() {
        let filter = HeaderModifierFilter(side: .request, set: [HTTPHeader(name: "x-a", value: "new")], add: [HTTPHeader(name: "x-b", value: "2")])
        var headers = [HTTPHeader(name: "X-A", value: "1"), HTTPHeader(name: "x-b", value: "1"), HTTPHeader(name: "x-a", value: "2")]
        var authority = "foo"
        filter.modify(&headers, authority: &authority)
        #expect(headers == [HTTPHeader(name: "X-A", value: "new"), HTTPHeader(name: "x-b", value: "1"), HTTPHeader(name: "x-b", value: "2")])
    }

    @Test func removeRunsBeforeSetAndAdd() {
        let filter = HeaderModifierFilter(side: .request, set: [HTTPHeader(name: "x-a", value: "set")], add: [HTTPHeader(name: "x-b", value: "added")], remove: ["x-a", "x-b"])
        var headers = [HTTPHeader(name: "x-a", value: "1"), HTTPHeader(name: "x-b", value: "1")]
        var authority = ""
        filter.modify(&headers, authority: &authority)
        #expect(headers == [HTTPHeader(name: "x-a", value: "set"), HTTPHeader(name: "x-b", value: "added")])
    }

    @Test func settingHostChangesTheAuthority() {
        var bench = FilterBench()
        var request = FilterRequest.get()
        #expect(bench.decode(.headerModifier(HeaderModifierFilter(side: .request, set: [HTTPHeader(name: "Host", value: "bar.example.com")])), &request) == .proceed)
        #expect(request.head.authority == "bar.example.com")
        #expect(request.head.headers.isEmpty)
    }

    @Test func anUnchangedRequestIsNotMarkedModified() {
        var bench = FilterBench()
        var request = FilterRequest.get()
        #expect(bench.decode(.headerModifier(HeaderModifierFilter(side: .request, remove: ["x-absent"])), &request) == .proceed)
        #expect(!request.headModified)
    }

    @Test func responseSideChangesOnlyTheResponse() {
        var bench = FilterBench()
        let filter = HeaderModifierFilter(side: .response, set: [HTTPHeader(name: "header-2-set", value: "foo"), HTTPHeader(name: "server", value: "fsm/gateway")],
                                          add: [HTTPHeader(name: "header-2-add", value: "foo")])
        var request = FilterRequest.get("/headers", headers: [HTTPHeader(name: "server", value: "client")])
        #expect(bench.decode(.headerModifier(filter), &request) == .proceed)
        #expect(!request.headModified && request.head.header("server") == "client")
        var response = HTTPResponseHead(status: 200, headers: [HTTPHeader(name: "server", value: "gunicorn/19.9.0"), HTTPHeader(name: "content-type", value: "application/json")])
        filter.encode(&response)
        #expect(response.headers == [HTTPHeader(name: "server", value: "fsm/gateway"), HTTPHeader(name: "content-type", value: "application/json"),
                                     HTTPHeader(name: "header-2-set", value: "foo"), HTTPHeader(name: "header-2-add", value: "foo")])
        var removed = HTTPResponseHead(status: 200, headers: [HTTPHeader(name: "Server", value: "gunicorn/19.9.0")])
        HeaderModifierFilter(side: .response, remove: ["server"]).encode(&removed)
        #expect(removed.headers.isEmpty)
    }
}
