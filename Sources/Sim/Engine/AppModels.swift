import MeshModel
import MeshProxy

/// What a Deployment's container does, resolved once from `apps:` or the container image.
///
/// Models (see `AppSpec.Model`): echo, httpbin, the bookstore demo family (demos.md §1.2), the
/// fortio server, and none (nothing listens: connections are refused). Options every model
/// understands: `status` (answer this code instead of the normal one), `errorRate` with
/// `errorStatus` (default 500) for a fraction of requests. `serviceTime` is added to every answer.
struct AppBehavior {
    var model: AppSpec.Model
    var serviceTime: Int64 = 0
    var body: String?
    var fixedStatus: Int?
    var errorRate: Double = 0
    var errorStatus = 500
    /// The `Identity` response header (bookstore: the IDENTITY env, others: the deployment name).
    var identity: String
    /// bookbuyer/bookthief: `<BOOKSTORE_SVC>.<BOOKSTORE_NAMESPACE>.svc.cluster.local:14001`.
    var bookstoreHost = "bookstore.bookstore.svc.cluster.local:14001"
    /// bookstore: where restocks go.
    var warehouseNamespace = "bookwarehouse"
    /// bookbuyer: CI_CLIENT_CONCURRENT_CONNECTIONS client loops (bookthief: 1).
    var clientLoops = 0
    /// CI_SLEEP_BETWEEN_REQUESTS_SECONDS: minimum length of one client iteration.
    var loopPeriod: Int64 = 1_000_000_000

    /// `body` interned by the engine (`SimEngine.bodyTexts`), -1: the model has no known body.
    var bodyID: Int32 = -1

    var bodyBytes: Int { body?.utf8.count ?? 0 }

    /// Report limit for response body texts.
    static let maxReportedBodyLength = 80

    /// The body as reports count it: only the echo model (an explicit `body`, or the message of a
    /// pipy one-liner) has a known body; trimmed of surrounding white space, at most 80 characters.
    /// nil when the model has no body or the body is empty.
    var reportedBody: String? {
        guard answersBody, let body, !body.isEmpty else { return nil }
        return AppBehavior.reportText(body)
    }

    /// Models whose answer is their `body`: echo, pipy-ok, tcp-echo, grpc-echo, udp-echo, tls-echo.
    var answersBody: Bool { [.echo, .pipyOk, .tcpEcho, .grpcEcho, .udpEcho, .tlsEcho].contains(model) }

    /// tls-echo: the Secret (`namespace/name`) and key of its certificate; an external host's
    /// tls-echo without one presents a public certificate for `publicHost`.
    var tlsSecret: String?
    var tlsCertificateKey = "tls.crt"
    var publicHost: String?

    /// FSM's pipy-ok sample answers this unless the scenario gives a body.
    static let pipyOkBody = "Hi, I am pipy!"

    static func reportText(_ body: String) -> String {
        let trimmed = body.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()
        return String(String(trimmed).prefix(maxReportedBodyLength))
    }

    /// Accepts TCP connections and echoes what it receives.
    func echoesTCP(port: Int) -> Bool {
        switch model {
        case .echo, .tcpEcho: true
        case .fortio: port == 8078
        default: false
        }
    }

    /// Echoes UDP datagrams on `port`: udp-echo on every port, fortio's UDP echo on 8078.
    func echoesUDP(port: Int) -> Bool {
        model == .udpEcho || (model == .fortio && port == 8078)
    }

    /// Accepts TCP connections (udp-echo serves UDP only).
    var listens: Bool { model != .none && model != .udpEcho }

    /// The response headers the model adds to every answer: a gRPC server's trailers-only status.
    var extraResponseHeaders: [HTTPHeader] {
        model == .grpcEcho ? [HTTPHeader(name: "content-type", value: "application/grpc"), HTTPHeader(name: "grpc-status", value: "0")] : []
    }

