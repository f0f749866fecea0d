import MeshManifest
import MeshModel
import Testing

/// Decoding the manifests of the documented demos (shared/spec/demos.md), values and defaults.
@Suite struct ManifestDecoderTests {
    static let bookstore = """
    # Create bookstore root Service.
    apiVersion: v1
    kind: Service
    metadata:
      name: bookstore
      namespace: bookstore
      labels:
        app: bookstore
    spec:
      ports:
      - port: 14001
        name: bookstore-port
      selector:
        app: bookstore

    ---

    # Create bookstore-v1 service
    apiVersion: v1
    kind: Service
    metadata:
      name: bookstore-v1
      namespace: bookstore
      labels:
        app: bookstore
        version: v1
    spec:
      ports:
      - port: 14001
        name: bookstore-port
      selector:
        app: bookstore
        version: v1

    ---

    # Create bookstore Service Account
    apiVersion: v1
    kind: ServiceAccount
    metadata:
      name: bookstore
      namespace: bookstore

    ---

    # Create bookstore Deployment
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: bookstore
      namespace: bookstore
    spec:
      replicas: 1
      selector:
        matchLabels:
          app: bookstore
          version: v1
      template:
        metadata:
          labels:
            app: bookstore
            version: v1
        spec:
          serviceAccountName: bookstore
          containers:
            - name: bookstore
              image: flomesh/bookstore:latest
              imagePullPolicy: Always
              ports:
                - containerPort: 14001
                  name: web
              command: ["/bookstore"]
              args: ["--port", "14001"]
              env:
                - name: BOOKWAREHOUSE_NAMESPACE
                  value: bookwarehouse
                - name: IDENTITY
                  value: bookstore-v1
    """

    static let mysql = """
    apiVersion: v1
    kind: ServiceAccount
    metadata:
      name: mysql
      namespace: bookwarehouse
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: mysql
      namespace: bookwarehouse
    spec:
      ports:
      - port: 3306
        targetPort: 3306
        name: client
        appProtocol: tcp
      selector:
        app: mysql
      clusterIP: None
    ---
    apiVersion: apps/v1
    kind: StatefulSet
    metadata:
      name: mysql
      namespace: bookwarehouse
    spec:
      serviceName: mysql
      replicas: 1
      selector:
        matchLabels:
          app: mysql
      template:
        metadata:
          labels:
            app: mysql
        spec:
          serviceAccountName: mysql
          containers:
          - image: mariadb:10.7.4
            name: mysql
            env:
            - name: MYSQL_ROOT_PASSWORD
              value: mypassword
            - name: MYSQL_DATABASE
              value: booksdemo
            ports:
            - containerPort: 3306
              name: mysql
            volumeMounts:
            - mountPath: /mysql-data
              name: data
            readinessProbe:
              tcpSocket:
                port: 3306
              initialDelaySeconds: 15
              periodSeconds: 10
          volumes:
            - name: data
              emptyDir: {}
      volumeClaimTemplates:
      - metadata:
          name: data
        spec:
          accessModes: [ "ReadWriteOnce" ]
          resources:
            requests:
              storage: 250M
    """

