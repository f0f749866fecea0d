import MeshModel
import MeshProxy

/// The report's trace section (tracing on): counts, and each sample trace as a list of spans
/// (JSON), an indented tree (text) or a waterfall (HTML).
extension Report {
    func tracesJSON(_ traces: TraceSummary) -> JSONValue {
        .object([
            ("spans", .int(Int64(traces.spans))),
            ("traces", .int(Int64(traces.traces))),
            ("notKept", .int(Int64(traces.notKept))),
            ("samples", .object(traces.samples.map { sample in
                (sample.source, .object([
                    ("traceId", .string(sample.traceID)),
                    ("spans", .array(sample.spans.map(Report.spanJSON))),
                ]))
            })),
        ])
    }

    private static func spanJSON(_ span: SampledSpan) -> JSONValue {
        var fields: [(String, JSONValue)] = [("service", .string(span.service)), ("kind", .string(span.kind.rawValue)), ("name", .string(span.name)),
                                             ("id", .string(span.spanID))]
        if let parent = span.parentID { fields.append(("parentId", .string(parent))) }
        fields += [("startMs", .double(ReportFormat.rounded3(span.startMs))), ("durationMs", .double(ReportFormat.rounded3(span.durationMs)))]
        if let peer = span.peer { fields.append(("peer", .string(peer))) }
        if let status = span.status { fields.append(("status", .string(status))) }
        return .object(fields)
    }

    func tracesText(_ traces: TraceSummary) -> [String] {
        var out = ["", "traces: \(ReportFormat.count(traces.spans, "span")) in \(ReportFormat.count(traces.traces, "trace"))"
            + (traces.notKept > 0 ? " (\(traces.notKept) not kept for samples)" : "")]
        for sample in traces.samples {
            out.append("  \(sample.source): trace \(sample.traceID)")
            for (span, depth) in zip(sample.spans, Report.depths(sample.spans)) {
                let peer = span.peer.map { span.kind == .client ? " → \($0)" : " ← \($0)" } ?? ""
                out.append("    " + String(repeating: "  ", count: depth)
                    + "\(span.service) \(span.kind.rawValue.lowercased()) \(span.name)\(peer)  \(span.status ?? "-")  at \(ReportFormat.milliseconds(span.startMs)) for \(ReportFormat.milliseconds(span.durationMs))")
            }
        }
        return out
    }

    /// A span's depth in its trace: a server half sits under its client half (they share an id),
    /// a client span under the server span of the request that caused it.
    static func depths(_ spans: [SampledSpan]) -> [Int] {
        var client: [String: Int] = [:]
        var server: [String: Int] = [:]
        return spans.map { span in
            let depth: Int
            switch span.kind {
            case .client:
                depth = span.parentID.flatMap { server[$0] ?? client[$0] }.map { $0 + 1 } ?? 0
                client[span.spanID] = depth
            case .server:
                depth = client[span.spanID].map { $0 + 1 } ?? 0
                server[span.spanID] = depth
            }
            return depth
        }
    }

    func tracesHTML(_ traces: TraceSummary) -> String {
        var html = "<section>\n<h2>Traces</h2>\n<p>\(ReportFormat.count(traces.spans, "span")) in \(ReportFormat.count(traces.traces, "trace"))"
        if traces.notKept > 0 { html += " · \(traces.notKept) not kept for samples" }
        html += ". The first traced request of each source, hop by hop:</p>\n"
        for sample in traces.samples {
            html += "<h3><code>\(HTMLWriter.escape(sample.source))</code> · trace <code>\(HTMLWriter.escape(sample.traceID))</code></h3>\n"
            html += Report.waterfall(sample.spans)
        }
        return html + "</section>\n"
    }

    /// One row per span: its label on the left, a bar placed at its start and as long as it lasted.
    static func waterfall(_ spans: [SampledSpan]) -> String {
        guard let first = spans.map(\.startMs).min() else { return "<p>No span of this trace was kept.</p>\n" }
        let end = spans.map { $0.startMs + $0.durationMs }.max() ?? first
        let span = max(end - first, 0.001)
        let label = 380.0, width = 520.0, row = 20.0
        var svg = "<svg class=\"trace\" viewBox=\"0 0 \(n(label + width + 10)) \(n(row * Double(spans.count) + 24))\" width=\"\(n(label + width + 10))\" role=\"img\" aria-label=\"trace waterfall\">\n"
        for (index, (entry, depth)) in zip(spans, depths(spans)).enumerated() {
            let y = 4 + row * Double(index)
            let x = label + (entry.startMs - first) / span * width
            let w = max(1, entry.durationMs / span * width)
            let color = entry.kind == .client ? "#1565c0" : "#2e7d32"
            let peer = entry.peer.map { entry.kind == .client ? " → \($0)" : " ← \($0)" } ?? ""
            svg += "<text x=\"\(n(4 + 12 * Double(depth)))\" y=\"\(n(y + 13))\">\(HTMLWriter.escape("\(entry.service) \(entry.name)\(peer)"))</text>"
            svg += "<rect x=\"\(n(x))\" y=\"\(n(y + 3))\" width=\"\(n(w))\" height=\"12\" fill=\"\(color)\"><title>\(HTMLWriter.escape("\(entry.kind.rawValue) \(entry.name): \(ReportFormat.fixed(entry.durationMs, 3)) ms, status \(entry.status ?? "-")"))</title></rect>\n"
        }
        let axisY = 4 + row * Double(spans.count) + 14
        svg += "<text x=\"\(n(label))\" y=\"\(n(axisY))\">\(HTMLWriter.escape(ReportFormat.milliseconds(first)))</text>"
        svg += "<text x=\"\(n(label + width))\" y=\"\(n(axisY))\" text-anchor=\"end\">\(HTMLWriter.escape("+" + ReportFormat.milliseconds(span)))</text>\n</svg>\n"
        return svg
    }
}
