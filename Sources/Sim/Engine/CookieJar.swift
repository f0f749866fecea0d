/// A load's cookie jar (`cookies: true`, `curl -b -c` with a jar): each `set-cookie` of a response
/// keeps its `name=value`, replacing an earlier one of the name; later requests send them all in
/// one `cookie` header. The simulator's loads and the real run's share it.
public struct CookieJar: Sendable {
    private var cookies: [(name: Substring, pair: String)] = []

    public init() {}

    public var isEmpty: Bool { cookies.isEmpty }

    /// The `cookie` header's value; nil with no cookie kept.
    public var header: String? { cookies.isEmpty ? nil : cookies.map(\.pair).joined(separator: "; ") }

    /// Keeps each `set-cookie` value of a response.
    public mutating func keep(setCookies values: some Sequence<String>) {
        for value in values {
            let pair = String(value.prefix { $0 != ";" }.drop { $0 == " " })
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else { continue }
            let name = pair[..<equals]
            cookies.removeAll { $0.name == name }
            cookies.append((name: name, pair: pair))
        }
    }
}
