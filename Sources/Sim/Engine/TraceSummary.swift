import MeshModel
import MeshProxy

/// What the run's sidecars traced (MeshConfig `observability.tracing`): how many spans and traces,
/// and one whole trace per source of traffic (a load, or a client loop's deployment) to show a
/// request's path hop by hop. nil in a result when no sidecar traced.
public struct TraceSummary: Hashable, Sendable {
    public var spans: Int
    public var traces: Int
    /// Spans finished after the log was full (`SpanLog.capacity`): counted, not kept.
    public var notKept: Int
    /// In the order their sources first finished a traced request.
    public var samples: [TraceSample]

    public init(spans: Int, traces: Int, notKept: Int, samples: [TraceSample]) {
        self.spans = spans
        self.traces = traces
        self.notKept = notKept
        self.samples = samples
    }
}

/// One trace: the first traced request of `source`.
public struct TraceSample: Hashable, Sendable {
    /// The load's name, or the deployment of a client loop (`bookbuyer`).
    public var source: String
    public var traceID: String
    /// By start, clients before the server half of the same hop.
    public var spans: [SampledSpan]

    public init(source: String, traceID: String, spans: [SampledSpan]) {
        self.source = source
        self.traceID = traceID
        self.spans = spans
    }
}

/// A span as the report shows it: virtual milliseconds from the run's start.
public struct SampledSpan: Hashable, Sendable {
    public var service: String
    public var kind: TraceSpan.Kind
    public var name: String
    public var spanID: String
    public var parentID: String?
    public var startMs: Double
    public var durationMs: Double
    /// The peer: the upstream cluster's service for a client span, the caller's for a server span.
    public var peer: String?
    public var status: String?

    public init(_ span: TraceSpan) {
        service = span.localService
        kind = span.kind
        name = span.name
        spanID = B3Context.hex(span.context.spanID)
        parentID = span.context.parentSpanID.map(B3Context.hex)
        startMs = Double(span.start.nanoseconds) / 1e6
        durationMs = Double(span.duration.nanoseconds) / 1e6
        peer = span.remoteService
        status = span.tags["http.status_code"]
    }
}

/// A run's collector: spans as they finish (bounded), and which trace stands for each source of
/// traffic. The simulator takes them from its sidecars; `sim --real` from the real ones.
public struct SpanLog: Sendable {
    /// Spans kept for the samples at most; a run's first traces are what the samples show.
    public static let capacity = 50_000

    private var spans: [TraceSpan] = []
    private var total = 0
    private var traceIDs: Set<String> = []
    private var sampleOrder: [(source: String, traceID: String)] = []
    private var sampledSources: Set<String> = []
    /// Whether a sidecar has traced (then finished exchanges are looked at for samples).
    public private(set) var enabled = false

    public init() {}

    mutating func take(from sidecar: inout Sidecar) {
        guard sidecar.hasFinishedSpans else { return }
        record(sidecar.takeSpans())
    }

    public mutating func record(_ finished: [TraceSpan]) {
        guard !finished.isEmpty else { return }
        enabled = true
        for span in finished {
            total += 1
            traceIDs.insert(span.context.traceID)
            if spans.count < Self.capacity { spans.append(span) }
        }
    }

    /// A request of `source` finished carrying `head`: its trace becomes the source's sample if
    /// the source has none yet.
    mutating func noteFinished(source: String, head: HTTPRequestHead) {
        guard !sampledSources.contains(source), let context = B3Context(head), context.sampled else { return }
        noteSample(source: source, traceID: context.traceID)
    }

    /// The first trace noted for a source is its sample.
    public mutating func noteSample(source: String, traceID: String) {
        guard !sampledSources.contains(source) else { return }
        sampledSources.insert(source)
        sampleOrder.append((source, traceID))
    }

    /// nil when tracing was neither configured nor seen.
    public func summary(configured: Bool) -> TraceSummary? {
        guard enabled || configured else { return nil }
        var byTrace: [String: [TraceSpan]] = [:]
        let wanted = Set(sampleOrder.map(\.traceID))
        for span in spans where wanted.contains(span.context.traceID) { byTrace[span.context.traceID, default: []].append(span) }
        let samples = sampleOrder.map { entry in
            TraceSample(source: entry.source, traceID: entry.traceID, spans: (byTrace[entry.traceID] ?? []).sorted(by: Self.spanOrder).map(SampledSpan.init))
        }
        return TraceSummary(spans: total, traces: traceIDs.count, notKept: total - spans.count, samples: samples)
    }

    private static func spanOrder(_ a: TraceSpan, _ b: TraceSpan) -> Bool {
        if a.start != b.start { return a.start < b.start }
        if a.kind != b.kind { return a.kind == .client }
        return a.context.spanID < b.context.spanID
    }
}
