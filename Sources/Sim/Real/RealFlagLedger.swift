import MeshModel
import MeshProxy
import MeshRuntime
import NIOConcurrencyHelpers

/// The response flags of a real run's requests, from its sidecars' access logs: each load request
/// carries an `x-request-id`, and every line a sidecar writes for it (the client's outbound one, the
/// server's inbound one) adds its flags, as the simulator unites both sidecars' flags per request.
final class RealFlagLedger: Sendable {
    private let flagsByRequest = NIOLockedValueBox<[String: ResponseFlags]>([:])
    /// Lines the sidecars of the run write, shared by all of them (the sink is thread-safe); big
    /// enough that no line of a scenario's bounded loads is dropped.
    let sink: AccessLogSink

    init(capacity: Int = 1 << 20) {
        let table = flagsByRequest
        sink = AccessLogSink(capacity: capacity) { text in
            var parsed: [(String, ResponseFlags)] = []
            for line in text.split(separator: "\n") {
                guard let entry = try? JSONValue(parsing: String(line)), case .string(let id)? = entry["x_request_id"],
                      case .string(let written)? = entry["response_flags"], let flags = ResponseFlags(parsing: written) else { continue }
                parsed.append((id, flags))
            }
            table.withLockedValue { flags in
                for (id, found) in parsed { flags[id, default: []].formUnion(found) }
            }
        }
    }

    /// The flags of one request, once every line written so far is in (`flush()` first).
    func flags(of requestID: String) -> ResponseFlags {
        flagsByRequest.withLockedValue { $0[requestID] ?? [] }
    }

    func flush() { sink.flush() }
}
