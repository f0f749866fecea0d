import Foundation

/// The vector selectors of a PromQL expression (`name{label op "value", ...}`), enough to check
/// that the guides' queries and the dashboard's expressions find series in a scraped exposition:
/// functions, ranges (`[30s]`), aggregations and `by (...)` around them are skipped.
struct PromQLSelector: CustomStringConvertible {
    enum Op: String { case equal = "=", notEqual = "!=", matches = "=~", notMatches = "!~" }

    struct Matcher {
        var label: String
        var op: Op
        var value: String
    }

    var name: String
    var matchers: [Matcher]

    var description: String {
        name + (matchers.isEmpty ? "" : "{" + matchers.map { "\($0.label)\($0.op.rawValue)\"\($0.value)\"" }.joined(separator: ",") + "}")
    }

    /// PromQL's rules: an absent label has the empty value; regexes match the whole value.
    func matches(_ sample: PrometheusSample) throws -> Bool {
        guard sample.name == name else { return false }
        for matcher in matchers {
            let value = sample.labels[matcher.label] ?? ""
            let holds: Bool
            switch matcher.op {
            case .equal: holds = value == matcher.value
            case .notEqual: holds = value != matcher.value
            case .matches, .notMatches:
                let whole = try Regex("^(?:" + matcher.value + ")$")
                let found = (try? whole.wholeMatch(in: value)) != nil
                holds = matcher.op == .matches ? found : !found
            }
            if !holds { return false }
        }
        return true
    }

    struct ParseError: Error, CustomStringConvertible {
        var expression: String
        var message: String
        var description: String { "\(message) in \(expression)" }
    }

    /// Keywords that are not metric names; the ones marked as grouping take a label list.
    private static let keywords: Set<String> = ["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"]
    private static let grouping: Set<String> = ["by", "without", "on", "ignoring", "group_left", "group_right"]

    /// Every selector of `expression`: a metric name, with its `{...}` matchers if any. Function
    /// names (followed by `(`), keywords, the label lists of `by (...)` and the like, numbers and
    /// durations are skipped.
    static func all(in expression: String) throws -> [PromQLSelector] {
        let chars = Array(expression)
        var selectors: [PromQLSelector] = []
        var index = 0
        while index < chars.count {
            if chars[index] == "\"" {
                index = try skipString(chars, from: index, expression: expression)
                continue
            }
            if chars[index] == "[" {
                while index < chars.count, chars[index] != "]" { index += 1 }
                continue
            }
            guard isNameStart(chars[index]), index == 0 || !isName(chars[index - 1]) else { index += 1; continue }
            var end = index
            while end < chars.count, isName(chars[end]) { end += 1 }
            let word = String(chars[index..<end])
            var next = end
            while next < chars.count, chars[next] == " " { next += 1 }
            if grouping.contains(word), next < chars.count, chars[next] == "(" {
                index = (chars[next...].firstIndex(of: ")") ?? chars.count - 1) + 1
            } else if next < chars.count, chars[next] == "(" || keywords.contains(word) {
                index = end
            } else if next < chars.count, chars[next] == "{" {
                let (matchers, after) = try parseMatchers(chars, from: next + 1, expression: expression)
                selectors.append(PromQLSelector(name: word, matchers: matchers))
                index = after
            } else {
                selectors.append(PromQLSelector(name: word, matchers: []))
                index = end
            }
        }
        return selectors
    }

    private static func isNameStart(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c == "_" || c == ":") }
    private static func isName(_ c: Character) -> Bool { isNameStart(c) || (c.isASCII && c.isNumber) }

    private static func skipString(_ chars: [Character], from start: Int, expression: String) throws -> Int {
        var index = start + 1
        while index < chars.count {
            if chars[index] == "\\" { index += 2; continue }
            if chars[index] == "\"" { return index + 1 }
            index += 1
        }
        throw ParseError(expression: expression, message: "unterminated string")
    }

    private static func parseMatchers(_ chars: [Character], from start: Int, expression: String) throws -> ([Matcher], Int) {
        var matchers: [Matcher] = []
        var index = start
        func skipSpaces() { while index < chars.count, chars[index] == " " { index += 1 } }
        while true {
            skipSpaces()
            guard index < chars.count else { throw ParseError(expression: expression, message: "unterminated {") }
            if chars[index] == "}" { return (matchers, index + 1) }
            let labelStart = index
            while index < chars.count, isName(chars[index]) { index += 1 }
            let label = String(chars[labelStart..<index])
            skipSpaces()
            let opText = String(chars[index..<min(index + 2, chars.count)])
            let op: Op
            if opText == "=~" || opText == "!~" || opText == "!=" { op = Op(rawValue: opText)!; index += 2 } else if chars[index] == "=" { op = .equal; index += 1 } else {
                throw ParseError(expression: expression, message: "expected a matcher operator after \(label)")
            }
            skipSpaces()
            guard !label.isEmpty, index < chars.count, chars[index] == "\"" else { throw ParseError(expression: expression, message: "expected a quoted value for \(label)") }
            let end = try skipString(chars, from: index, expression: expression)
            let raw = String(chars[(index + 1)..<(end - 1)])
            matchers.append(Matcher(label: label, op: op, value: raw.replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")))
            index = end
            skipSpaces()
            if index < chars.count, chars[index] == "," { index += 1 }
        }
    }
}

/// What Prometheus does to a scraped series with the guides' `kubernetes-pods` job (fsm-guides.txt
/// 4.1, BYO Prometheus): the job's target labels are attached, and an exposed label of the same
/// name is kept as `exported_<name>` (honor_labels false). This is why the guide's query 6.2 asks
/// for `exported_source_workload_name`.
struct ScrapeTarget {
    var labels: [String: String]

    /// The target labels the guide's relabel rules give a pod of a Deployment's ReplicaSet.
    static func kubernetesPod(namespace: String, pod: String, app: String, replicaSet: String) -> ScrapeTarget {
        let workload = String(replicaSet[..<(replicaSet.lastIndex(of: "-") ?? replicaSet.endIndex)])
        return ScrapeTarget(labels: [
            "job": "kubernetes-pods", "source_namespace": namespace, "source_pod_name": pod, "source_service": app,
            "source_workload_kind": "Deployment", "source_workload_name": workload,
        ])
    }

    func apply(_ samples: [PrometheusSample]) -> [PrometheusSample] {
        samples.map { sample in
            var out = sample
            for (name, value) in labels {
                if let exposed = out.labels.removeValue(forKey: name) { out.labels["exported_" + name] = exposed }
                out.labels[name] = value
            }
            return out
        }
    }
}
