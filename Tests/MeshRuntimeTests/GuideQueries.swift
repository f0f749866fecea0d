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

    /// The control-plane metrics of the guides' table (4.1, "Control plane metrics") that the
    /// controller exports from its start (histograms by their `_bucket` series). Not exported:
    /// 4634 `fsm_proxy_reconnect_count` (the table gives it no meaning, errata E-5), 4636
    /// `fsm_proxy_response_send_error_count`, 4643 `fsm_admission_webhook_response_total`, 4648
    /// `fsm_conversion_webhook_resource_total`, 4649 `fsm_events_queued`, 4650
    /// `fsm_reconciliation_total`; 4644 `fsm_error_err_code_count` appears with the first error code.
    static let controllerFamilies: [(line: Int, name: String)] = [
        (4632, "fsm_k8s_api_event_count"), (4633, "fsm_proxy_connect_count"), (4635, "fsm_proxy_response_send_success_count"),
        (4637, "fsm_proxy_config_update_time_bucket"), (4638, "fsm_proxy_broadcast_event_count"), (4639, "fsm_proxy_xds_request_count"),
        (4640, "fsm_proxy_max_connections_rejected"), (4641, "fsm_cert_issued_count"), (4642, "fsm_cert_issued_time_bucket"),
        (4645, "fsm_http_response_total"), (4646, "fsm_http_response_duration_bucket"), (4647, "fsm_feature_flag_enabled"),
    ]

    /// Metric families the guides' tables name for the sidecar (a histogram by its `_bucket` series).
    static let sidecarFamilies: [(line: Int, name: String)] = [
        (4593, "fsm_request_total"),
        (4595, "fsm_request_duration_ms_bucket"),
    ]
}
