import MeshModel
import MeshProxy
import MeshRuntime
import NIOConcurrencyHelpers

/// What a real run's sidecars' access logs say about its requests: each load request carries an
/// `x-request-id`, and every line a sidecar writes for it (the client's outbound one, the server's
/// inbound one) adds its response flags, as the simulator unites both sidecars' flags per request,
/// and names the request's trace (`trace_id`) when tracing is on.
final class RealAccessLogLedger: Sendable {
    private struct Seen {
        var flags: [String: ResponseFlags] = [:]
        var traceIDs: [String: String] = [:]
    }

    private let seen = NIOLockedValueBox(Seen())
    /// Lines the sidecars of the run write, shared by all of them (the sink is thread-safe); big
    /// enough that no line of a scenario's bounded loads is dropped.
    let sink: AccessLogSink

    init(capacity: Int = 1 << 20) {
        let table = seen
        sink = AccessLogSink(capacity: capacity) { text in
            var parsed: [(id: String, flags: ResponseFlags, trace: String?)] = []
            for line in text.split(separator: "\n") {
                guard let entry = try? JSONValue(parsing: String(line)), case .string(let id)? = entry["x_request_id"],
                      case .string(let written)? = entry["response_flags"], let flags = ResponseFlags(parsing: written) else { continue }
                parsed.append((id, flags, entry["trace_id"]?.stringValue))
            }
            table.withLockedValue { seen in
                for line in parsed {
                    seen.flags[line.id, default: []].formUnion(line.flags)
                    if let trace = line.trace, seen.traceIDs[line.id] == nil { seen.traceIDs[line.id] = trace }
                }
            }
        }
    }

    /// The flags of one request, once every line written so far is in (`flush()` first).
    func flags(of requestID: String) -> ResponseFlags {
        seen.withLockedValue { $0.flags[requestID] ?? [] }
    }

    /// The trace a request was part of (its client sidecar's line names it), nil untraced.
    func traceID(of requestID: String) -> String? {
        seen.withLockedValue { $0.traceIDs[requestID] }
    }

    func flush() { sink.flush() }
}
