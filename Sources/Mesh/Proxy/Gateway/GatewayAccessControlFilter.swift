import MeshModel

/// FSM Gateway's AccessControlPolicy (F2-022) on a port, a hostname or a route match: the
/// client's address (with `enableXFF`, the first address of `x-forwarded-for` when there is one)
/// is checked against the lists; a whitelist, when present, decides alone (only its addresses
/// pass), otherwise a blacklisted address is refused. Refused: `statusCode` with `message` as the body.
struct GatewayAccessControlFilter: HTTPFilterHooks {
    var blacklist: [AddressRange]
    var whitelist: [AddressRange]
    var enableXFF: Bool
    var response: HTTPResponseHead

    static let deniedCounter = "gateway.access_denied"

    func decode(_ request: inout FilterRequest, _ input: FilterInput, counters: inout CounterTable, buckets: inout [TokenBucket],
                random: inout some RandomNumberGenerator) -> FilterOutcome {
        guard !admits(clientAddress(request)) else { return .proceed }
        counters[counters.index(GatewayAccessControlFilter.deniedCounter)] += 1
        return .localReply(response, .accessDenied)
    }

    func clientAddress(_ request: FilterRequest) -> String {
        if enableXFF, let forwarded = request.head.header("x-forwarded-for"),
           let first = forwarded.split(separator: ",").first?.trimmingSpaces, !first.isEmpty {
            return first
        }
        return request.sourceIP ?? ""
    }

    func admits(_ address: String) -> Bool {
        let parsed = AddressRange.parseIPv4(address)
        if !whitelist.isEmpty { return whitelist.contains { $0.contains(ip: address, parsed: parsed) } }
        return !blacklist.contains { $0.contains(ip: address, parsed: parsed) }
    }
}

extension GatewayAccessControlFilter {
    init(compiling settings: GatewayAccessControl, _ context: String) throws(ConfigRejection) {
        func ranges(_ texts: [String], _ field: String) throws(ConfigRejection) -> [AddressRange] {
            var result: [AddressRange] = []
            for text in texts {
                guard let range = AddressRange(parsing: text) else {
                    throw ConfigRejection(description: "\(context): \(field): \"\(text)\" is not an IP address or CIDR")
                }
                result.append(range)
            }
            return result
        }
        guard (100...599).contains(settings.statusCode) else {
            throw ConfigRejection(description: "\(context): statusCode \(settings.statusCode): expected 100-599")
        }
        let body = settings.message.isEmpty ? nil : settings.message
        self.init(blacklist: try ranges(settings.blacklist, "blacklist"), whitelist: try ranges(settings.whitelist, "whitelist"), enableXFF: settings.enableXFF,
                  response: HTTPResponseHead(status: settings.statusCode, headers: [HTTPHeader(name: "content-length", value: String(body?.utf8.count ?? 0))], body: body))
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
