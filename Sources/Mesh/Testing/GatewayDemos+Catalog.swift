extension GatewayDemo {
    /// Every demo of F2-001..F2-030 that shows manifests, in guide order.
    public static let all: [GatewayDemo] = ingress + routing + policies

    static let ingress: [GatewayDemo] = [
        GatewayDemo(id: "F2-001a", title: "IngressBackend from a Service", lines: "1438-1452", namespace: "test", manifests: """
        kind: IngressBackend
        apiVersion: policy.flomesh.io/v1alpha1
        metadata:
          name: basic
          namespace: test
        spec:
          backends:
          - name: foo
            port:
              number: 80 # targetPort of the service
              protocol: http
          sources:
          - kind: Service
            namespace: default
            name: myapp
        """),
        GatewayDemo(id: "F2-001b", title: "IngressBackend from an IP range", lines: "1458-1471", namespace: "test", manifests: """
        kind: IngressBackend
        apiVersion: policy.flomesh.io/v1alpha1
        metadata:
          name: basic
          namespace: test
        spec:
          backends:
          - name: foo
            port:
              number: 80 # targetPort of the service
              protocol: http
          sources:
          - kind: IPRange
            name: 10.0.0.0/8
        """),
        GatewayDemo(id: "F2-001c", title: "IngressBackend over mTLS", lines: "1478-1493", namespace: "test", manifests: """
        kind: IngressBackend
        apiVersion: policy.flomesh.io/v1alpha1
        metadata:
          name: basic
          namespace: test
        spec:
          backends:
          - name: foo
            port:
              number: 80
              protocol: https # https implies TLS
            tls:
              skipClientCertValidation: false # mTLS (optional, default: false)
          sources:
          - kind: AuthenticatedPrincipal
            name: client.default.svc.cluster.local
        """),
        GatewayDemo(id: "F2-001d", title: "FSM Ingress to foo with its IngressBackend", lines: "1520-1553", namespace: "test", manifests: """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: fsm-ingress
          namespace: test
        spec:
          ingressClassName: pipy
          rules:
          - host: foo-basic.bar.com
            http:
              paths:
              - path: /
                pathType: Prefix
                backend:
                  service:
                    name: foo
                    port:
                      number: 80
        ---
        kind: IngressBackend
        apiVersion: policy.flomesh.io/v1alpha1
        metadata:
          name: basic
          namespace: test
        spec:
          backends:
          - name: foo
            port:
              number: 80 # targetPort of the service
              protocol: http # http implies no TLS
          sources:
          - kind: Service
            namespace: fsm-system
            name: fsm-ingress
        """),
    ]

    static let routing: [GatewayDemo] = [
        GatewayDemo(id: "F2-010", title: "quickstart: Gateway and the repo route", lines: "1672-1715", namespace: "fsm-system", manifests: """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: simple-fsm-gateway
        spec:
          gatewayClassName: fsm-gateway-cls
          listeners:
          - protocol: HTTP
            port: 8000
            name: http
            allowedRoutes:
              namespaces:
                from: Same
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: repo
        spec:
          parentRefs:
          - name: simple-fsm-gateway
            port: 8000
          rules:
          - backendRefs:
            - name: fsm-controller
              port: 6060
        """),
        GatewayDemo(id: "F2-011", title: "HTTP routing by hostname", lines: "demos.md 6.6", namespace: "httpbin", manifests: httpRouting),
        GatewayDemo(id: "F2-012a", title: "URL rewrite: full path", lines: "1805-1836", namespace: "httpbin", manifests: httpRouting(foo: fooRoute(rules:
            prefixRule("/get", """
                filters:
                - type: URLRewrite
                  urlRewrite:
                    path:
                      type: ReplaceFullPath
                      replaceFullPath: /headers
            """) + prefixRule("/")))),
        GatewayDemo(id: "F2-012b", title: "URL rewrite: prefix", lines: "1864-1895", namespace: "httpbin", manifests: httpRouting(foo: fooRoute(rules:
            prefixRule("/status", """
                filters:
                - type: URLRewrite
                  urlRewrite:
                    path:
                      type: ReplacePrefixMatch
                      replacePrefixMatch: /stream
            """) + prefixRule("/")))),
        GatewayDemo(id: "F2-012c", title: "URL rewrite: hostname", lines: "1908-1937", namespace: "httpbin", manifests: httpRouting(foo: fooRoute(rules:
            prefixRule("/get", """
                filters:
                - type: URLRewrite
                  urlRewrite:
                    hostname: baz.example.com
            """) + prefixRule("/")))),
        GatewayDemo(id: "F2-013a", title: "redirect: hostname", lines: "1997-2019", namespace: "httpbin", manifests: httpRouting(foo: fooRoute(rules:
            prefixRule("/", """
                filters:
                - type: RequestRedirect
                  requestRedirect:
                    hostname: bar.example.com
                    port: 8000
                    statusCode: 301
            """)))),
        GatewayDemo(id: "F2-013b", title: "redirect: prefix path", lines: "2033-2061", namespace: "httpbin", manifests: httpRouting(foo: fooRoute(rules:
            prefixRule("/status", """
                filters:
                - type: RequestRedirect
                  requestRedirect:
                    path:
                      type: ReplacePrefixMatch
                      replacePrefixMatch: /stream
                    statusCode: 301
            """) + matchAllRule))),
        GatewayDemo(id: "F2-013c", title: "redirect: full path", lines: "2070-2100", namespace: "httpbin", manifests: httpRouting(foo: fooRoute(rules:
            prefixRule("/status", """
                filters:
                - type: RequestRedirect
                  requestRedirect:
                    path:
                      type: ReplaceFullPath
                      replaceFullPath: /status/200
                    statusCode: 301
            """) + matchAllRule))),
        GatewayDemo(id: "F2-014a", title: "request header add", lines: "2156-2180", namespace: "httpbin",
                    manifests: httpRouting(foo: fooRoute(rules: prefixRule("/", headerFilter("RequestHeaderModifier", "requestHeaderModifier", """
                          add:
                          - name: "header-2-add"
                            value: "foo"
                    """))))),
        GatewayDemo(id: "F2-014b", title: "request header set", lines: "2201-2227", namespace: "httpbin",
                    manifests: httpRouting(foo: fooRoute(rules: prefixRule("/", headerFilter("RequestHeaderModifier", "requestHeaderModifier", """
                          set:
                          - name: "header-2-set"
                            value: "foo"
                          - name: "user-agent"
                            value: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"
                    """))))),
        GatewayDemo(id: "F2-014c", title: "request header remove", lines: "2246-2269", namespace: "httpbin",
                    manifests: httpRouting(foo: fooRoute(rules: prefixRule("/", headerFilter("RequestHeaderModifier", "requestHeaderModifier", """
                          remove:
                          - "user-agent"
                    """))))),
        GatewayDemo(id: "F2-015a", title: "response header add", lines: "2312-2336", namespace: "httpbin",
                    manifests: httpRouting(foo: fooRoute(rules: prefixRule("/", headerFilter("ResponseHeaderModifier", "responseHeaderModifier", """
                          add:
                          - name: "header-2-add"
                            value: "foo"
                    """))))),
        GatewayDemo(id: "F2-015b", title: "response header set", lines: "2356-2382", namespace: "httpbin",
                    manifests: httpRouting(foo: fooRoute(rules: prefixRule("/", headerFilter("ResponseHeaderModifier", "responseHeaderModifier", """
                          set:
                          - name: "header-2-set"
                            value: "foo"
                          - name: "server"
                            value: "fsm/gateway"
                    """))))),
        GatewayDemo(id: "F2-015c", title: "response header remove", lines: "2401-2424", namespace: "httpbin",
                    manifests: httpRouting(foo: fooRoute(rules: prefixRule("/", headerFilter("ResponseHeaderModifier", "responseHeaderModifier", """
                          remove:
                          - "server"
                    """))))),
        GatewayDemo(id: "F2-016", title: "TCP routing on two ports", lines: "2456-2477", namespace: "httpbin", manifests: """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: simple-fsm-gateway
        spec:
          gatewayClassName: fsm-gateway-cls
          listeners:
          - protocol: TCP
            port: 8000
            name: foo
            allowedRoutes:
              namespaces:
                from: Same
          - protocol: TCP
            port: 8001
            name: bar
            allowedRoutes:
              namespaces:
                from: Same
        ---
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: TCPRoute
        metadata:
          name: tcp-route
        spec:
          parentRefs:
          - name: simple-fsm-gateway
            port: 8000
          - name: simple-fsm-gateway
            port: 8001
          rules:
          - backendRefs:
            - name: httpbin
              port: 8080
        """),
        GatewayDemo(id: "F2-017", title: "TLS termination with a kubernetes.io/tls Secret", lines: "2508-2538", namespace: "httpbin",
                    manifests: tlsTermination + "---\n" + secret("simple-gateway-cert", type: "kubernetes.io/tls", keys: ["tls.crt", "tls.key"])),
        GatewayDemo(id: "F2-018", title: "TLS passthrough to httpbin.org", lines: "2554-2591", namespace: "httpbin", manifests: """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: simple-fsm-gateway
        spec:
          gatewayClassName: fsm-gateway-cls
          listeners:
          - protocol: TLS
            port: 8000
            name: foo
            tls:
              mode: Passthrough
            allowedRoutes:
              namespaces:
                from: Same
        ---
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: TLSRoute
        metadata:
          name: tcp-route
        spec:
          parentRefs:
          - name: simple-fsm-gateway
            port: 8000
          rules:
          - backendRefs:
            - name: httpbin.org
              port: 443
        """),
        GatewayDemo(id: "F2-019", title: "gRPC routing by service and method", lines: "2619-2626 (listener as HTTP routing, inferred)", namespace: "grpcbin", manifests: """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: simple-fsm-gateway
        spec:
          gatewayClassName: fsm-gateway-cls
          listeners:
          - protocol: HTTP
            port: 8000
            name: grpc
            allowedRoutes:
              namespaces:
                from: Same
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: grpcbin
        spec:
          selector:
            app: grpcbin
          ports:
          - name: grpc
            port: 9000
            appProtocol: grpc
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: GRPCRoute
        metadata:
          name: grpc-route
        spec:
          parentRefs:
          - name: simple-fsm-gateway
            port: 8000
          rules:
          - matches:
            - method:
                service: hello.HelloService
                method: SayHello
            backendRefs:
            - name: grpcbin
              port: 9000
        """),
        GatewayDemo(id: "F2-020", title: "UDP routing to fortio", lines: "2653-2721", namespace: "server", manifests: """
        apiVersion: v1
        kind: Service
        metadata:
          name: fortio
          labels:
            app: fortio
            service: fortio
        spec:
          ports:
          - port: 8078
            name: udp-8078
          selector:
            app: fortio
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: fortio
        spec:
          replicas: 1
          selector:
            matchLabels:
              app: fortio
          template:
            metadata:
              labels:
                app: fortio
            spec:
              containers:
              - name: fortio
                image: fortio/fortio:latest_release
                imagePullPolicy: Always
                ports:
                - containerPort: 8078
                  name: http
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          namespace: server
          name: simple-fsm-gateway
        spec:
          gatewayClassName: fsm-gateway-cls
          listeners:
          - protocol: UDP
            port: 8000
            name: udp
        ---
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: UDPRoute
        metadata:
          name: udp-route-sample
        spec:
          parentRefs:
          - name: simple-fsm-gateway
            namespace: server
            port: 8000
          rules:
          - backendRefs:
            - name: fortio
              port: 8078
        """),
    ]

    static let matchAllRule = """
      - matches:
        backendRefs:
        - name: httpbin
          port: 8080

    """

    /// A filter of `type` whose settings (`body`, indented as a key of the filter) nest under `key`.
    static func headerFilter(_ type: String, _ key: String, _ body: String) -> String {
        let nested = body.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
        return """
            filters:
            - type: \(type)
              \(key):
        \(nested)
        """
    }
}
