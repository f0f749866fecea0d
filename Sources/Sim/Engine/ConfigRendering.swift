import MeshControl
import MeshModel

/// The configuration text a proxy receives (the controller's rendering, `fsm proxy get config_dump`).
func renderConfig(_ config: ProxyConfig, pretty: Bool) -> String {
    config.renderedJSON(pretty: pretty)
}

/// `renderConfig(config, pretty: false).utf8.count` without building the text: a proxy's memory
/// is modelled from its config size, and in a large permissive mesh every config lists every
/// service, so rendering it only to count its bytes dominated the set-up of a run.
func renderedConfigByteCount(_ config: ProxyConfig) -> Int {
    compactByteCount(config.jsonValue)
}

/// `renderedConfigByteCount` for many configs that share most of their parts: in a permissive
/// mesh every proxy group's outbound lists every service (its traffic matches differing only in
/// the client's identity and egress flag, its clusters often identical), so the size of each
/// outbound match (identity and egress set aside) and of each cluster is computed once and summed.
/// The result is exactly `renderedConfigByteCount(config)`; a match whose size does not decompose
/// that way (checked whenever one is first measured) turns the shortcut off.
struct ConfigByteCounter {
    private var matchBytes: [OutboundTrafficMatch: Int] = [:]
    private var clusterBytes: [ClusterConfig: Int] = [:]
    private var decomposes = true
    private var checkedWhole = false
    /// Bounds the memory kept when a long run keeps changing services.
    static let rememberedLimit = 1 << 16

    mutating func count(_ config: ProxyConfig) -> Int {
        guard decomposes else { return renderedConfigByteCount(config) }
        // The outbound section is one member value of the config's object: swap its size in.
        var rest = config
        rest.outbound = OutboundConfig()
        let emptyOutbound = compactByteCount(rest.outbound.jsonValue)
        let restBytes = compactByteCount(rest.jsonValue) - emptyOutbound
        guard let outbound = outboundByteCount(config.outbound) else {
            decomposes = false
            return renderedConfigByteCount(config)
        }
        if !checkedWhole, !config.outbound.trafficMatches.isEmpty {
            // Once per run, the whole sum against a direct count (the outbound's own shape).
            checkedWhole = true
            let direct = renderedConfigByteCount(config)
            guard direct == restBytes + outbound else {
                decomposes = false
                return direct
            }
        }
        return restBytes + outbound
    }

    /// `compactByteCount(outbound.jsonValue)`, or nil when a match's size does not decompose.
    private mutating func outboundByteCount(_ outbound: OutboundConfig) -> Int? {
        if matchBytes.count + clusterBytes.count > ConfigByteCounter.rememberedLimit {
            matchBytes.removeAll()
            clusterBytes.removeAll()
        }
        // `{"TrafficMatches":<map port → array of matches>,"ClustersConfigs":<map name → cluster>}`,
        // maps printing as null when empty.
        let shell = compactByteCount(OutboundConfig().jsonValue) - 2 * compactByteCount(.null)
        var matchesBytes = compactByteCount(.null)
        if !outbound.trafficMatches.isEmpty {
            var portSlot: [Int: Int] = [:]
            var perPort: [(port: Int, bytes: Int, count: Int)] = []
            for match in outbound.trafficMatches {
                guard let bytes = matchByteCount(match) else { return nil }
                if let slot = portSlot[match.port] {
                    perPort[slot].bytes += bytes
                    perPort[slot].count += 1
                } else {
                    portSlot[match.port] = perPort.count
                    perPort.append((match.port, bytes, 1))
                }
            }
            matchesBytes = 2 + perPort.count - 1
            for entry in perPort {
                let array = 2 + entry.count - 1 + entry.bytes
                matchesBytes += compactByteCount(.string(String(entry.port))) + 1 + array
            }
        }
        var clustersBytes = compactByteCount(.null)
        if !outbound.clustersConfigs.isEmpty {
            clustersBytes = 2 + outbound.clustersConfigs.count - 1
            for cluster in outbound.clustersConfigs {
                let bytes: Int
                if let known = clusterBytes[cluster] {
                    bytes = known
                } else {
                    bytes = compactByteCount(cluster.jsonValue)
                    clusterBytes[cluster] = bytes
                }
                clustersBytes += compactByteCount(.string(cluster.name)) + 1 + bytes
            }
        }
        return shell + matchesBytes + clustersBytes
    }

    /// A match's size: that of the same match with a blank identity and no egress, plus the
    /// difference its own identity and egress flag make.
    private mutating func matchByteCount(_ match: OutboundTrafficMatch) -> Int? {
        var key = match
        key.serviceIdentity = ""
        key.allowedEgressTraffic = false
        let difference = compactByteCount(.string(match.serviceIdentity)) - compactByteCount(.string(""))
            + compactByteCount(.bool(match.allowedEgressTraffic)) - compactByteCount(.bool(false))
        if let known = matchBytes[key] { return known + difference }
        let keyBytes = compactByteCount(key.jsonValue)
        guard keyBytes + difference == compactByteCount(match.jsonValue) else { return nil }
        matchBytes[key] = keyBytes
        return keyBytes + difference
    }
}

/// The length in UTF-8 bytes of `value.rendered(pretty: false)`, following `JSONValue`'s writer.
func compactByteCount(_ value: JSONValue) -> Int {
    switch value {
    case .null: return 4
    case .bool(let b): return b ? 4 : 5
    case .int(let i): return decimalLength(i)
    case .double(let d): return JSONValue.format(d).utf8.count
    case .string(let s): return quotedByteCount(s)
    case .array(let items):
        guard !items.isEmpty else { return 2 }
        var count = 2 + items.count - 1
        for item in items { count += compactByteCount(item) }
        return count
    case .object(let pairs):
        guard !pairs.isEmpty else { return 2 }
        var count = 2 + pairs.count - 1
        for (key, item) in pairs { count += quotedByteCount(key) + 1 + compactByteCount(item) }
        return count
    }
}

private func decimalLength(_ value: Int64) -> Int {
    var count = value < 0 ? 2 : 1
    var rest = value.magnitude / 10
    while rest > 0 { count += 1; rest /= 10 }
    return count
}

/// A JSON string literal's length: quotes, two-byte escapes, `\u00XX` for other control characters.
private func quotedByteCount(_ s: String) -> Int {
    var count = 2
    for byte in s.utf8 {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): count += 2
        case 0..<0x20: count += 6
        default: count += 1
        }
    }
    return count
}
