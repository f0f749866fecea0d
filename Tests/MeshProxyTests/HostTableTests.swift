import Testing
@testable import MeshProxy

@Suite("Host table")
struct HostTableTests {
    @Test func findsEachHostAsWrittenAndTheFirstValueStays() {
        var table = HostTable()
        #expect(table["bookstore"] == nil)
        table.insertIfAbsent("bookstore", value: 0)
        table.insertIfAbsent("bookstore.bookstore:14001", value: 1)
        table.insertIfAbsent("bookstore", value: 7)
        #expect(table.count == 2)
        #expect(table["bookstore"] == 0)
        #expect(table["bookstore.bookstore:14001"] == 1)
        // Bytes as they are: no case folding, no prefix or suffix match.
        #expect(table["Bookstore"] == nil)
        #expect(table["bookstore.bookstore"] == nil)
        #expect(table["bookstore.bookstore:140011"] == nil)
        #expect(table[""] == nil)
        #expect(table.hosts.sorted() == ["bookstore", "bookstore.bookstore:14001"])
    }

    @Test func aThousandServicesHostFormsAllFoundAfterGrowing() {
        // A permissive mesh's port table: every form of every service's name, with and without the port.
        var table = HostTable()
        var expected: [String: Int] = [:]
        for service in 0..<1_000 {
            for form in ["svc-\(service)", "svc-\(service).ns", "svc-\(service).ns.svc.cluster.local"] {
                for host in [form, form + ":8080"] {
                    table.insertIfAbsent(host, value: service)
                    expected[host] = expected[host] ?? service
                }
            }
        }
        #expect(table.count == expected.count)
        for (host, service) in expected { #expect(table[host] == service) }
        #expect(table["svc-1000"] == nil)
        #expect(table["svc-1.ns:8081"] == nil)
    }

    @Test func hashesTheSameBytesAlikeAndNeverZero() {
        // A Host built from a slice of a larger buffer (as a parser makes it) hashes as the config's string.
        let native = "bookstore.bookstore:14001"
        let sliced = String("xbookstore.bookstore:14001".dropFirst())
        #expect(HostTable.hash(native) == HostTable.hash(sliced))
        #expect(HostTable.hash("") != 0)
    }
}
