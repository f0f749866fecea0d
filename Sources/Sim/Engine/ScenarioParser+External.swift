import MeshControl
import MeshManifest
import MeshModel

extension ScenarioParser {
    /// `external:`: `name: { host, ip, ports, model, ... }` per host outside the cluster.
    static func parseExternalHosts(_ external: YAMLReader) throws(ManifestError) -> [ExternalHost] {
        guard external.isMapping else { throw external.typeMismatch(expected: .mapping) }
        var hosts: [ExternalHost] = []
        for (name, entry) in try external.entries() {
            guard entry.isMapping else { throw entry.typeMismatch(expected: .mapping) }
            try entry.checkKnownKeys(ScenarioKeys.externalHost)
            if name == LoadSpec.external {
                throw ManifestError(at: entry.keyLocation, path: entry.path, message: "\"external\" names the outside client of loads; give the host another name")
            }
            let hostReader = try entry.required("host")
            let host = try hostReader.string().lowercased()
            guard isHostName(host) else {
                throw hostReader.error("expected a DNS name such as httpbin.org, found \(YAMLReader.quotedText(host))")
            }
            let ipReader = try entry.required("ip")
            let ip = try ipReader.string()
            guard let address = AddressPlan.parse(ip) else {
                throw ipReader.error("expected an IPv4 address such as 203.0.113.10, found \(YAMLReader.quotedText(ip))")
            }
            if let clash = clusterRangeName(address) {
                throw ipReader.error("\(ip) is inside the cluster's \(clash); an external host needs an address outside it (e.g. 203.0.113.10)")
            }
            let portsReader = try entry.required("ports")
            let ports = try portsReader.intList(in: 1...65_535)
            if ports.isEmpty { throw portsReader.error("expected at least one port, e.g. [80, 443]") }
            if let earlier = hosts.first(where: { $0.host == host || $0.ip == ip }) {
                let what = earlier.host == host ? "host \(host)" : "ip \(ip)"
                throw entry.error("\(what) is already external host \(YAMLReader.quotedText(earlier.name))'s")
            }
            hosts.append(ExternalHost(name: name, host: host, ip: ip, ports: ports, app: try parseAppSpec(entry)))
        }
        return hosts
    }

    /// Lowercase labels of letters, digits and `-`, joined by dots.
    static func isHostName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
        }
    }

    /// The simulator's pod and service ranges (`AddressPlan.simulator`, /16 each), and the outside client's address.
    static func clusterRangeName(_ address: UInt32) -> String? {
        let plan = AddressPlan.simulator
        if address >> 16 == plan.podAddress(0) >> 16 { return "pod range" }
        if address >> 16 == plan.serviceAddress(0) >> 16 { return "service range" }
        if address == AddressPlan.parse(LoadSpec.externalClientIP) { return "outside client's address" }
        return nil
    }
}
