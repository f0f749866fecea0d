import CoreMetrics
import MeshModel
import Prometheus

/// `fsm_error_err_code_count{err_code}` on the controller's /metrics: how often each FSM error
/// code was reported (FSM's metric, the guides' 8.2). A code's series appears with its first report.
struct ErrorCodeCounter {
    private let factory: PrometheusMetricsFactory
    private var counters: [MeshErrorCode: CoreMetrics.Counter] = [:]

    init(registry: PrometheusCollectorRegistry) {
        factory = PrometheusMetricsFactory(registry: registry)
    }

    mutating func count(_ code: MeshErrorCode) {
        if counters[code] == nil {
            counters[code] = CoreMetrics.Counter(label: "fsm_error_err_code_count", dimensions: [("err_code", code.code)], factory: factory)
        }
        counters[code]?.increment()
    }
}
