#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import MeshModel
import MeshProxy
import NIOCore
import NIOHTTP1

/// An access-log entry whose request is in progress, and when it started (for its duration).
struct PendingAccessLog {
    var entry: AccessLogEntry
    let startedAt: NIODeadline
}

extension AccessLogEntry {
    /// The answer: its status and flags, and (when given) the request bytes received by then.
    mutating func finish(status: Int, flags: ResponseFlags, bytesReceived: Int? = nil) {
        self.status = status
        self.flags.formUnion(flags)
        if let bytesReceived { self.bytesReceived = bytesReceived }
    }
}

extension SidecarDriver {
    /// The access log is on: its config asks for it (MeshConfig `observability.remoteLogging.enable`,
    /// so it follows the MeshConfig at run time) and the sidecar has a sink or a collector to ship to.
    var accessLogEnabled: Bool { accessLogSwitch && (settings.accessLog != nil || logShipper.isConfigured) }

    /// A new entry for a request, or nil while the access log is off.
    func beginAccessLog(_ direction: AccessLogEntry.Direction, head: NIOHTTP1.HTTPRequestHead, path: String, authority: String,
                        peerIdentity: String?) -> PendingAccessLog? {
        guard accessLogEnabled else { return nil }
        var entry = AccessLogEntry(direction: direction, startTime: Date(), method: head.method.rawValue, authority: authority, path: path)
        entry.protocolName = "HTTP/\(head.version.major).\(head.version.minor)"
        entry.peerIdentity = peerIdentity
        entry.requestID = head.headers.first(name: "x-request-id")
        entry.traceID = head.headers.first(name: "x-b3-traceid")
        return PendingAccessLog(entry: entry, startedAt: clock.now())
    }

    /// A raw TCP connection the sidecar refused or could not connect (`NR`, `UO`, `RL`, `UF`): one
    /// line (`CONNECT`, protocol `TCP`, status 0), so that a closed connection says why too;
    /// `requestID`: the `x-request-id` of the app's own `CONNECT` (local mode), when it sent one.
    func logRefusedTCP(_ direction: AccessLogEntry.Direction, destination: String, flags: ResponseFlags, peerIdentity: String? = nil,
                       upstream: (host: String, cluster: String?)? = nil, requestID: String? = nil) {
        guard accessLogEnabled else { return }
        var entry = AccessLogEntry(direction: direction, startTime: Date(), method: "CONNECT", authority: destination, path: "")
        entry.protocolName = "TCP"
        entry.flags = flags
        entry.peerIdentity = peerIdentity
        entry.upstreamHost = upstream?.host
        entry.upstreamCluster = upstream?.cluster
        entry.requestID = requestID
        writeAccessLog(PendingAccessLog(entry: entry, startedAt: clock.now()))
    }

    /// Hands a finished entry to the sink and to the remote collector's shipper (never blocking; a
    /// full sink drops it and counts, and so does the shipper).
    func writeAccessLog(_ pending: PendingAccessLog?) {
        guard var pending else { return }
        pending.entry.durationMs = milliseconds(since: pending.startedAt)
        let line = pending.entry.line
        if let sink = settings.accessLog { count(sink.offer(line) ? .accessLogWritten : .accessLogDropped) }
        if logShipper.isConfigured { logShipper.submit(line, requestID: pending.entry.requestID) }
    }
}
