/// The compiled outbound traffic matches and what finds the one for a connection without trying
/// them in turn: a permissive mesh's outbound holds a match per service, nearly all on one port.
///
/// The answer is that of trying every match of the port in config order, first by destination
/// range and then (HTTP) by Host: the first match whose ranges hold the destination, else the
/// first whose host table knows the Host.
struct OutboundTables: Sendable {
    /// Settable so that a rule's filters can be given to compiled tables (the indexes below
    /// depend only on each match's port, ranges and hosts, which must not change).
    var matches: [CompiledTrafficMatch] = []
    /// The port of every match, so that a connection to any other port is refused at once.
    private var ports: Set<Int> = []
    /// The first match (config order) holding each single IPv4 address of its port (ranges that
    /// are all `/32`, as cluster IPs are).
    private var exactDestinations: [DestinationKey: Int] = [:]
    /// Per port, the matches with a wider or a literal range, in config order: tried in turn.
    private var rangedByPort: [Int: [Int]] = [:]
    /// Per port, every host form of its HTTP matches' host tables, with the first match (config order) that has it.
    private var hostsByPort: [Int: [String: Int]] = [:]

    private struct DestinationKey: Hashable {
        var port: Int
        var address: UInt32
    }

    init() {}

    init(_ matches: [CompiledTrafficMatch]) {
        self.matches = matches
        for (index, match) in matches.enumerated() {
            ports.insert(match.port)
            let addresses = match.destinationRanges.compactMap { range -> UInt32? in
                if case let .ipv4(network, mask) = range, mask == UInt32.max { return network }
                return nil
            }
            if addresses.count == match.destinationRanges.count {
                for address in addresses where exactDestinations[DestinationKey(port: match.port, address: address)] == nil {
                    exactDestinations[DestinationKey(port: match.port, address: address)] = index
                }
            } else {
                rangedByPort[match.port, default: []].append(index)
            }
            guard match.isHTTP else { continue }
            for host in match.hosts.keys where hostsByPort[match.port]?[host] == nil {
                hostsByPort[match.port, default: [:]][host] = index
            }
        }
    }

    subscript(index: Int) -> CompiledTrafficMatch {
        _read { yield matches[index] }
    }

    /// The traffic match for a destination: by destination range, else (HTTP) by Host.
    func match(destination: SocketAddress, host: String?) -> Int? {
        guard ports.contains(destination.port) else { return nil }
        let parsed = AddressRange.parseIPv4(destination.ip)
        var found = parsed.flatMap { exactDestinations[DestinationKey(port: destination.port, address: $0)] }
        for index in rangedByPort[destination.port] ?? [] {
            if let found, index > found { break }
            if matches[index].contains(destination: destination.ip, parsed: parsed) {
                found = index
                break
            }
        }
        if let found { return found }
        guard let host, let hosts = hostsByPort[destination.port] else { return nil }
        let written = CompiledTrafficMatch.normalizedHost(host)
        let other = CompiledTrafficMatch.otherHostForm(written, port: destination.port)
        switch (hosts[written], hosts[other]) {
        case let (first?, second?): return min(first, second)
        case let (first, second): return first ?? second
        }
    }
}
