import MeshDemoApps
import Testing

@Suite struct DemoAppLogicTests {
    @Test func buyerCountsOnlySuccessfulBuysByBookstoreVersion() {
        var counters = BookClientCounters(role: .buyer)
        counters.record(path: "/buy-a-book/new", status: 200, identity: "bookstore-v1")
        counters.record(path: "/buy-a-book/new", status: 200, identity: "bookstore-v2.kind")
        counters.record(path: "/buy-a-book/new", status: 200, identity: "somebody-else")
        counters.record(path: "/books-bought", status: 200, identity: "bookstore-v1")
        counters.record(path: "/buy-a-book/new", status: 200, identity: nil)
        #expect(counters.books == 2)
        #expect(counters.booksV1 == 1)
        #expect(counters.booksV2 == 1)
        #expect(counters.requests == 5)
        #expect(counters.failures == 0)
    }

    @Test func thiefCountsRefusalsByStatus() {
        var counters = BookClientCounters(role: .thief)
        counters.record(path: "/buy-a-book/new", status: 0, identity: nil)
        counters.record(path: "/books-bought", status: 403, identity: nil)
        counters.record(path: "/buy-a-book/new", status: 503, identity: nil)
        #expect(counters.books == 0)
        #expect(counters.failures == 3)
        #expect(counters.refused == 2)
        #expect(counters.rawJSON == #"{"booksStolen":0,"booksStolenV1":0,"booksStolenV2":0,"requests":3,"failures":3,"refused":2,"failuresByStatus":{"0":1,"403":1,"503":1}}"#)
        #expect(counters.page.contains("Total books stolen: 0"))
        #expect(counters.page.contains("status 0 (no answer): 1"))
    }

    @Test func clientEndpointsServeAndResetCounters() {
        var counters = BookClientCounters(role: .buyer)
        counters.record(path: "/buy-a-book/new", status: 200, identity: "bookstore-v1")
        #expect(counters.handle(DemoRequest(method: "GET", uri: "/raw")).body.hasPrefix(#"{"booksBought":1,"booksBoughtV1":1,"booksBoughtV2":0"#))
        #expect(counters.handle(DemoRequest(method: "GET", uri: "/")).body.contains("Total books bought: 1"))
        #expect(counters.handle(DemoRequest(method: "GET", uri: "/reset")).status == 200)
        #expect(counters.books == 0)
        #expect(counters.handle(DemoRequest(method: "GET", uri: "/nope")).status == 404)
        #expect(counters.handle(DemoRequest(method: "POST", uri: "/")).status == 405)
    }

    @Test func loopHeadersMatchTheDemoRouteGroup() {
        let booksBought = BookClientCounters.headers(for: "/books-bought")
        #expect(booksBought.contains { $0 == ("client-app", "bookbuyer") })
        #expect(booksBought.contains { $0.0 == "user-agent" && $0.1 == "Go-http-client/1.1" })
        #expect(!BookClientCounters.headers(for: "/buy-a-book/new").contains { $0.0 == "client-app" })
    }

    @Test func bookstoreSellsWithItsIdentityAndAsksForRestock() {
        var store = BookstoreState(identity: "bookstore-v2")
        let sale = store.handle(DemoRequest(method: "GET", uri: "/buy-a-book/new", headers: [("x-request-id", "r1")]), sellDelayMilliseconds: 300)
        #expect(sale.response.status == 200)
        #expect(sale.response.header("Identity") == "bookstore-v2")
        #expect(sale.response.header("Booksbought") == "1")
        #expect(sale.response.header("x-request-id") == "r1")
        #expect(sale.response.delayMilliseconds == 300)
        #expect(sale.restock)
        let look = store.handle(DemoRequest(method: "GET", uri: "/books-bought"))
        #expect(look.response.header("Booksbought") == "1")
        #expect(!look.restock)
        #expect(store.handle(DemoRequest(method: "POST", uri: "/books-bought", body: "41")).response.status == 200)
        #expect(store.booksSold == 41)
        #expect(store.handle(DemoRequest(method: "POST", uri: "/books-bought", body: "many")).response.status == 400)
        #expect(store.handle(DemoRequest(method: "GET", uri: "/raw")).response.body == "{\"booksSold\":41,\"identity\":\"bookstore-v2\"}\n")
        #expect(store.handle(DemoRequest(method: "GET", uri: "/reset")).response.status == 200)
        #expect(store.booksSold == 0)
        #expect(store.handle(DemoRequest(method: "GET", uri: "/elsewhere")).response.status == 404)
    }

    @Test func bookwarehouseAddsRestocks() {
        var warehouse = BookwarehouseState()
        let response = warehouse.handle(DemoRequest(method: "POST", uri: "/restock-books", body: "1"))
        #expect(response.status == 200)
        #expect(response.body == "{\"restocked\":1}\n")
        #expect(response.header("Identity") == "bookwarehouse")
        _ = warehouse.handle(DemoRequest(method: "POST", uri: "/", body: " 2\n"))
        #expect(warehouse.totalRestocked == 3)
        #expect(warehouse.handle(DemoRequest(method: "POST", uri: "/restock-books", body: "{}")).status == 400)
        #expect(warehouse.restocks == 2)
    }

    @Test func httpbinEchoesAndHonoursStatusAndDelay() {
        var bin = HttpbinState(identity: "httpbin-v1")
        let echo = bin.handle(DemoRequest(method: "put", uri: "/anything?x=1", headers: [("X-Test", "a\"b")], body: "hi"))
        #expect(echo.status == 200)
        #expect(echo.body == #"{"method":"PUT","path":"/anything","query":"x=1","headers":{"x-test":"a\"b"},"body":"hi","identity":"httpbin-v1"}"# + "\n")
        #expect(bin.handle(DemoRequest(method: "GET", uri: "/status/503")).status == 503)
        #expect(bin.handle(DemoRequest(method: "GET", uri: "/status/abc")).status == 400)
        #expect(bin.handle(DemoRequest(method: "GET", uri: "/status/42")).status == 400)
        #expect(bin.handle(DemoRequest(method: "GET", uri: "/delay/2")).delayMilliseconds == 2000)
        #expect(bin.handle(DemoRequest(method: "GET", uri: "/delay/60")).delayMilliseconds == 10_000)
        #expect(bin.handle(DemoRequest(method: "GET", uri: "/delay/-1")).status == 400)
        #expect(bin.handle(DemoRequest(method: "GET", uri: "/status/200")).header("Identity") == "httpbin-v1")
    }
}
