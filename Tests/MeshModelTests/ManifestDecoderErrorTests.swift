import MeshManifest
import MeshModel
import Testing

/// One test per class of bad input; each checks file, line, column, path and message.
@Suite struct ManifestDecoderErrorTests {
    func decodeError(_ text: String, file: String = "bad.yaml", lineOffset: Int = 0, columnOffset: Int = 0) -> ManifestError? {
        #expect(throws: ManifestError.self) {
            try ManifestDecoder.decode(text, file: file, lineOffset: lineOffset, columnOffset: columnOffset)
        }
    }

    static let serviceHeader = """
    apiVersion: v1
    kind: Service
    metadata:
      name: web
    spec:
      ports:

    """

    @Test func yamlSyntaxError() {
        let error = decodeError("""
        apiVersion: v1
        kind: Service
        metadata:
          name: web
            namespace: x
        """)
        #expect(error == ManifestError(file: "bad.yaml", line: 5, column: 14, path: "", message: "YAML syntax error: mapping values are not allowed in this context"))
        #expect(error?.description == "bad.yaml:5:14: YAML syntax error: mapping values are not allowed in this context")
    }

    @Test func missingRequiredField() {
        let error = decodeError("""
        apiVersion: policy.flomesh.io/v1alpha1
        kind: UpstreamTrafficSetting
        metadata:
          name: limit
        spec:
          rateLimit:
            local:
              http: {requests: 3, unit: minute}
        """)
        #expect(error == ManifestError(file: "bad.yaml", line: 6, column: 3, path: "spec.host", message: "missing required field \"host\""))
    }

    @Test func missingMetadataName() {
        let error = decodeError("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  namespace: a\n")
        #expect(error == ManifestError(file: "bad.yaml", line: 4, column: 3, path: "metadata.name", message: "missing required field \"name\""))
    }

    @Test func wrongType() {
        let error = decodeError(Self.serviceHeader + """
          - port: 80
            name: http
          - port: "eighty"
            name: other
        """)
        #expect(error == ManifestError(file: "bad.yaml", line: 9, column: 11, path: "spec.ports[1].port", message: "expected integer, found string \"eighty\""))
        #expect(error?.description == "bad.yaml:9:11: spec.ports[1].port: expected integer, found string \"eighty\"")
    }

    @Test func badTargetPortType() {
        let error = decodeError(Self.serviceHeader + """
          - port: 80
            targetPort: true
        """)
        #expect(error == ManifestError(file: "bad.yaml", line: 8, column: 17, path: "spec.ports[0].targetPort", message: "expected an integer or a string, found boolean true"))
    }

    @Test func badEnumValue() {
        let error = decodeError(Self.serviceHeader + """
          - port: 80
            appProtocol: https
        """)
        #expect(error == ManifestError(file: "bad.yaml", line: 8, column: 18, path: "spec.ports[0].appProtocol",
                                       message: "expected one of http, tcp, tcp-server-first, grpc, found \"https\""))
    }

    @Test func badRateLimitUnit() {
        let error = decodeError("""
        apiVersion: policy.flomesh.io/v1alpha1
        kind: UpstreamTrafficSetting
        metadata: {name: limit, namespace: demo}
        spec:
          host: fortio.demo.svc.cluster.local
          rateLimit:
            local:
              tcp:
                connections: 1
                unit: minutes
        """)
        #expect(error == ManifestError(file: "bad.yaml", line: 10, column: 15, path: "spec.rateLimit.local.tcp.unit",
                                       message: "expected one of second, minute, hour, found \"minutes\""))
    }

    @Test func outOfRangeNumbers() {
        let port = decodeError(Self.serviceHeader + "  - port: 70000\n")
        #expect(port == ManifestError(file: "bad.yaml", line: 7, column: 11, path: "spec.ports[0].port", message: "must be between 1 and 65535, found 70000"))

        let status = decodeError("""
        apiVersion: policy.flomesh.io/v1alpha1
        kind: UpstreamTrafficSetting
        metadata: {name: limit}
        spec:
          host: fortio
          rateLimit:
            local:
              http: {requests: 3, unit: minute, responseStatusCode: 302}
        """)
        #expect(status == ManifestError(file: "bad.yaml", line: 8, column: 61, path: "spec.rateLimit.local.http.responseStatusCode", message: "must be between 400 and 599, found 302"))

        let weight = decodeError("""
        apiVersion: split.smi-spec.io/v1alpha4
        kind: TrafficSplit
        metadata: {name: s}
        spec:
          service: httpbin
          backends:
          - service: httpbin-v1
            weight: -5
        """)
        #expect(weight == ManifestError(file: "bad.yaml", line: 8, column: 13, path: "spec.backends[0].weight", message: "must be between 0 and 2147483647, found -5"))

        let retries = decodeError("""
        kind: Retry
        apiVersion: policy.flomesh.io/v1alpha1
        metadata: {name: r}
        spec:
          source: {kind: ServiceAccount, name: curl}
          destinations: [{kind: Service, name: httpbin}]
          retryPolicy: {numRetries: -1}
        """)
        #expect(retries == ManifestError(file: "bad.yaml", line: 7, column: 29, path: "spec.retryPolicy.numRetries", message: "must be between 0 and 4294967295, found -1"))

        let replicas = decodeError("""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          replicas: -1
        """)
        #expect(replicas == ManifestError(file: "bad.yaml", line: 5, column: 13, path: "spec.replicas", message: "must be between 0 and 10000 (the limit of replicas per workload), found -1"))
    }

    @Test func badDuration() {
        let error = decodeError("""
        kind: Retry
        apiVersion: policy.flomesh.io/v1alpha1
        metadata: {name: r}
        spec:
          source: {kind: ServiceAccount, name: curl}
          destinations: [{kind: Service, name: httpbin}]
          retryPolicy:
            perTryTimeout: 1 second
        """)
        #expect(error == ManifestError(file: "bad.yaml", line: 8, column: 20, path: "spec.retryPolicy.perTryTimeout",
                                       message: "expected a duration such as 250ms, 5s or 1m30s, found \"1 second\""))
    }

    @Test func unknownKind() {
        let error = decodeError("---\napiVersion: networking.k8s.io/v1\nkind: HTTPRoutes\nmetadata: {name: i}\n")
        #expect(error == ManifestError(file: "bad.yaml", line: 3, column: 7, path: "kind", message:
            "unsupported kind \"HTTPRoutes\"; did you mean \"HTTPRoute\"? supported kinds: " + ManifestDecoder.uniqueKindNames.joined(separator: ", ")))
    }

    @Test func badAPIVersion() {
        let error = decodeError("apiVersion: split.smi-spec.io/v1alpha1\nkind: TrafficSplit\nmetadata: {name: s}\n")
        #expect(error == ManifestError(file: "bad.yaml", line: 1, column: 13, path: "apiVersion", message:
            "unsupported apiVersion \"split.smi-spec.io/v1alpha1\" for kind TrafficSplit; supported: split.smi-spec.io/v1alpha2, split.smi-spec.io/v1alpha4"))
    }

    @Test func meshConfigTypeErrorUsesFSMWording() {
        let error = decodeError("""
        apiVersion: config.flomesh.io/v1alpha1
        kind: MeshConfig
        metadata:
          name: fsm-mesh-config
          namespace: fsm-system
        spec:
          traffic:
            enableEgress: "no"
        """, file: "mesh.yaml")
        #expect(error == ManifestError(file: "mesh.yaml", line: 8, column: 19, path: "spec.traffic.enableEgress",
                                       message: "Invalid value: \"string\": spec.traffic.enableEgress in body must be of type boolean: \"string\""))
        #expect(error?.description == "mesh.yaml:8:19: spec.traffic.enableEgress: Invalid value: \"string\": spec.traffic.enableEgress in body must be of type boolean: \"string\"")

        let port = decodeError("""
        apiVersion: config.flomesh.io/v1alpha2
        kind: MeshConfig
        metadata: {name: fsm-mesh-config}
        spec:
          observability:
            tracing: {port: "9411"}
        """, file: "mesh.yaml")
        #expect(port?.path == "spec.observability.tracing.port")
        #expect(port?.message == "Invalid value: \"string\": spec.observability.tracing.port in body must be of type integer: \"string\"")
    }

    @Test func offsetsPlaceEmbeddedManifestsInTheOuterFile() {
        // As if the text sat in a scenario file under `manifests: |` starting on line 13, indented by 2.
        let error = decodeError("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 0\n",
                                file: "scenario.yaml", lineOffset: 12, columnOffset: 2)
        #expect(error == ManifestError(file: "scenario.yaml", line: 19, column: 13, path: "spec.ports[0].port", message: "must be between 1 and 65535, found 0"))

        let syntax = decodeError("a: [1\n", file: "scenario.yaml", lineOffset: 12, columnOffset: 2)
        #expect(syntax?.file == "scenario.yaml")
        #expect((syntax?.line ?? 0) >= 13)
        #expect((syntax?.column ?? 0) > 2)
    }

    @Test func unknownFieldInPolicy() {
        // The demo script's `httpHeaders` is not in FSM's UpstreamTrafficSettingSpec.
        let error = decodeError("""
        apiVersion: policy.flomesh.io/v1alpha1
        kind: UpstreamTrafficSetting
        metadata: {name: http-rate-limit, namespace: bookstore}
        spec:
          host: bookstore.bookstore.svc.cluster.local
          httpHeaders:
            - headers: []
        """)
        #expect(error == ManifestError(file: "bad.yaml", line: 6, column: 3, path: "spec.httpHeaders",
                                       message: "unknown field \"httpHeaders\"; expected one of: host, connectionSettings, rateLimit, httpRoutes"))
    }

    @Test func invalidNamesAndNamespaces() {
        let error = decodeError("kind: TrafficTarget\napiVersion: access.smi-spec.io/v1alpha3\nmetadata:\n  name: t\n  namespace: \"$BOOKSTORE_NAMESPACE\"\n")
        #expect(error?.line == 5)
        #expect(error?.column == 14)
        #expect(error?.path == "metadata.namespace")
        #expect(error?.message.hasPrefix("invalid namespace \"$BOOKSTORE_NAMESPACE\"") == true)
    }

    @Test func semanticChecks() {
        let selector = decodeError("""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          selector:
            matchLabels: {app: a}
          template:
            metadata:
              labels: {app: b}
            spec:
              containers: [{name: c, image: i}]
        """)
        #expect(selector == ManifestError(file: "bad.yaml", line: 6, column: 18, path: "spec.selector.matchLabels",
                                          message: "selector does not match template labels: the template has no label app=a"))

        let zero = decodeError("""
        apiVersion: split.smi-spec.io/v1alpha2
        kind: TrafficSplit
        metadata: {name: s}
        spec:
          service: bookstore
          backends: [{service: v1, weight: 0}]
        """)
        #expect(zero == ManifestError(file: "bad.yaml", line: 6, column: 13, path: "spec.backends", message: "the total weight of all backends must be greater than zero"))

        let noSources = decodeError("""
        kind: TrafficTarget
        apiVersion: access.smi-spec.io/v1alpha3
        metadata: {name: t}
        spec:
          destination: {kind: ServiceAccount, name: a}
          sources: []
        """)
        #expect(noSources == ManifestError(file: "bad.yaml", line: 6, column: 12, path: "spec.sources", message: "must have at least one element"))

        let method = decodeError("""
        apiVersion: specs.smi-spec.io/v1alpha4
        kind: HTTPRouteGroup
        metadata: {name: g}
        spec:
          matches:
          - name: m
            methods: [GET, FETCH]
        """)
        #expect(method?.path == "spec.matches[0].methods[1]")
        #expect(method?.line == 7)
        #expect(method?.column == 20)

        let retryOn = decodeError("""
        kind: Retry
        apiVersion: policy.flomesh.io/v1alpha1
        metadata: {name: r}
        spec:
          source: {kind: ServiceAccount, name: curl}
          destinations: [{kind: Service, name: httpbin}]
          retryPolicy: {retryOn: "5xx,timeout"}
        """)
        #expect(retryOn?.message == "expected a comma list of status classes (5xx), status codes (503) or retriable-4xx, gateway-error, reset, connect-failure, refused-stream; found \"timeout\"")

        let document = decodeError("- just\n- a list\n")
        #expect(document == ManifestError(file: "bad.yaml", line: 1, column: 1, path: "",
                                          message: "expected a Kubernetes object (a mapping with apiVersion, kind and metadata), found a sequence"))
    }
}
