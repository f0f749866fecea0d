import MeshProxy

/// Prometheus text exposition format 0.0.4 of a sidecar's metrics:
/// - `fsm_request_total{direction,code}` and the `fsm_request_duration_ms` histogram (the guides' names);
/// - the engine's Envoy-style counters: `cluster.<name>.<counter>` becomes
///   `sidecar_cluster_<counter>{sidecar_cluster_name="<name>"}`, other names become
///   `sidecar_<name with invalid characters as _>`; `*_active` ones are gauges;
/// - the shell's own counters (`runtime.*`) the same way.
enum PrometheusExposition {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func render(stats: SidecarStats, runtime: RuntimeCounters, metrics: RequestMetrics) -> String {
        var out = ""
        let series = metrics.sortedSeries()

        out += "# HELP fsm_request_total Requests answered by the sidecar, by direction and status code.\n"
        out += "# TYPE fsm_request_total counter\n"
        for entry in series {
            out += "fsm_request_total{direction=\"\(entry.direction.rawValue)\",code=\"\(entry.status)\"} \(entry.series.count)\n"
        }

        out += "# HELP fsm_request_duration_ms Request duration in milliseconds, by direction and status code.\n"
        out += "# TYPE fsm_request_duration_ms histogram\n"
        for entry in series {
            let labels = "direction=\"\(entry.direction.rawValue)\",code=\"\(entry.status)\""
            var cumulative: UInt64 = 0
            for (index, bound) in RequestMetrics.bucketBounds.enumerated() {
                cumulative += entry.series.buckets[index]
                out += "fsm_request_duration_ms_bucket{\(labels),le=\"\(format(bound))\"} \(cumulative)\n"
            }
            cumulative += entry.series.buckets[RequestMetrics.bucketBounds.count]
            out += "fsm_request_duration_ms_bucket{\(labels),le=\"+Inf\"} \(cumulative)\n"
            out += "fsm_request_duration_ms_sum{\(labels)} \(format(entry.series.sumMilliseconds))\n"
            out += "fsm_request_duration_ms_count{\(labels)} \(entry.series.count)\n"
        }

        // Group samples by metric name so that each family has one HELP/TYPE header.
        var families: [String: [(labels: String, value: UInt64)]] = [:]
        var order: [String] = []
        func add(_ name: String, _ labels: String, _ value: UInt64) {
            if families[name] == nil { order.append(name) }
            families[name, default: []].append((labels, value))
        }
        for (name, value) in stats.counters() + runtime.entries() {
            if name.hasPrefix("cluster."), let lastDot = name.lastIndex(of: "."), lastDot > name.index(name.startIndex, offsetBy: 8) {
                let cluster = name[name.index(name.startIndex, offsetBy: 8)..<lastDot]
                let counter = name[name.index(after: lastDot)...]
                add("sidecar_cluster_" + sanitize(counter), "{sidecar_cluster_name=\"\(escape(cluster))\"}", value)
            } else {
                add("sidecar_" + sanitize(name[...]), "", value)
            }
        }
        for name in order.sorted() {
            let kind = name.hasSuffix("_active") ? "gauge" : "counter"
            out += "# HELP \(name) Sidecar statistic.\n"
            out += "# TYPE \(name) \(kind)\n"
            for sample in families[name]! { out += "\(name)\(sample.labels) \(sample.value)\n" }
        }
        return out
    }

    /// Metric names allow `[a-zA-Z0-9_:]`; everything else becomes `_`.
    static func sanitize(_ name: Substring) -> String {
        var out = ""
        out.reserveCapacity(name.utf8.count)
        for scalar in name.unicodeScalars {
            let isValid = (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9") || scalar == "_" || scalar == ":"
            out.unicodeScalars.append(isValid ? scalar : "_")
        }
        return out
    }

    static func escape(_ value: Substring) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