    init(deployment: String, template: PodSpec, spec: AppSpec?) {
        let env = Dictionary(template.containers.flatMap(\.env).map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        model = spec?.model ?? AppBehavior.model(forImageOf: template)
        identity = deployment
        body = spec?.body
        if body == nil, model == .echo { body = AppBehavior.pipyMessage(in: template) }
        if body == nil, model == .pipyOk { body = AppBehavior.pipyOkBody }
        serviceTime = spec?.serviceTime?.nanoseconds ?? 0
        if let options = spec?.options {
            fixedStatus = options["status"].flatMap { Int($0) }
            errorRate = options["errorRate"].flatMap { Double($0) } ?? 0
            errorStatus = options["errorStatus"].flatMap { Int($0) } ?? 500
            tlsSecret = options["secret"]
            tlsCertificateKey = options["certificateKey"] ?? tlsCertificateKey
        }
        if model == .echo, fixedStatus == nil { fixedStatus = AppBehavior.pipyStatus(in: template) }
        switch model {
        case .bookstore:
            identity = env["IDENTITY"] ?? deployment
            warehouseNamespace = env["BOOKWAREHOUSE_NAMESPACE"] ?? "bookwarehouse"
        case .bookbuyer, .bookthief:
            let namespace = env["BOOKSTORE_NAMESPACE"] ?? "bookstore"
            let service = env["BOOKSTORE_SVC"] ?? "bookstore"
            bookstoreHost = "\(service).\(namespace).svc.cluster.local:14001"
            clientLoops = model == .bookbuyer ? max(1, env["CI_CLIENT_CONCURRENT_CONNECTIONS"].flatMap { Int($0) } ?? 1) : 1
            if let seconds = env["CI_SLEEP_BETWEEN_REQUESTS_SECONDS"].flatMap({ Double($0) }), seconds >= 0 {
                loopPeriod = Int64(seconds * 1e9)
            }
        default:
            break
        }
    }

    /// The model a container image implies, when the simulator knows the image.
    static func model(forImageOf spec: PodSpec) -> AppSpec.Model {
        for container in spec.containers {
            let image = container.image.lowercased()
            let repository = image.split(separator: ":").first.map(String.init) ?? image
            if repository.hasSuffix("bookbuyer") { return .bookbuyer }
            if repository.hasSuffix("bookthief") { return .bookthief }
            if repository.hasSuffix("bookwarehouse") { return .bookwarehouse }
            if repository.hasSuffix("bookstore") { return .bookstore }
            if repository.contains("httpbin") { return .httpbin }
            if repository.hasSuffix("fortio/fortio") || repository == "fortio" { return .fortio }
            if repository.contains("pipy-ok") { return .pipyOk }
            if repository.contains("echo") { return .echo }
            if repository.hasSuffix("flomesh/pipy"), pipyMessage(in: spec) != nil || servesHTTP(spec) { return .echo }
        }
        return .none
    }

    /// The body of a `pipy().listen(...).serveHTTP(new Message('...'))` one-liner (the canary demo's
    /// "httpbin"), or of `new Message({status: 503},'...')` (the gateway demos' pipy pods).
    static func pipyMessage(in spec: PodSpec) -> String? {
        for container in spec.containers {
            let script = (container.command + container.args).joined(separator: " ")
            guard let message = script.firstRange(of: "new Message(") else { continue }
            var rest = script[message.upperBound...]
            if rest.hasPrefix("{"), let close = rest.firstIndex(of: "}") { rest = rest[rest.index(after: close)...].drop { $0 == "," || $0 == " " } }
            guard rest.hasPrefix("'") else { continue }
            rest = rest.dropFirst()
            guard let end = rest.firstIndex(of: "'") else { continue }
            return String(rest[..<end]).replacing("\\n", with: "\n")
        }
        return nil
    }

    /// A pipy one-liner that serves HTTP without a fixed message (`serveHTTP(msg => msg)`, an echo
    /// of the request: its body is unknown to the simulator).
    static func servesHTTP(_ spec: PodSpec) -> Bool {
        spec.containers.contains { ($0.command + $0.args).joined(separator: " ").contains("serveHTTP(") }
    }

    /// The status of a `new Message({status: 503},'...')` one-liner (nil: 200, pipy's default).
    static func pipyStatus(in spec: PodSpec) -> Int? {
        for container in spec.containers {
            let script = (container.command + container.args).joined(separator: " ")
            guard let head = script.firstRange(of: "new Message({status:") else { continue }
            return Int(script[head.upperBound...].drop { $0 == " " }.prefix { $0.isNumber })
        }
        return nil
    }
}

/// One bookbuyer/bookthief client loop (demos.md §1.2 `GetBooks`).
struct ClientLoop {
    var iterationStart: Int64 = 0
    /// 0: `/books-bought` first, 1: `/buy-a-book/new` first (Go map order is random).
    var buyFirst = false
    /// Requests of this iteration already answered (0, 1, 2).
    var done = 0
}

/// An app's mutable state and counters.
struct AppState {
    var random: SimRandom
    var received = 0
    var booksSold = 0
    var booksBoughtV1 = 0
    var booksBoughtV2 = 0
    var restocked = 0
    var restockRequests = 0
    var loops: [ClientLoop] = []
    /// Set by an `error` fault.
    var faultErrorStatus = 0
    var faultErrorRate = 0.0
    /// fortio's query parsed for the last path seen (loads repeat one path).
    private var fortioCachePath: String?
    private var fortioCache = FortioQuery()

    init(random: SimRandom) { self.random = random }

    /// Counters as the report shows them (non-zero only, except the main one of each model).
    func counters(model: AppSpec.Model) -> [(String, Int)] {
        switch model {
        case .bookbuyer: [("booksBought", booksBoughtV1 + booksBoughtV2), ("booksBoughtV1", booksBoughtV1), ("booksBoughtV2", booksBoughtV2)]
        case .bookthief: [("booksStolen", booksBoughtV1 + booksBoughtV2), ("booksStolenV1", booksBoughtV1), ("booksStolenV2", booksBoughtV2)]
        case .bookstore: [("booksSold", booksSold), ("restockRequests", restockRequests)]
        case .bookwarehouse: [("restocked", restocked)]
        default: []
        }
    }

