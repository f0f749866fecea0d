import MeshModel
import NIOCore
import NIOHTTP1

extension GatewayDriver {
    /// The gateway's admin pages (GET; `AdminHandler` does the HTTP): `/healthz` (the process
    /// answers), `/ready` (a config is applied and every socket it asks for is bound),
    /// `/metrics` (Prometheus: each listener socket's counters, then the shell's and the engine's
    /// as the sidecar exports them), `/config` (the applied config, JSON), `/stats` (text).
    func adminPage(_ path: String) -> (HTTPResponseStatus, String, String) {
        eventLoop.preconditionInEventLoop()
        switch path {
        case "/healthz":
            return (.ok, "text/plain", "ok\n")
        case "/ready":
            guard let config else { return (.serviceUnavailable, "text/plain", "no config applied\n") }
            let missing = plan.sockets.filter { !bound.contains($0) }
            guard missing.isEmpty else {
                return (.serviceUnavailable, "text/plain", "not listening on \(missing.map(\.description).joined(separator: ", "))\n")
            }
            return (.ok, "text/plain", "ready (\(config.gateway) version \(config.version))\n")
        case "/metrics":
            return (.ok, SidecarMetrics.contentType, listenerExposition() + sidecar.prometheusText())
        case "/stats":
            return (.ok, "text/plain", listenerStatsText() + sidecar.statsText())
        case "/config":
            guard let configJSON else { return (.serviceUnavailable, "text/plain", "no config applied\n") }
            return (.ok, "application/json", configJSON + "\n")
        default:
            return (.notFound, "text/plain", "unknown admin path: /healthz, /ready, /metrics, /stats or /config\n")
        }
    }

    /// `gateway.<kind>:<port>.<counter>: value` lines.
    func listenerStatsText() -> String {
        var lines = ""
        for socket in counters.sockets {
            lines += "gateway.\(socket).downstream_cx_active: \(counters.active(socket))\n"
            for name in GatewayListenerCounters.Name.allCases {
                lines += "gateway.\(socket).\(name.rawValue): \(counters.count(name, socket))\n"
            }
        }
        return lines
    }

    /// The listener families in the Prometheus text format, labelled by port and kind; every
    /// family is present (at zero) for every socket ever bound.
    func listenerExposition() -> String {
        let sockets = counters.sockets
        var text = "# HELP fsm_gateway_downstream_cx_active Connections (UDP: client sessions) a gateway listener holds.\n"
        text += "# TYPE fsm_gateway_downstream_cx_active gauge\n"
        for socket in sockets { text += "fsm_gateway_downstream_cx_active\(Self.labels(socket)) \(counters.active(socket))\n" }
        for name in GatewayListenerCounters.Name.allCases {
            let family = "fsm_gateway_" + (name.rawValue.hasSuffix("_total") ? name.rawValue : name.rawValue + "_total")
            text += "# TYPE \(family) counter\n"
            for socket in sockets { text += "\(family)\(Self.labels(socket)) \(counters.count(name, socket))\n" }
        }
        return text
    }

    private static func labels(_ socket: GatewayListenerPlan.Socket) -> String {
        "{listener_port=\"\(socket.port)\",listener_kind=\"\(socket.kind)\"}"
    }
}
