import MeshModel

/// The guide's probe rewriting (fsm-guides.txt 5; inventory-egress-observability-security.md §7.2)
/// for one container's liveness, readiness and startup probes:
/// - `httpGet` with scheme HTTP (or none): port and path become the kind's (15901
///   `/fsm-liveness-probe`, 15902 `/fsm-readiness-probe`, 15903 `/fsm-startup-probe`);
/// - `httpGet` with scheme HTTPS: the port only;
/// - `tcpSocket`: becomes `httpGet` of `/fsm-healthcheck` on 15904, scheme HTTP, with the header
///   `Original-Tcp-Port: <port>`;
/// - anything else (`exec`, `grpc`) and absent probes stay as they are; other settings are kept.
/// A named port is looked up in the container's ports. The sidecar learns the original target
/// from the returned `SidecarProbe`.
public enum ProbeRewrite {
    /// What became of one probe.
    public enum Result: Hashable, Sendable {
        /// No probe of this kind, or one the rewrite leaves alone (`exec`, `grpc`).
        case unchanged
        case rewritten(probe: JSONValue, target: SidecarProbe)
        /// Left as it is, for the reason given (a warning for the user).
        case skipped(String)
    }

    /// The rewrite of `container`'s probe of `kind`.
    public static func rewrite(_ kind: SidecarProbe.Kind, in container: JSONValue) -> Result {
        guard let probe = container[kind.fieldName], case .object(let pairs) = probe else { return .unchanged }
        let timeout = probe["timeoutSeconds"].flatMap(\.intValue) ?? SidecarProbe.defaultTimeoutSeconds
        if let action = probe["httpGet"] {
            return rewriteHTTP(kind, action: action, pairs: pairs, container: container, timeout: timeout)
        }
        if let action = probe["tcpSocket"] {
            return rewriteTCP(kind, action: action, pairs: pairs, container: container, timeout: timeout)
        }
        return .unchanged
    }

    private static func rewriteHTTP(_ kind: SidecarProbe.Kind, action: JSONValue, pairs: [(String, JSONValue)], container: JSONValue, timeout: Int) -> Result {
        if let host = action["host"]?.stringValue, !host.isEmpty {
            return .skipped("its httpGet names host \(host), not the pod")
        }
        let port: Int
        switch resolvePort(action["port"], in: container) {
        case .success(let value): port = value
        case .failure(let problem): return .skipped(problem.text)
        }
        let scheme = action["scheme"]?.stringValue ?? "HTTP"
        var rewritten = action
        switch scheme.uppercased() {
        case "HTTP":
            let path = action["path"]?.stringValue ?? "/"
            rewritten = rewritten.setting("path", .string(kind.path)).setting("port", .int(kind.port))
            let target = SidecarProbe(kind: kind, target: .http(port: port, path: path.hasPrefix("/") ? path : "/" + path), timeoutSeconds: timeout)
            return .rewritten(probe: .object(replacing("httpGet", with: rewritten, in: pairs)), target: target)
        case "HTTPS":
            rewritten = rewritten.setting("port", .int(kind.port))
            let target = SidecarProbe(kind: kind, target: .https(port: port), timeoutSeconds: timeout)
            return .rewritten(probe: .object(replacing("httpGet", with: rewritten, in: pairs)), target: target)
        default:
            return .skipped("its httpGet scheme \(scheme) is neither HTTP nor HTTPS")
        }
    }

    private static func rewriteTCP(_ kind: SidecarProbe.Kind, action: JSONValue, pairs: [(String, JSONValue)], container: JSONValue, timeout: Int) -> Result {
        let port: Int
        switch resolvePort(action["port"], in: container) {
        case .success(let value): port = value
        case .failure(let problem): return .skipped(problem.text)
        }
        // Keys in the order `kubectl get -o yaml` prints them, as the guide shows.
        let httpGet: JSONValue = .object([
            ("httpHeaders", .array([.object([("name", .string(SidecarProbe.originalTCPPortHeader)), ("value", .string(String(port)))])])),
            ("path", .string(SidecarProbe.healthcheckPath)),
            ("port", .int(SidecarProbe.healthcheckPort)),
            ("scheme", .string("HTTP")),
        ])
        let probe = pairs.map { $0.0 == "tcpSocket" ? ("httpGet", httpGet) : $0 }
        return .rewritten(probe: .object(probe), target: SidecarProbe(kind: kind, target: .tcp(port: port), timeoutSeconds: timeout))
    }

    private struct PortProblem: Error {
        var text: String
    }

    /// A number, or the name of one of the container's ports.
    private static func resolvePort(_ value: JSONValue?, in container: JSONValue) -> Swift.Result<Int, PortProblem> {
        switch value {
        case .int(let number)? where (1...65535).contains(number):
            return .success(Int(number))
        case .string(let name)?:
            let ports = container["ports"]?.arrayItems ?? []
            if let match = ports.first(where: { $0["name"]?.stringValue == name }), let number = match["containerPort"]?.intValue, (1...65535).contains(number) {
                return .success(number)
            }
            return .failure(PortProblem(text: "its port \"\(name)\" names none of the container's ports"))
        default:
            return .failure(PortProblem(text: "its port is neither a port number nor a port name"))
        }
    }

    private static func replacing(_ key: String, with value: JSONValue, in pairs: [(String, JSONValue)]) -> [(String, JSONValue)] {
        pairs.map { $0.0 == key ? (key, value) : $0 }
    }
}

extension JSONValue {
    var intValue: Int? {
        switch self {
        case .int(let value): Int(exactly: value)
        case .double(let value): Int(exactly: value)
        default: nil
        }
    }

    /// This object with `key` set: replaced where it is, or appended.
    func setting(_ key: String, _ value: JSONValue) -> JSONValue {
        guard case .object(var pairs) = self else { return self }
        if let index = pairs.firstIndex(where: { $0.0 == key }) {
            pairs[index].1 = value
        } else {
            pairs.append((key, value))
        }
        return .object(pairs)
    }
}
