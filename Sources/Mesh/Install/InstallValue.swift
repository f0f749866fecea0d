import MeshModel

/// One `fsm install --set` key: its type, its default, and whether the mesh builds what it turns on.
public struct InstallValue: Sendable {
    public enum ValueType: Sendable, Equatable {
        case boolean
        case string
        case integer(ClosedRange<Int>)
        /// A Go duration (`24h`, `30s`).
        case duration
        /// One of these strings.
        case oneOf([String])
        /// A Kubernetes resource quantity (`100m`, `128Mi`).
        case quantity
        /// Helm's list syntax, `{a,b}` or `[a,b]`, of CIDR ranges.
        case cidrList
        /// Helm's list syntax of port numbers.
        case portList
    }

    public var key: String
    public var type: ValueType
    public var defaultValue: JSONValue
    /// When set, the key is the guides' but what it turns on is not built: only its default is
    /// accepted, and any other value is refused with this reason.
    public var notBuilt: String?

    public init(_ key: String, _ type: ValueType, _ defaultValue: JSONValue, notBuilt: String? = nil) {
        self.key = key
        self.type = type
        self.defaultValue = defaultValue
        self.notBuilt = notBuilt
    }

    /// The value `text` stands for, or the reason it does not fit the type.
    func parse(_ text: String) -> Result<JSONValue, InstallError> {
        switch type {
        case .boolean:
            switch text {
            case "true": return .success(.bool(true))
            case "false": return .success(.bool(false))
            default: return .failure(InstallError("\(key) must be true or false, found \"\(text)\""))
            }
        case .string:
            return .success(.string(text))
        case .integer(let range):
            guard let value = Int(text), range.contains(value) else {
                return .failure(InstallError("\(key) must be an integer between \(range.lowerBound) and \(range.upperBound), found \"\(text)\""))
            }
            return .success(.int(value))
        case .duration:
            guard MeshDuration(parsing: text) != nil else {
                return .failure(InstallError("\(key) must be a duration such as 30s, 5m or 24h, found \"\(text)\""))
            }
            return .success(.string(text))
        case .oneOf(let allowed):
            guard allowed.contains(text) else {
                return .failure(InstallError("\(key) must be one of \(allowed.joined(separator: ", ")), found \"\(text)\""))
            }
            return .success(.string(text))
        case .quantity:
            guard Self.isQuantity(text) else {
                return .failure(InstallError("\(key) must be a Kubernetes quantity such as 100m, 1, 128Mi or 1Gi, found \"\(text)\""))
            }
            return .success(.string(text))
        case .cidrList:
            return Self.listItems(text, key: key).flatMap { items in
                if let bad = items.first(where: { !ManifestDecoder.isCIDR($0) }) {
                    return .failure(InstallError("\(key) must list IP ranges in CIDR notation such as 10.0.0.1/32, found \"\(bad)\""))
                }
                return .success(.array(items.map { .string($0) }))
            }
        case .portList:
            return Self.listItems(text, key: key).flatMap { items in
                var ports: [JSONValue] = []
                for item in items {
                    guard let port = Int(item), (1...65535).contains(port) else {
                        return .failure(InstallError("\(key) must list port numbers between 1 and 65535, found \"\(item)\""))
                    }
                    ports.append(.int(port))
                }
                return .success(.array(ports))
            }
        }
    }

    /// `{a,b}`, `[a,b]` or a single `a`; spaces and quotes around items are dropped, `{}` is empty.
    static func listItems(_ text: String, key: String) -> Result<[String], InstallError> {
        var body = Substring(text)
        if let first = body.first, first == "{" || first == "[" {
            guard let last = body.last, last == (first == "{" ? "}" : "]"), body.count >= 2 else {
                return .failure(InstallError("\(key) must be a list such as {a,b} or [a,b], found \"\(text)\""))
            }
            body = body.dropFirst().dropLast()
        }
        let items = body.split(separator: ",").map { $0.trimmingCharacters(in: " \"'") }.filter { !$0.isEmpty }
        return .success(items)
    }

    /// A Kubernetes quantity: a decimal number with an optional suffix (`m`, `k`, `M`, `G`, `Ki`, `Mi`, `Gi`, ...).
    static func isQuantity(_ text: String) -> Bool {
        let suffixes = ["", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
        let number = text.prefix(while: { $0.isASCII && ($0.isNumber || $0 == ".") })
        guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1, number != "." else { return false }
        return suffixes.contains(String(text.dropFirst(number.count)))
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
