/// A route regex compiled once at config time and matched against a whole string. Literal
/// patterns and `literal.*` prefixes avoid the regex engine entirely; `.*` matches everything.
///
/// `@unchecked Sendable`: `Regex<AnyRegexOutput>` is not Sendable only because of its output
/// type; the matcher is immutable, compiled eagerly at config time and only read afterwards.
enum PatternMatcher: @unchecked Sendable {
    case any
    case exact(String)
    case prefix(String)
    case regex(Regex<AnyRegexOutput>)

    struct InvalidPattern: Error, CustomStringConvertible {
        var pattern: String
        var underlying: String
        var description: String { "invalid regex \"\(pattern)\": \(underlying)" }
    }

    init(compiling pattern: String) throws(InvalidPattern) {
        var body = Substring(pattern)
        // The match is always whole, so explicit anchors add nothing.
        if body.hasPrefix("^") { body = body.dropFirst() }
        if body.hasSuffix("$"), !body.hasSuffix("\\$") { body = body.dropLast() }
        // An empty pattern in the config means "no constraint".
        if body == ".*" || pattern.isEmpty {
            self = .any
            return
        }
        if body.allSatisfy({ !PatternMatcher.metacharacters.contains($0) }) {
            self = .exact(String(body))
            return
        }
        if body.hasSuffix(".*") {
            let stem = body.dropLast(2)
            if stem.allSatisfy({ !PatternMatcher.metacharacters.contains($0) }) {
                self = .prefix(String(stem))
                return
            }
        }
        do {
            let regex = try Regex(pattern)
            // Swift compiles a regex lazily on first use; do it now, not on the first request.
            _ = "".wholeMatch(of: regex)
            self = .regex(regex)
        } catch {
            throw InvalidPattern(pattern: pattern, underlying: "\(error)")
        }
    }

    /// `.*`: every text matches, so a caller need not work out the text.
    var matchesEverything: Bool {
        if case .any = self { return true }
        return false
    }

    func matches(_ text: Substring) -> Bool {
        switch self {
        case .any: true
        case let .exact(literal): text == literal
        case let .prefix(stem): text.hasPrefix(stem)
        case let .regex(regex): (try? regex.wholeMatch(in: text)) != nil
        }
    }

    private static let metacharacters: Set<Character> = ["\\", "^", "$", ".", "|", "?", "*", "+", "(", ")", "[", "]", "{", "}"]
}
