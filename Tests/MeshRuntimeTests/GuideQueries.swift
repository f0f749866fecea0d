/// Test fixture: every PromQL query and sidecar metric name the FSM guides quote
/// (../shared/spec/fsm-guides.txt, with its line numbers; inventory-egress-observability-security.md
/// §4.4, §4.6 and §10).
enum GuideQueries {
    /// Queries typed into Prometheus in the guides: each must find series on a live sidecar,
    /// scraped the way the guide's `kubernetes-pods` job scrapes it.
    static let queries: [(line: Int, query: String)] = [
        (4674, #"sidecar_cluster_upstream_rq_xx{sidecar_response_code_class="2"}"#),
        (5404, #"irate(sidecar_cluster_upstream_rq_xx{exported_source_workload_name="curl", sidecar_cluster_name="metrics-demo/httpbin|14001"}[30s])"#),
    ]

    /// Metric families the guides' tables name for the sidecar (a histogram by its `_bucket` series).
    static let sidecarFamilies: [(line: Int, name: String)] = [
        (4593, "fsm_request_total"),
        (4595, "fsm_request_duration_ms_bucket"),
    ]
}