    struct Reply {
        var status: Int
        var delay: Int64
        /// bookstore: fire the restock POST to bookwarehouse.
        var restock = false
        /// False when an injected error (`errorRate`, an `error` fault) replaced the normal answer,
        /// which then carries no app body.
        var normalBody = true
    }

    /// Handles one HTTP request that reached the container.
    mutating func handle(_ behavior: AppBehavior, method: String, path fullPath: String, port: Int) -> Reply {
        received += 1
        var reply = Reply(status: 200, delay: behavior.serviceTime)
        let path = HTTPRequestHead.pathWithoutQuery(fullPath)
        switch behavior.model {
        case .echo, .none, .pipyOk, .tcpEcho, .grpcEcho, .udpEcho, .tlsEcho:
            break
        case .httpbin:
            reply = httpbin(path: path, serviceTime: behavior.serviceTime)
        case .bookstore:
            switch path {
            case "/buy-a-book/new":
                booksSold += 1
                reply.delay += Int64(150 + random.below(600)) * 1_000_000
                reply.restock = true
            case "/reset": booksSold = 0
            case "/books-bought", "/", "/raw", "/liveness", "/readiness", "/startup": break
            default: reply.status = 404
            }
        case .bookwarehouse:
            switch path {
            case "/restock-books", "/": restocked += 1
            default: reply.status = 404
            }
        case .bookbuyer, .bookthief:
            switch path {
            case "/reset": booksBoughtV1 = 0; booksBoughtV2 = 0
            case "/", "/raw": break
            default: reply.status = 404
            }
        case .fortio:
            if fortioCachePath != fullPath {
                fortioCache = FortioQuery(path: fullPath)
                fortioCachePath = fullPath
            }
            if let status = fortioCache.pickStatus(&random) { reply.status = status }
            reply.delay += fortioCache.pickDelay(&random)
        }
        if let fixed = behavior.fixedStatus { reply.status = fixed }
        if behavior.errorRate > 0, random.unit() < behavior.errorRate { reply.status = behavior.errorStatus; reply.normalBody = false }
        if faultErrorRate > 0, random.unit() < faultErrorRate { reply.status = faultErrorStatus; reply.normalBody = false }
        return reply
    }

    private mutating func httpbin(path: Substring, serviceTime: Int64) -> Reply {
        var reply = Reply(status: 200, delay: serviceTime)
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        switch parts.first {
        case nil: break
        case "status":
            // `/status/503` or `/status/200,503` (one picked at random, like httpbin).
            let codes = parts.count > 1 ? parts[1].split(separator: ",").compactMap { Int($0) } : []
            if codes.isEmpty || codes.contains(where: { !(100...599).contains($0) }) {
                reply.status = 400
            } else {
                reply.status = codes.count == 1 ? codes[0] : codes[random.below(codes.count)]
            }
        case "delay":
            if parts.count > 1, let seconds = Double(parts[1]), seconds >= 0 {
                reply.delay += Int64(min(seconds, 10) * 1e9)
            } else {
                reply.status = 400
            }
        case "get", "headers", "ip", "user-agent", "anything", "post", "put", "delete", "patch", "uuid", "json", "html":
            break
        default:
            reply.status = 404
        }
        return reply
    }
}

/// fortio server's `?status=503:20,429:10&delay=200ms:20` (percentages; no `:p` means 100).
struct FortioQuery {
    var statuses: [(code: Int, percent: Double)] = []
    var delays: [(nanoseconds: Int64, percent: Double)] = []

    init() {}

    init(path: String) {
        guard let mark = path.firstIndex(of: "?") else { return }
        for pair in path[path.index(after: mark)...].split(separator: "&") {
            let keyValue = pair.split(separator: "=", maxSplits: 1)
            guard keyValue.count == 2 else { continue }
            for entry in keyValue[1].split(separator: ",") {
                let fields = entry.split(separator: ":", maxSplits: 1)
                let percent = fields.count > 1 ? Double(fields[1]) ?? 100 : 100
                switch keyValue[0] {
                case "status": if let code = Int(fields[0]) { statuses.append((code, percent)) }
                case "delay": if let d = MeshDuration(parsing: String(fields[0])) { delays.append((d.nanoseconds, percent)) }
                default: break
                }
            }
        }
    }

    mutating func pickStatus(_ random: inout SimRandom) -> Int? {
        guard !statuses.isEmpty else { return nil }
        var roll = random.unit() * 100
        for entry in statuses {
            if roll < entry.percent { return entry.code }
            roll -= entry.percent
        }
        return nil
    }

    mutating func pickDelay(_ random: inout SimRandom) -> Int64 {
        guard !delays.isEmpty else { return 0 }
        var roll = random.unit() * 100
        for entry in delays {
            if roll < entry.percent { return entry.nanoseconds }
            roll -= entry.percent
        }
        return 0
    }
}
