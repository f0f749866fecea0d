import MeshModel

/// The Gateway API's RequestHeaderModifier or ResponseHeaderModifier: remove, then set (replace
/// every value of the name, or add it), then add (one more line, after any existing ones), names
/// compared case-insensitively. On the request side `host` is the authority.
struct HeaderModifierFilter: HTTPFilterHooks {
    enum Side: Hashable, Sendable { case request, response }

    var side: Side
    var set: [HTTPHeader] = []
    var add: [HTTPHeader] = []
    var remove: [String] = []

    var hasEncode: Bool { side == .response }

    func decode(_ request: inout FilterRequest, _ input: FilterInput, counters: inout CounterTable, buckets: inout [TokenBucket],
                random: inout some RandomNumberGenerator) -> FilterOutcome {
        guard side == .request else { return .proceed }
        var headers = request.head.headers
        var authority = request.head.authority
        modify(&headers, authority: &authority)
        if headers != request.head.headers || authority != request.head.authority {
            request.head.headers = headers
            request.head.authority = authority
            request.headModified = true
        }
        return .proceed
    }

    func encode(_ response: inout HTTPResponseHead) {
        guard side == .response else { return }
        var ignored = ""
        modify(&response.headers, authority: &ignored)
    }

    /// `authority` stands for a `host` header (a request's Host lives there, not in `headers`).
    func modify(_ headers: inout [HTTPHeader], authority: inout String) {
        for name in remove {
            headers.removeAll { asciiCaseInsensitiveEquals($0.name, name) }
        }
        for header in set {
            if side == .request, asciiCaseInsensitiveEquals(header.name, "host") {
                authority = header.value
                continue
            }
            if let first = headers.firstIndex(where: { asciiCaseInsensitiveEquals($0.name, header.name) }) {
                headers[first].value = header.value
                var index = headers.index(after: first)
                while index < headers.endIndex {
                    if asciiCaseInsensitiveEquals(headers[index].name, header.name) { headers.remove(at: index) } else { index += 1 }
                }
            } else {
                headers.append(header)
            }
        }
        headers += add
    }
}
