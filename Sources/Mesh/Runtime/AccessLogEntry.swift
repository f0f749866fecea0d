#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
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

    /// The line, with its newline: keys in a fixed order, written straight to bytes (a line per
    /// request: no `JSONValue` tree, no calendar formatter).
    var line: String {
        var object = JSONObjectWriter(reservingCapacity: 384)
        object.field("start_time", asciiBytes: RFC3339Timestamp(secondsSince1970: startTime.timeIntervalSince1970).bytes)
        object.field("direction", direction.rawValue)
        object.field("method", method)
        object.field("authority", authority)
        object.field("path", path)
        object.field("protocol", protocolName)
        object.field("response_code", status)
        object.field("response_flags", flags.description)
        object.field("bytes_received", bytesReceived)
        object.field("bytes_sent", bytesSent)
        object.field("duration", (durationMs * 1000).rounded() / 1000)
        object.field("upstream_host", upstreamHost)
        object.field("upstream_cluster", upstreamCluster)
        object.field("peer_identity", peerIdentity)
        object.field("x_request_id", requestID)
        object.field("trace_id", traceID)
        return object.finish(suffix: "\n")
    }
}
