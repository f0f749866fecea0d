import CoreMetrics
import MeshProxy

/// FSM's Pipy sidecar names (its `metrics.js`), which the guides' queries and FSM's dashboards use:
/// the engine's Envoy-style counters become Prometheus series with the variable parts as labels.
///
/// | engine counter | series |
/// |---|---|
/// | `cluster.<c>.upstream_rq_<N>xx` | `sidecar_cluster_upstream_rq_xx{sidecar_response_code_class="N", source_namespace, source_workload_kind, source_workload_name, source_workload_pod, sidecar_cluster_name="<c>"}` |
/// | `cluster.<c>.upstream_rq_total` | `sidecar_cluster_upstream_rq_total{source_*, sidecar_cluster_name}` |
/// | `cluster.<c>.<counter>` | `sidecar_cluster_<counter>{sidecar_cluster_name}` (`_active` ones are gauges) |
/// | `http_local_rate_limiter.http_local_rate_limit.rate_limited.throttle_<scope>` | `sidecar_http_local_rate_limit_rate_limited{sidecar_rate_limit_scope="service"\|"route"}` |
/// | `local_rate_limit.<prefix>.rate_limited` | `sidecar_local_rate_limit_rate_limited{sidecar_local_rate_limit_prefix="<prefix>"}` |
/// | anything else | `sidecar_<name, invalid characters as _>` |
///
/// The shell adds `sidecar_server_live` (1 while the sidecar runs) and the bytes per cluster,
/// `sidecar_cluster_upstream_cx_rx_bytes_total` / `_tx_bytes_total` (DECISIONS 121).
extension SidecarMetrics {
    static let serverLive = "sidecar_server_live"
    static let rxBytes = "sidecar_cluster_upstream_cx_rx_bytes_total"
    static let txBytes = "sidecar_cluster_upstream_cx_tx_bytes_total"
    static let httpRateLimitPrefix = "http_local_rate_limiter.http_local_rate_limit.rate_limited.throttle_"

    /// The series of engine counter `name`, for a sidecar whose workload is `source`.
    static func engineSeries(_ name: String, source: WorkloadLabels) -> (family: String, labels: [(String, String)]) {
        if let (cluster, counter) = clusterCounter(name) {
            let clusterLabel = ("sidecar_cluster_name", String(cluster))
            if let responseClass = responseCodeClass(counter) {
                return ("sidecar_cluster_upstream_rq_xx", [("sidecar_response_code_class", responseClass)] + source.sourceWorkloadLabels + [clusterLabel])
            }
            if counter == "upstream_rq_total" {
                return ("sidecar_cluster_upstream_rq_total", source.sourceWorkloadLabels + [clusterLabel])
            }
            return ("sidecar_cluster_" + sanitize(counter), [clusterLabel])
        }
        if name.hasPrefix(httpRateLimitPrefix) {
            return ("sidecar_http_local_rate_limit_rate_limited", [("sidecar_rate_limit_scope", String(name.dropFirst(httpRateLimitPrefix.count)))])
        }
        let tcpPrefix = "local_rate_limit.", tcpSuffix = ".rate_limited"
        if name.hasPrefix(tcpPrefix), name.hasSuffix(tcpSuffix), name.count > tcpPrefix.count + tcpSuffix.count {
            let prefix = name.dropFirst(tcpPrefix.count).dropLast(tcpSuffix.count)
            return ("sidecar_local_rate_limit_rate_limited", [("sidecar_local_rate_limit_prefix", String(prefix))])
        }
        return (familyName(name[...]), [])
    }

    /// `cluster.<name>.<counter>` → (name, counter); the name may hold dots, the counter does not.
    private static func clusterCounter(_ name: String) -> (Substring, Substring)? {
        let prefix = "cluster."
        guard name.hasPrefix(prefix), let lastDot = name.lastIndex(of: "."),
              lastDot > name.index(name.startIndex, offsetBy: prefix.count) else { return nil }
        return (name[name.index(name.startIndex, offsetBy: prefix.count)..<lastDot], name[name.index(after: lastDot)...])
    }

    /// `upstream_rq_2xx` → "2".
    private static func responseCodeClass(_ counter: Substring) -> String? {
        let utf8 = Array(counter.utf8)
        guard counter.hasPrefix("upstream_rq_"), utf8.count == 15, counter.hasSuffix("xx"),
              (UInt8(ascii: "1")...UInt8(ascii: "5")).contains(utf8[12]) else { return nil }
        return String(UnicodeScalar(utf8[12]))
    }

    /// The handles that count one cluster's upstream bytes (received, sent).
    func byteCounters(cluster: String) -> (received: CoreMetrics.Counter, sent: CoreMetrics.Counter) {
        if let cached = byteHandles[cluster] { return cached }
        families[SidecarMetrics.rxBytes] = (true, false)
        families[SidecarMetrics.txBytes] = (true, false)
        let labels = [("sidecar_cluster_name", cluster)]
        let handles = (CoreMetrics.Counter(label: SidecarMetrics.rxBytes, dimensions: labels, factory: factory),
                       CoreMetrics.Counter(label: SidecarMetrics.txBytes, dimensions: labels, factory: factory))
        byteHandles[cluster] = handles
        return handles
    }
}

extension WorkloadLabels {
    /// Pipy's source labels, in its order.
    var sourceWorkloadLabels: [(String, String)] {
        [("source_namespace", namespace), ("source_workload_kind", kind), ("source_workload_name", name), ("source_workload_pod", pod)]
    }
}
