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
    /// Per port of some match: its ranged matches and host forms (a connection to any other port
    /// is refused at once). Tables without `Hasher`: each outbound request reads two of them.
    private var byPort = IntegerTable<Int, PortTables>()
    /// The first match (config order) holding each single IPv4 address of its port (ranges that
    /// are all `/32`, as cluster IPs are), by `port << 32 | address`.
    private var exactDestinations = IntegerTable<UInt64, Int>()

    private struct PortTables: Sendable {
        /// The matches with a wider or a literal range, in config order: tried in turn.
        var ranged: [Int] = []
        /// Every host form of the port's HTTP matches' host tables, with the first match (config order) that has it.
        var hosts = HostTable()
    }

    private static func destinationKey(port: Int, address: UInt32) -> UInt64 {
        UInt64(truncatingIfNeeded: port) << 32 | UInt64(address)
    }

    init() {}

    init(_ matches: [CompiledTrafficMatch]) {
        self.matches = matches
        for (index, match) in matches.enumerated() {
            if byPort[match.port] == nil { byPort[match.port] = PortTables() }
            let addresses = match.destinationRanges.compactMap { range -> UInt32? in
                if case let .ipv4(network, mask) = range, mask == UInt32.max { return network }
                return nil
            }
            if addresses.count == match.destinationRanges.count {
                for address in addresses where exactDestinations[Self.destinationKey(port: match.port, address: address)] == nil {
                    exactDestinations[Self.destinationKey(port: match.port, address: address)] = index
                }
            } else {
                byPort[match.port]!.ranged.append(index)
            }
            guard match.isHTTP else { continue }
            for host in match.hosts.hosts { byPort[match.port]!.hosts.insertIfAbsent(host, value: index) }
        }
    }

    subscript(index: Int) -> CompiledTrafficMatch {
        _read { yield matches[index] }
    }

    /// The traffic match for a destination: by destination range, else (HTTP) by Host.
    func match(destination: SocketAddress, host: String?) -> Int? {
        guard let port = byPort.index(forKey: destination.port) else { return nil }
        let parsed = AddressRange.parseIPv4(destination.ip)
        var found = parsed.flatMap { exactDestinations[Self.destinationKey(port: destination.port, address: $0)] }
        for index in byPort[port].ranged {
            if let found, index > found { break }
            if matches[index].contains(destination: destination.ip, parsed: parsed) {
                found = index
                break
            }
        }
        if let found { return found }
        guard let host else { return nil }
        let hosts = byPort[port].hosts
        let written = CompiledTrafficMatch.normalizedHost(host)
        let other = CompiledTrafficMatch.otherHostForm(written, port: destination.port)
        switch (hosts[written], hosts[other]) {
        case let (first?, second?): return min(first, second)
        case let (first, second): return first ?? second
        }
    }
}
