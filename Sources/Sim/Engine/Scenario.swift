import MeshControl
import MeshModel

/// A parsed scenario file (see ../shared/SCENARIOS.md for the contract).
///
/// Pure data: `ScenarioParser` builds it from YAML with file/line/column errors, `Simulation`
/// runs it, `ExpectationChecker` judges the result against `expectations`.
public struct Scenario: Hashable, Sendable {
    public var name: String
    public var description: String
    public var file: String
    public var seed: UInt64
    /// nil: until the last step (and every load) has finished.
    public var duration: MeshDuration?
    public var mesh: MeshSettings
    public var network: NetworkSettings
    /// Resources applied at 0s, in file order.
    public var manifests: [Resource]
    /// By Deployment name.
    public var apps: [String: AppSpec]
    /// In time order (stable for equal times).
    public var steps: [Step]
    public var expectations: [Expectation]
    /// Hosts outside the cluster (`external:`), in file order.
    public var externalHosts: [ExternalHost] = []

    public init(name: String, description: String = "", file: String = "", seed: UInt64 = 1, duration: MeshDuration? = nil, mesh: MeshSettings = MeshSettings(), network: NetworkSettings = NetworkSettings(), manifests: [Resource] = [], apps: [String: AppSpec] = [:], steps: [Step] = [], expectations: [Expectation] = []) {
        self.name = name
        self.description = description
        self.file = file
        self.seed = seed
        self.duration = duration
        self.mesh = mesh
        self.network = network
        self.manifests = manifests
        self.apps = apps
        self.steps = steps
        self.expectations = expectations
    }
}

/// `mesh:`: install-time settings, as `fsm install --set fsm.<key>=...`, and `fsm namespace add`.
public struct MeshSettings: Hashable, Sendable {
    /// The MeshConfig the mesh starts with (a MeshConfig in `manifests` replaces it).
    public var meshConfig: MeshConfig
    /// Namespaces added to the mesh (monitored, sidecar injection enabled).
    public var namespaces: [String]
    /// How long a changed configuration takes to reach the proxies (controller batching + delivery).
    public var configDelay: MeshDuration
    /// The kubelet's readiness probe of every injected sidecar (`/ready` on its admin port): a
    /// sidecar that crashed fails it, and after `failureThreshold` failures its pod leaves the
    /// endpoints; the kubelet's defaults unless the scenario sets them.
    public var sidecarReadinessProbe: ReadinessProbe.Settings

    public init(meshConfig: MeshConfig = MeshConfig(), namespaces: [String] = [], configDelay: MeshDuration = .milliseconds(100),
                sidecarReadinessProbe: ReadinessProbe.Settings = .kubelet) {
        self.meshConfig = meshConfig
        self.namespaces = namespaces
        self.configDelay = configDelay
        self.sidecarReadinessProbe = sidecarReadinessProbe
    }
}

public enum LatencySpec: Hashable, Sendable {
    case fixed(MeshDuration)
    /// A log-normal distribution fitted to the two percentiles.
    case distribution(p50: MeshDuration, p99: MeshDuration)
}

public struct NetworkSettings: Hashable, Sendable {
    public var latency: LatencySpec
    /// Fraction of packets (messages) lost, 0...1.
    public var loss: Double

    public init(latency: LatencySpec = .fixed(.microseconds(250)), loss: Double = 0) {
        self.latency = latency
        self.loss = loss
    }
}

/// What a Deployment's container does (`apps:`).
public struct AppSpec: Hashable, Sendable {
    public enum Model: String, Hashable, Sendable, CaseIterable {
        /// Answers every request with `body` (and `Identity` header = deployment name).
        case echo
        /// `/status/<code>`, `/get`, `/headers`, `/delay/<s>`.
        case httpbin
        case bookstore
        case bookbuyer
        case bookthief
        case bookwarehouse
        /// fortio server: HTTP echo on 8080, TCP echo on 8078, `?status=503:20` and `?delay=200ms:20`.
        case fortio
        /// FSM's `pipy-ok` sample: answers 200 with its `body` (default `Hi, I am pipy!`) on every port.
        case pipyOk = "pipy-ok"
        /// Echoes raw TCP on every port (and answers HTTP like echo).
        case tcpEcho = "tcp-echo"
        /// A gRPC server: every call answers HTTP 200 with `grpc-status: 0` and its `body`.
        case grpcEcho = "grpc-echo"
        /// Echoes each UDP datagram on every port (and accepts no TCP connection).
        case udpEcho = "udp-echo"
        /// A TLS server presenting the certificate of its `secret` (an external host without one: a
        /// publicly trusted certificate for its host name), answering HTTP inside like echo.
        case tlsEcho = "tls-echo"
        /// Serves nothing (a curl client pod).
        case none
    }