    @Test func bookstoreManifest() throws {
        let decoded = try ManifestDecoder.decode(Self.bookstore, file: "bookstore.yaml")
        #expect(decoded.map(\.resource.key.description) == [
            "Service/bookstore/bookstore", "Service/bookstore/bookstore-v1", "ServiceAccount/bookstore/bookstore", "Deployment/bookstore/bookstore",
        ])
        // A document's location is its first key, after the leading comment.
        #expect(decoded[0].location == SourceLocation(file: "bookstore.yaml", line: 2, column: 1))
        #expect(decoded[1].location == SourceLocation(file: "bookstore.yaml", line: 19, column: 1))

        guard case .service(let root) = decoded[0].resource, case .service(let v1) = decoded[1].resource else {
            Issue.record("expected services"); return
        }
        #expect(root.metadata.labels == ["app": "bookstore"])
        #expect(root.ports == [ServicePort(name: "bookstore-port", port: 14001, targetPort: nil, transportProtocol: "TCP", appProtocol: .http)])
        #expect(root.selector == ["app": "bookstore"])
        #expect(root.clusterIP == nil)
        #expect(v1.selector == ["app": "bookstore", "version": "v1"])

        guard case .workload(let deployment) = decoded[3].resource else { Issue.record("expected a workload"); return }
        #expect(deployment.kind == .deployment)
        #expect(deployment.replicas == 1)
        #expect(deployment.selector == ["app": "bookstore", "version": "v1"])
        #expect(deployment.template.metadata.labels == ["app": "bookstore", "version": "v1"])
        #expect(deployment.template.spec.serviceAccountName == "bookstore")
        #expect(deployment.template.spec.hostNetwork == false)
        #expect(deployment.template.spec.containers == [Container(
            name: "bookstore", image: "flomesh/bookstore:latest", command: ["/bookstore"], args: ["--port", "14001"],
            ports: [ContainerPort(name: "web", containerPort: 14001)],
            env: [EnvVar(name: "BOOKWAREHOUSE_NAMESPACE", value: "bookwarehouse"), EnvVar(name: "IDENTITY", value: "bookstore-v1")]
        )])
    }

    @Test func mysqlStatefulSetAndHeadlessTCPService() throws {
        let decoded = try ManifestDecoder.decode(Self.mysql, file: "mysql.yaml")
        #expect(decoded.map(\.resource.kind) == [.serviceAccount, .service, .statefulSet])
        guard case .service(let service) = decoded[1].resource, case .workload(let set) = decoded[2].resource else {
            Issue.record("expected a service and a workload"); return
        }
        #expect(service.clusterIP == "None")
        #expect(service.ports == [ServicePort(name: "client", port: 3306, targetPort: .int(3306), appProtocol: .tcp)])
        #expect(set.kind == .statefulSet)
        #expect(set.template.spec.containers.first?.env.map(\.name) == ["MYSQL_ROOT_PASSWORD", "MYSQL_DATABASE"])
        #expect(set.template.spec.containers.first?.ports == [ContainerPort(name: "mysql", containerPort: 3306)])
    }

    @Test func defaultsForNamespaceReplicasServiceAccountAndAppProtocol() throws {
        let text = """
        apiVersion: v1
        kind: Service
        metadata:
          name: fortio
        spec:
          ports:
          - port: 8080
            name: http-8080
          - port: 8078
            name: tcp-8078
          - port: 8079
            name: grpc-8079
          - port: 9000
            name: mysql
            appProtocol: tcp-server-first
          - port: 9001
            name: rpc
            appProtocol: gRPC
            targetPort: rpc
          - port: 2525
            name: tcp-server-first-smtp
          selector:
            app: fortio
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: curl
        spec:
          selector:
            matchLabels:
              app: curl
          template:
            metadata:
              labels:
                app: curl
            spec:
              containers:
              - image: curlimages/curl
                name: curl
                command: ["sleep", "365d"]
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: bookstore
          labels:
            flomesh.io/monitored-by: fsm
          annotations:
            flomesh.io/sidecar-injection: enabled
        """
        let decoded = try ManifestDecoder.decode(text, file: "d.yaml", defaultNamespace: "demo")
        guard case .service(let service) = decoded[0].resource, case .workload(let curl) = decoded[1].resource,
              case .namespace(let namespace) = decoded[2].resource else { Issue.record("unexpected kinds"); return }
        #expect(service.metadata.namespace == "demo")
        #expect(service.ports.map(\.appProtocol) == [.http, .tcp, .grpc, .tcpServerFirst, .grpc, .tcpServerFirst])
        #expect(service.ports[4].targetPort == .string("rpc"))
        #expect(curl.metadata.namespace == "demo")
        #expect(curl.replicas == 1)
        #expect(curl.template.spec.serviceAccountName == "default")
        #expect(namespace.metadata.namespace == "")
        #expect(namespace.metadata.labels["flomesh.io/monitored-by"] == "fsm")
        #expect(namespace.metadata.annotations["flomesh.io/sidecar-injection"] == "enabled")
    }

    @Test func accessPolicies() throws {
        let text = """
        kind: TrafficTarget
        apiVersion: access.smi-spec.io/v1alpha3
        metadata:
          name: bookstore
          namespace: bookstore
        spec:
          destination:
            kind: ServiceAccount
            name: bookstore
            namespace: bookstore
          rules:
          - kind: HTTPRouteGroup
            name: bookstore-service-routes
            matches:
            - buy-a-book
            - books-bought
          sources:
          - kind: ServiceAccount
            name: bookbuyer
            namespace: bookbuyer
        ---
        apiVersion: specs.smi-spec.io/v1alpha4
        kind: HTTPRouteGroup
        metadata:
          name: bookstore-service-routes
          namespace: bookstore
        spec:
          matches:
          - name: books-bought
            pathRegex: /books-bought
            methods:
            - GET
            headers:
            - "user-agent": ".*-http-client/*.*"
            - "client-app": "bookbuyer"
          - name: buy-a-book
            pathRegex: ".*a-book.*new"
            methods:
            - GET
        ---
        apiVersion: specs.smi-spec.io/v1alpha4
        kind: HTTPRouteGroup
        metadata:
          name: bookwarehouse-service-routes
          namespace: bookwarehouse
        spec:
          matches:
            - name: restock-books
              methods:
              - POST
              headers: { x-a: "1" }
        ---
        kind: TrafficTarget
        apiVersion: access.smi-spec.io/v1alpha3
        metadata:
          name: mysql
          namespace: bookwarehouse
        spec:
          destination:
            kind: ServiceAccount
            name: mysql
          rules:
          - kind: TCPRoute
            name: mysql
          sources:
          - kind: ServiceAccount
            name: bookwarehouse
            namespace: bookwarehouse
        ---
        apiVersion: specs.smi-spec.io/v1alpha4
        kind: TCPRoute
        metadata:
          name: mysql
          namespace: bookwarehouse
        spec:
          matches:
            ports:
            - 3306
        """
        let decoded = try ManifestDecoder.decode(text, file: "access.yaml")
        #expect(decoded.count == 5)
        guard case .trafficTarget(let target) = decoded[0].resource else { Issue.record("not a TrafficTarget"); return }
        #expect(target.destination == IdentityReference(kind: "ServiceAccount", name: "bookstore", namespace: "bookstore"))
        #expect(target.rules == [TrafficTargetRule(kind: "HTTPRouteGroup", name: "bookstore-service-routes", matches: ["buy-a-book", "books-bought"])])
        #expect(target.sources == [IdentityReference(name: "bookbuyer", namespace: "bookbuyer")])

        guard case .httpRouteGroup(let routes) = decoded[1].resource else { Issue.record("not an HTTPRouteGroup"); return }
        #expect(routes.matches == [
            HTTPMatch(name: "books-bought", pathRegex: "/books-bought", methods: ["GET"], headers: ["user-agent": ".*-http-client/*.*", "client-app": "bookbuyer"]),
            HTTPMatch(name: "buy-a-book", pathRegex: ".*a-book.*new", methods: ["GET"]),
        ])
        guard case .httpRouteGroup(let warehouse) = decoded[2].resource else { Issue.record("not an HTTPRouteGroup"); return }
        #expect(warehouse.matches == [HTTPMatch(name: "restock-books", pathRegex: nil, methods: ["POST"], headers: ["x-a": "1"])])

        guard case .trafficTarget(let mysqlTarget) = decoded[3].resource else { Issue.record("not a TrafficTarget"); return }
        // A destination without a namespace is in the TrafficTarget's namespace.
        #expect(mysqlTarget.destination == IdentityReference(name: "mysql", namespace: "bookwarehouse"))
        #expect(mysqlTarget.rules == [TrafficTargetRule(kind: "TCPRoute", name: "mysql")])

        guard case .tcpRoute(let tcp) = decoded[4].resource else { Issue.record("not a TCPRoute"); return }
        #expect(tcp.ports == [3306])
    }

    @Test func trafficSplits() throws {
        let text = """
        apiVersion: split.smi-spec.io/v1alpha2
        kind: TrafficSplit
        metadata:
          name: bookstore-split
          namespace: bookstore
        spec:
        # The root service is a Kubernetes Service FQDN.
          service: bookstore.bookstore # <root-service>.<namespace>
          backends:
          - service: bookstore-v1 # matches app:bookstore,version:v1
            weight: 0
          - service: bookstore-v2 # matches app:bookstore,version:v2
            weight: 100
        ---
        apiVersion: split.smi-spec.io/v1alpha4
        kind: TrafficSplit
        metadata:
          name: httpbin-split
        spec:
          service: httpbin
          matches:
          - name: httpbin-test
            kind: HTTPRouteGroup
          backends:
          - service: httpbin-v1
            weight: 75
          - service: httpbin-v2
            weight: 25
        """
        let decoded = try ManifestDecoder.decode(text, file: "split.yaml", defaultNamespace: "httpbin")
        guard case .trafficSplit(let v2) = decoded[0].resource, case .trafficSplit(let canary) = decoded[1].resource else {
            Issue.record("expected two TrafficSplits"); return
        }
        #expect(v2.service == "bookstore.bookstore")
        #expect(v2.backends == [TrafficSplitBackend(service: "bookstore-v1", weight: 0), TrafficSplitBackend(service: "bookstore-v2", weight: 100)])
        #expect(v2.matches.isEmpty)
        #expect(canary.metadata.namespace == "httpbin")
        #expect(canary.service == "httpbin")
        #expect(canary.matches == [TrafficTargetRule(kind: "HTTPRouteGroup", name: "httpbin-test")])
        #expect(canary.backends.map(\.weight) == [75, 25])
    }

    @Test func rateLimitSettings() throws {
        let text = """
        apiVersion: policy.flomesh.io/v1alpha1
        kind: UpstreamTrafficSetting
        metadata:
          name: tcp-echo-limit
          namespace: demo
        spec:
          host: fortio.demo.svc.cluster.local
          rateLimit:
            local:
              tcp:
                connections: 1
                unit: minute
                burst: 10
        ---
        apiVersion: policy.flomesh.io/v1alpha1
        kind: UpstreamTrafficSetting
        metadata:
          name: http-rate-limit
          namespace: demo
        spec:
          host: fortio.demo.svc.cluster.local
          rateLimit:
            local:
              http:
                requests: 3
                unit: minute
        """
        // The demo applies a second `http-rate-limit` later, replacing the first: its own text
        // (one text defining an object twice is an error).
        let replacement = """
        apiVersion: policy.flomesh.io/v1alpha1
        kind: UpstreamTrafficSetting
        metadata:
          name: http-rate-limit
          namespace: demo
        spec:
          host: fortio.demo.svc.cluster.local
          httpRoutes:
            - path: .*
              rateLimit:
                local:
                  requests: 3
                  unit: minute
                  burst: 10
                  responseStatusCode: 503
                  responseHeadersToAdd:
                  - name: x-limited
                    value: "yes"
        """
        let decoded = try ManifestDecoder.decode(text, file: "uts.yaml") + ManifestDecoder.decode(replacement, file: "uts-2.yaml")
        guard case .upstreamTrafficSetting(let tcp) = decoded[0].resource,
              case .upstreamTrafficSetting(let http) = decoded[1].resource,
              case .upstreamTrafficSetting(let route) = decoded[2].resource else { Issue.record("expected three settings"); return }
        #expect(tcp.host == "fortio.demo.svc.cluster.local")
        #expect(tcp.rateLimit == LocalRateLimit(tcp: TCPLocalRateLimit(connections: 1, unit: .minute, burst: 10)))
        #expect(tcp.connectionSettings == nil)
        #expect(tcp.httpRoutes.isEmpty)
        #expect(http.rateLimit?.http == HTTPLocalRateLimit(requests: 3, unit: .minute, burst: nil, responseStatusCode: 429, responseHeadersToAdd: []))
        #expect(http.rateLimit?.tcp == nil)
        #expect(route.rateLimit == nil)
        #expect(route.httpRoutes == [HTTPRouteRateLimit(path: ".*", rateLimit: HTTPLocalRateLimit(
            requests: 3, unit: .minute, burst: 10, responseStatusCode: 503, responseHeadersToAdd: [HeaderValue(name: "x-limited", value: "yes")]
        ))])
    }

    @Test func connectionSettingsAndCircuitBreaking() throws {
        let text = """
        apiVersion: policy.flomesh.io/v1alpha1
        kind: UpstreamTrafficSetting
        metadata:
          name: http-circuit-breaking
          namespace: server
        spec:
          host: fortio.server.svc.cluster.local
          connectionSettings:
            tcp:
              maxConnections: 1
            http:
              maxPendingRequests: 1
              maxRequestsPerConnection: 1
              circuitBreaking:
                statTimeWindow: 1m
                minRequestAmount: 200
                slowTimeThreshold: 200ms
                slowRatioThreshold: 0.1
                errorAmountThreshold: 100
                degradedTimeWindow: 10s
                degradedStatusCode: 503
                degradedResponseContent: 'Service Unavailable!'
        """
        let decoded = try ManifestDecoder.decode(text, file: "cb.yaml")
        guard case .upstreamTrafficSetting(let setting) = decoded[0].resource, let settings = setting.connectionSettings else {
            Issue.record("expected connection settings"); return
        }
        #expect(settings.tcp.maxConnections == 1)
        #expect(settings.tcp.connectTimeout == .seconds(5))
        #expect(settings.http.maxPendingRequests == 1)
        #expect(settings.http.maxRequestsPerConnection == 1)
        #expect(settings.http.maxRequests == ConnectionSettings.unlimited)
        #expect(settings.http.maxRetries == ConnectionSettings.unlimited)
        var expected = CircuitBreaking()
        expected.statTimeWindow = .minutes(1)
        expected.minRequestAmount = 200
        expected.slowTimeThreshold = .milliseconds(200)
        expected.slowRatioThreshold = 0.1
        expected.errorAmountThreshold = 100
        expected.degradedTimeWindow = .seconds(10)
        expected.degradedStatusCode = 503
        expected.degradedResponseContent = "Service Unavailable!"
        #expect(settings.http.circuitBreaking == expected)
    }

    @Test func retryPolicyAndDefaults() throws {
        let text = """
        kind: Retry
        apiVersion: policy.flomesh.io/v1alpha1
        metadata:
          name: retry
          namespace: curl
        spec:
          source:
            kind: ServiceAccount
            name: curl
            namespace: curl
          destinations:
          - kind: Service
            name: httpbin
            namespace: httpbin
          retryPolicy:
            retryOn: "5xx"
            perTryTimeout: 1s
            numRetries: 5
            retryBackoffBaseInterval: 1s
        ---
        kind: Retry
        apiVersion: policy.flomesh.io/v1alpha1
        metadata:
          name: retry-defaults
        spec:
          source:
            kind: ServiceAccount
            name: bookbuyer
          destinations:
          - kind: Service
            name: bookstore
            namespace: bookstore
          retryPolicy:
            retryOn: "5xx, retriable-4xx"
        """
        let decoded = try ManifestDecoder.decode(text, file: "retry.yaml", defaultNamespace: "bookbuyer")
        guard case .retry(let retry) = decoded[0].resource, case .retry(let defaults) = decoded[1].resource else {
            Issue.record("expected two Retry resources"); return
        }
        #expect(retry.source == IdentityReference(name: "curl", namespace: "curl"))
        #expect(retry.destinations == [IdentityReference(kind: "Service", name: "httpbin", namespace: "httpbin")])
        #expect(retry.retryPolicy == RetryPolicy(retryOn: "5xx", perTryTimeout: .seconds(1), numRetries: 5, retryBackoffBaseInterval: .seconds(1)))
        #expect(defaults.metadata.namespace == "bookbuyer")
        #expect(defaults.source == IdentityReference(name: "bookbuyer", namespace: "bookbuyer"))
        #expect(defaults.retryPolicy == RetryPolicy(retryOn: "5xx,retriable-4xx", perTryTimeout: nil, numRetries: 1, retryBackoffBaseInterval: .milliseconds(25)))
    }

    @Test func meshConfigKeysAndDefaults() throws {
        let text = """
        apiVersion: config.flomesh.io/v1alpha3
        kind: MeshConfig
        metadata:
          name: fsm-mesh-config
        spec:
          traffic:
            enablePermissiveTrafficPolicyMode: true
            outboundPortExclusionList: [50005, 8201, 6379]
            outboundIPRangeExclusionList: ["10.0.0.1/32"]
          certificate:
            serviceCertValidityDuration: 12h
          observability:
            tracing:
              enable: true
              port: 9412
          sidecar:
            logLevel: info
            configResyncInterval: 30s
          featureFlags:
            enableRetryPolicy: true
          repoServer: { ipaddr: 127.0.0.1, codebase: /repo }
        """
        let decoded = try ManifestDecoder.decode(text, file: "mc.yaml", defaultNamespace: "bookstore")
        guard case .meshConfig(let config) = decoded[0].resource else { Issue.record("not a MeshConfig"); return }
        #expect(config.metadata.namespace == "fsm-system")
        #expect(config.traffic.enablePermissiveTrafficPolicyMode)
        #expect(!config.traffic.enableEgress)
        #expect(config.traffic.outboundPortExclusionList == [50005, 8201, 6379])
        #expect(config.traffic.outboundIPRangeExclusionList == ["10.0.0.1/32"])
        #expect(config.certificate.serviceCertValidityDuration == .hours(12))
        #expect(config.observability.tracing.enable)
        #expect(config.observability.tracing.port == 9412)
        #expect(config.observability.tracing.address == "jaeger.fsm-system.svc.cluster.local")
        #expect(config.observability.tracing.endpoint == "/api/v2/spans")
        #expect(config.sidecar.logLevel == "info")
        #expect(config.sidecar.configResyncInterval == .seconds(30))
        // Empty: the injector's own image (the one holding the fsm binary).
        #expect(config.sidecar.sidecarImage == "")
        #expect(config.sidecar.resources.isEmpty)
        #expect(config.featureFlags.enableRetryPolicy)
        #expect(config.featureFlags.enableEgressPolicy)
    }

    @Test func emptyDocumentsAreSkipped() throws {
        let text = "---\n# only a comment\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: curl\n---\n"
        let decoded = try ManifestDecoder.decode(text, file: "e.yaml")
        #expect(decoded.map(\.resource.key) == [ResourceKey(kind: .serviceAccount, namespace: "default", name: "curl")])
        #expect(try ManifestDecoder.decode("", file: "empty.yaml").isEmpty)
    }

    @Test func podAndEndpoints() throws {
        let text = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: bookstore-v1-0
          namespace: bookstore
          labels: {app: bookstore, version: v1}
          annotations: {flomesh.io/sidecar-injection: disabled}
        spec:
          serviceAccountName: bookstore
          hostNetwork: true
          containers:
          - name: bookstore
            image: flomesh/bookstore:latest
            env:
            - name: POD
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
        status:
          podIP: 10.0.0.7
        ---
        apiVersion: v1
        kind: Endpoints
        metadata:
          name: external
          namespace: bookstore
        subsets:
        - addresses:
          - ip: 10.0.0.7
            targetRef: {kind: Pod, name: bookstore-v1-0}
          - ip: 192.168.1.1
          ports:
          - name: http
            port: 14001
        """
        let decoded = try ManifestDecoder.decode(text, file: "p.yaml")
        guard case .pod(let pod) = decoded[0].resource, case .endpoints(let endpoints) = decoded[1].resource else {
            Issue.record("expected a Pod and Endpoints"); return
        }
        #expect(pod.metadata.annotations == ["flomesh.io/sidecar-injection": "disabled"])
        #expect(pod.spec.serviceAccountName == "bookstore")
        #expect(pod.spec.hostNetwork)
        #expect(pod.spec.containers.first?.env == [EnvVar(name: "POD", value: "")])
        #expect(pod.podIP == "10.0.0.7")
        #expect(endpoints.subsets == [EndpointSubset(
            addresses: [EndpointAddress(ip: "10.0.0.7", podName: "bookstore/bookstore-v1-0"), EndpointAddress(ip: "192.168.1.1")],
            ports: [EndpointPort(name: "http", port: 14001)]
        )])
    }
}
