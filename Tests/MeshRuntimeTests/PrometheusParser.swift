/// A strict reader of the Prometheus text format 0.0.4, enough to validate `/stats/prometheus`:
/// HELP/TYPE comments, `name{label="value",...} number` samples, each sample after its family's TYPE.
struct PrometheusSample: Equatable {
    var name: String
    var labels: [String: String]
    var value: Double
}

struct PrometheusParseError: Error, CustomStringConvertible {
    var line: Int
    var message: String
    var description: String { "line \(line): \(message)" }
}

func parsePrometheus(_ text: String) throws -> [PrometheusSample] {
    var types: [String: String] = [:]
    var samples: [PrometheusSample] = []
    func isNameStart(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c == "_" || c == ":") }
    func isName(_ c: Character) -> Bool { isNameStart(c) || (c.isASCII && c.isNumber) }
    func validName(_ s: Substring) -> Bool { !s.isEmpty && isNameStart(s.first!) && s.allSatisfy(isName) }

    for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let lineNumber = index + 1
        let line = rawLine
        if line.isEmpty { continue }
        if line.hasPrefix("#") {
            let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
            guard parts.count >= 3, parts[0] == "#" else { continue }
            if parts[1] == "TYPE" {
                guard parts.count == 4, validName(parts[2]), ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                    throw PrometheusParseError(line: lineNumber, message: "bad TYPE line")
                }
                guard types[String(parts[2])] == nil else { throw PrometheusParseError(line: lineNumber, message: "second TYPE for \(parts[2])") }
                types[String(parts[2])] = String(parts[3])
            } else if parts[1] == "HELP" {
                guard validName(parts[2]) else { throw PrometheusParseError(line: lineNumber, message: "bad HELP line") }
            }
            continue
        }
        var rest = line[...]
        let name = rest.prefix(while: isName)
        guard validName(name) else { throw PrometheusParseError(line: lineNumber, message: "bad metric name") }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let key = rest.prefix(while: isName)
                guard validName(key) else { throw PrometheusParseError(line: lineNumber, message: "bad label name") }
                rest = rest.dropFirst(key.count)
                guard rest.hasPrefix("=\"") else { throw PrometheusParseError(line: lineNumber, message: "expected =\" after label") }
                rest = rest.dropFirst(2)
                var value = ""
                while true {
                    guard let c = rest.first else { throw PrometheusParseError(line: lineNumber, message: "unterminated label value") }
                    rest = rest.dropFirst()
                    if c == "\"" { break }
                    if c == "\\" {
                        guard let escaped = rest.first else { throw PrometheusParseError(line: lineNumber, message: "bad escape") }
                        rest = rest.dropFirst()
                        switch escaped {
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        default: throw PrometheusParseError(line: lineNumber, message: "bad escape")
                        }
                    } else {
                        value.append(c)
                    }
                }
                labels[String(key)] = value
                if rest.first == "," { rest = rest.dropFirst() }
                else if rest.first != "}" { throw PrometheusParseError(line: lineNumber, message: "expected , or }") }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " " else { throw PrometheusParseError(line: lineNumber, message: "expected a space before the value") }
        let fields = rest.dropFirst().split(separator: " ")
        guard fields.count == 1 || fields.count == 2 else { throw PrometheusParseError(line: lineNumber, message: "bad value") }
        let valueText = String(fields[0])
        guard let value = Double(valueText) ?? (valueText == "+Inf" ? .infinity : valueText == "-Inf" ? -.infinity : nil) else {
            throw PrometheusParseError(line: lineNumber, message: "value is not a number")
        }
        var family = String(name)
        for suffix in ["_bucket", "_sum", "_count"] where family.hasSuffix(suffix) && types[family] == nil {
            let base = String(family.dropLast(suffix.count))
            if types[base] == "histogram" || types[base] == "summary" { family = base }
        }
        guard types[family] != nil else { throw PrometheusParseError(line: lineNumber, message: "sample of \(name) before its TYPE") }
        if types[family] == "histogram", name.hasSuffix("_bucket"), labels["le"] == nil {
            throw PrometheusParseError(line: lineNumber, message: "histogram bucket without le")
        }
        samples.append(PrometheusSample(name: String(name), labels: labels, value: value))
    }
    return samples
}