    public var model: Model
    public var body: String?
    public var serviceTime: MeshDuration?
    /// Extra model-specific keys kept as text (e.g. `status`, `errorRate`).
    public var options: [String: String]

    public init(model: Model, body: String? = nil, serviceTime: MeshDuration? = nil, options: [String: String] = [:]) {
        self.model = model
        self.body = body
        self.serviceTime = serviceTime
        self.options = options
    }
}

public struct Step: Hashable, Sendable {
    public enum Action: Hashable, Sendable {
        case apply([Resource])
        case delete(ResourceKey)
        case load(LoadSpec)
        case fault(FaultSpec)
    }

    public var at: MeshDuration
    public var action: Action
    /// Where the step was written, for messages.
    public var location: SourceLocation?

    public init(at: MeshDuration, action: Action, location: SourceLocation? = nil) {
        self.at = at
        self.action = action
        self.location = location
    }
}

public struct LoadSpec: Hashable, Sendable {
    public var name: String
    /// `namespace/deployment` the requests leave from, or `external` (`LoadSpec.external`).
    public var from: String
    /// `http://host:port/path` or `tcp://host:port`.
    public var url: String
    public var method: String
    public var headers: [HTTPHeaderField]
    public var requests: Int?
    public var duration: MeshDuration?
    /// nil: closed loop (each worker sends its next request when the previous one finished).
    public var qps: Double?
    public var concurrency: Int
    /// The client keeps the cookies its responses set (`curl -b -c` with a jar) and sends them with
    /// its next requests.
    public var cookies = false
    /// An https:// load's TLS client settings (`tls:`); nil: SNI is the URL's host, the server is
    /// verified against the public roots only.
    public var tls: LoadTLS?
    /// Each request carries a body of this many bytes (`curl -T` of a file that size), with its
    /// `content-length`; 0: no body.
    public var bodyBytes = 0

    public init(name: String, from: String, url: String, method: String = "GET", headers: [HTTPHeaderField] = [], requests: Int? = nil, duration: MeshDuration? = nil, qps: Double? = nil, concurrency: Int = 1) {
        self.name = name
        self.from = from
        self.url = url
        self.method = method
        self.headers = headers
        self.requests = requests
        self.duration = duration
        self.qps = qps
        self.concurrency = concurrency
    }
}

/// What an https:// load's client does in its handshake (curl's `--resolve`/`--cacert`/`-k`/`--cert`).
public struct LoadTLS: Hashable, Sendable {
    /// The server name sent in the ClientHello; nil: the URL's host.
    public var sni: String?
    /// `namespace/name` of a Secret whose `ca.crt` the server's certificate must chain to.
    public var caSecret: String?
    /// Skip verifying the server (curl -k).
    public var insecure: Bool
    /// `namespace/name` of a Secret whose `tls.crt` the client presents (gateway mTLS).
    public var clientSecret: String?

    public init(sni: String? = nil, caSecret: String? = nil, insecure: Bool = false, clientSecret: String? = nil) {
        self.sni = sni
        self.caSecret = caSecret
        self.insecure = insecure
        self.clientSecret = clientSecret
    }
}

public struct HTTPHeaderField: Hashable, Sendable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

