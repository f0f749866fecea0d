import Foundation
import MeshModel
import MeshProxy

/// One request as the access log records it: one JSON line, keys in a fixed order, named after
/// Envoy's access-log operators (`start_time`, `response_flags`, `upstream_host`, ...), so a 503
/// or a status 0 says why (`response_flags`, `ResponseFlags`).
struct AccessLogEntry {
    enum Direction: String { case outbound, inbound }

    var direction: Direction
    /// Wall-clock start of the request (the shell's clock), printed as RFC 3339 UTC with milliseconds.
    var startTime: Date
    var method: String
    var authority: String
    var path: String
    /// `HTTP/1.1`, `HTTP/2.0` (the downstream request's version).
    var protocolName = "HTTP/1.1"
    /// 0: no response (the connection was closed or reset).
    var status = 0
    var flags: ResponseFlags = []
    var bytesReceived = 0
    var bytesSent = 0
    var durationMs: Double = 0
    var upstreamHost: String?
    var upstreamCluster: String?
    /// The caller's verified mesh identity (inbound), or this sidecar's own (outbound).
    var peerIdentity: String?
    var requestID: String?
    var traceID: String?

    private static let timeFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!)

    var jsonValue: JSONValue {
        func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
        return .object([
            ("start_time", .string(AccessLogEntry.timeFormat.format(startTime))),
            ("direction", .string(direction.rawValue)),
            ("method", .string(method)),
            ("authority", .string(authority)),
            ("path", .string(path)),
            ("protocol", .string(protocolName)),
            ("response_code", .int(Int64(status))),
            ("response_flags", .string(flags.description)),
            ("bytes_received", .int(Int64(bytesReceived))),
            ("bytes_sent", .int(Int64(bytesSent))),
            ("duration", .double((durationMs * 1000).rounded() / 1000)),
            ("upstream_host", optional(upstreamHost)),
            ("upstream_cluster", optional(upstreamCluster)),
            ("peer_identity", optional(peerIdentity)),
            ("x_request_id", optional(requestID)),
            ("trace_id", optional(traceID)),
        ])
    }

    /// The line, with its newline.
    var line: String { jsonValue.rendered() + "\n" }
}