public enum FaultSpec: Hashable, Sendable {
    /// `target` is `namespace/deployment` (every pod) or `namespace/pod-name`.
    case killPod(target: String, restartAfter: MeshDuration?)
    case partition(between: [String], duration: MeshDuration?)
    case latency(target: String, add: MeshDuration, duration: MeshDuration?)
    /// The app answers `status` instead of its normal response for a fraction `rate` of requests.
    case error(target: String, status: Int, rate: Double, duration: MeshDuration?)
    /// The pod's sidecar dies (its connections reset, requests in flight through it fail), its app
    /// keeps running; the kubelet starts the sidecar again after `restartAfter`, from its cached config.
    case sidecarCrash(target: String, restartAfter: MeshDuration)
}

/// One entry of `expect:`.
public struct Expectation: Hashable, Sendable {
    public enum Check: Hashable, Sendable {
        /// Exact counts by status code (0 = failed connection/reset).
        case status(load: String, counts: [Int: Int])
        /// Exact counts by the gRPC status a grpc:// load's calls ended with (as a gRPC client reads it).
        case grpcStatus(load: String, counts: [Int: Int])
        /// Share of responses by Deployment, each within `tolerance` (fractions 0...1).
        case backends(load: String, shares: [String: Double], tolerance: Double)
        /// Requests that reached a Deployment's containers.
        case received(app: String, count: Int)
        /// Latency percentile comparisons, e.g. `p99 < 5ms`.
        case latency(load: String, bounds: [LatencyBound])
        /// A proxy counter (`fsm proxy get stats` names), on every pod of `proxy` (namespace/deployment) summed.
        case counter(proxy: String, name: String, comparison: Comparison, value: Double)
        /// Share of responses by the app's body text (as `LoadResult.bodies` records it), each within
        /// `tolerance`; the same share semantics as `backends`.
        case bodies(load: String, shares: [String: Double], tolerance: Double)
        /// An app model counter (`AppResult.counters`, e.g. bookbuyer `booksBought`), summed over the Deployment's pods.
        case appCounter(app: String, name: String, comparison: Comparison, value: Double)
        /// Requests of a load whose answer carried a response flag (`UF`, `UO`, ...; alone or with
        /// others), compared per flag, e.g. `UO > 0`.
        case responseFlags(load: String, bounds: [FlagBound])
        /// Every response that has a status carries each header with this exact value (nil: without it).
        case headers(load: String, values: [HeaderExpectation])
        /// Every response that has a status has a body containing the text.
        case bodyContains(load: String, text: String)
        /// The sample trace of `source` (a load, or a client loop's deployment) has a span of
        /// every one of `services`.
        case trace(source: String, services: [String])
        /// Every request of the load that reached an app's container (each attempt) carried each
        /// header with this exact value (nil: without it): what a proxy on the way sent upstream.
        case upstreamHeaders(load: String, values: [HeaderExpectation])
    }

    public var check: Check
    /// Where the expectation was written, and its text as the report shows it.
    public var text: String
    public var location: SourceLocation?

    public init(check: Check, text: String, location: SourceLocation? = nil) {
        self.check = check
        self.text = text
        self.location = location
    }
}

/// One flag's bound in a `responseFlags` expectation: `flag` is an Envoy short name (`UF`).
public struct FlagBound: Hashable, Sendable {
    public var flag: String
    public var comparison: Comparison
    public var value: Double

    public init(flag: String, comparison: Comparison, value: Double) {
        self.flag = flag
        self.comparison = comparison
        self.value = value
    }
}

public enum Comparison: String, Hashable, Sendable {
    case lessThan = "<", lessOrEqual = "<=", greaterThan = ">", greaterOrEqual = ">=", equal = "==", notEqual = "!="

    public func holds(_ observed: Double, _ bound: Double) -> Bool {
        switch self {
        case .lessThan: observed < bound
        case .lessOrEqual: observed <= bound
        case .greaterThan: observed > bound
        case .greaterOrEqual: observed >= bound
        case .equal: observed == bound
        case .notEqual: observed != bound
        }
    }
}

public struct LatencyBound: Hashable, Sendable {
    /// `p50`, `p90`, `p99`, `p999`, `max`.
    public var percentile: String
    public var comparison: Comparison
    public var bound: MeshDuration
    public init(percentile: String, comparison: Comparison, bound: MeshDuration) {
        self.percentile = percentile
        self.comparison = comparison
        self.bound = bound
    }
}
