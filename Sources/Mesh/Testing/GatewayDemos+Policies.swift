extension GatewayDemo {
    /// F2-021..F2-030: the FSM Gateway policies over their sample apps.
    static let policies: [GatewayDemo] = [
        GatewayDemo(id: "F2-021a", title: "fault injection: route-level abort", lines: "2764-2817", namespace: "httpbin",
                    manifests: twoRules("/headers") + "---\n" + policy("FaultInjectionPolicy", "fault-injection", target: "HTTPRoute", "http-route-foo", """
                      http:
                      - match:
                          path:
                            type: PathPrefix
                            value: /headers
                        config:
                          abort:
                            percent: 100
                            statusCode: 404
                    """)),
        GatewayDemo(id: "F2-021b", title: "fault injection: domain-level abort", lines: "2838-2854", namespace: "httpbin",
                    manifests: twoRules("/headers") + "---\n" + policy("FaultInjectionPolicy", "fault-injection", target: "HTTPRoute", "http-route-foo", """
                      hostnames:
                        - hostname: foo.example.com
                          config:
                            abort:
                              percent: 100
                              statusCode: 404
                    """)),
        GatewayDemo(id: "F2-021c", title: "fault injection: domain-level delay", lines: "2875-2894", namespace: "httpbin",
                    manifests: twoRules("/headers") + "---\n" + policy("FaultInjectionPolicy", "fault-injection", target: "HTTPRoute", "http-route-foo", """
                      hostnames:
                        - hostname: foo.example.com
                          config:
                            delay:
                              percent: 100
                              range:
                                min: 500
                                max: 1000
                              unit: ms
                    """)),
        GatewayDemo(id: "F2-022a", title: "access control: domain-level", lines: "2956-2977", namespace: "httpbin",
                    manifests: twoRules("/headers") + "---\n" + policy("AccessControlPolicy", "access-control-sample", target: "HTTPRoute", "http-route-foo", """
                      hostnames:
                        - hostname: foo.example.com
                          config:
                            blacklist:
                              - 192.168.0.0/24
                            whitelist:
                              - 112.94.5.242
                            enableXFF:
                              true
                            statusCode: 403
                            message: "Forbidden"
                    """)),
        GatewayDemo(id: "F2-022b", title: "access control: route-level", lines: "3000-3054", namespace: "httpbin",
                    manifests: twoRules("/headers") + "---\n" + policy("AccessControlPolicy", "access-control-sample", target: "HTTPRoute", "http-route-foo", """
                      http:
                        - match:
                            path:
                              type: PathPrefix
                              value: /headers
                          config:
                            blacklist:
                              - 192.168.0.0/24
                            whitelist:
                              - 112.94.5.242
                            enableXFF: true
                            statusCode: 403
                            message: "Forbidden"
                    """)),
        GatewayDemo(id: "F2-023a", title: "rate limit: port bytes per second", lines: "3169-3182", namespace: "httpbin",
                    manifests: httpRouting + "---\n" + policy("RateLimitPolicy", "ratelimit-sample", target: "Gateway", "simple-fsm-gateway", """
                      ports:
                        - port: 8000
                          bps: 2048
                    """)),
        GatewayDemo(id: "F2-023b", title: "rate limit: domain", lines: "3206-3226", namespace: "httpbin",
                    manifests: httpRouting + "---\n" + policy("RateLimitPolicy", "ratelimit-sample", target: "HTTPRoute", "http-route-foo", """
                      hostnames:
                        - hostname: foo.example.com
                          config:
                            backlog: 1
                            requests: 100
                            statTimeWindow: 60
                            responseStatusCode: 429
                            responseHeadersToAdd:
                              - name: RateLimit-Limit
                                value: "100"
                    """)),
        GatewayDemo(id: "F2-023c", title: "rate limit: route", lines: "3247-3299", namespace: "httpbin",
                    manifests: twoRules("/status/200") + "---\n" + policy("RateLimitPolicy", "ratelimit-sample", target: "HTTPRoute", "http-route-foo", """
                      http:
                        - match:
                            path:
                              type: PathPrefix
                              value: /status/200
                          config:
                            backlog: 1
                            requests: 100
                            statTimeWindow: 60
                            responseStatusCode: 429
                            responseHeadersToAdd:
                              - name: RateLimit-Limit
                                value: "100"
                    """)),
        GatewayDemo(id: "F2-024", title: "retry on 5xx", lines: "3322-3442", namespace: "server", manifests: fortio + "---\n" + httpGateway(route: "fortio-route", backend: "fortio")
                    + "---\n" + policy("RetryPolicy", "retry-policy-sample", target: "Service", "fortio", namespace: "server", group: nil, """
                      ports:
                      - port: 8080
                        config:
                          retryOn:
                          - 5xx
                          numRetries: 5
                          backoffBaseInterval: 2
                    """)),
        GatewayDemo(id: "F2-025", title: "session sticky", lines: "3460-3570", namespace: "server",
                    manifests: pipyPair(second: 503, "Service unavailable") + "---\n" + policy("SessionStickyPolicy", "session-sticky-policy-sample", target: "Service", "pipy",
                                                                                         namespace: "server", group: "\"\"", """
                      ports:
                      - port: 8080
                        config:
                          cookieName: _srv_id
                          expires: 600
                    """)),
        GatewayDemo(id: "F2-026", title: "health check", lines: "3600-3728", namespace: "server",
                    manifests: pipyPair(second: 503, "Service unavailable") + "---\n" + policy("HealthCheckPolicy", "health-check-policy-sample", target: "Service", "pipy",
                                                                                         namespace: "server", group: "\"\"", """
                      ports:
                      - port: 8080
                        config:
                          interval: 10
                          maxFails: 3
                          failTimeout: 1
                          path: /healthz
                          matches:
                          - statusCodes:
                            - 200
                            - 201
                    """)),
        GatewayDemo(id: "F2-027a", title: "load balancer: hashing", lines: "3752-3854", namespace: "server",
                    manifests: pipyPair(second: 201, "Hi, world") + "---\n" + lbPolicy("HashingLoadBalancer")),
        GatewayDemo(id: "F2-027b", title: "load balancer: least connection", lines: "3861-3874", namespace: "server",
                    manifests: pipyPair(second: 201, "Hi, world") + "---\n" + lbPolicy("LeastConnectionLoadBalancer")),
        GatewayDemo(id: "F2-028", title: "upstream TLS", lines: "3906-4029", namespace: "httpbin", manifests: upstreamTLS),
        GatewayDemo(id: "F2-029", title: "gateway mTLS with a generic Secret", lines: "4042-4096", namespace: "httpbin",
                    manifests: tlsTermination + "---\n" + secret("simple-gateway-cert", type: "Opaque", keys: ["tls.crt", "tls.key", "ca.crt"]) + "---\n"
                        + policy("GatewayTLSPolicy", "gateway-tls-policy-sample", target: "Gateway", "simple-fsm-gateway", """
                      ports:
                      - port: 8000
                        config:
                          mTLS: true
                    """)),
        GatewayDemo(id: "F2-030", title: "traffic mirroring", lines: "4128-4251", namespace: "server", manifests: mirror),
    ]

    /// A `gateway.flomesh.io/v1alpha1` policy; `spec` holds the levels below `targetRef`, indented two spaces.
    static func policy(_ kind: String, _ name: String, target kind2: String, _ targetName: String, namespace: String = "httpbin",
                       group: String? = "gateway.networking.k8s.io", _ spec: String) -> String {
        """
        apiVersion: gateway.flomesh.io/v1alpha1
        kind: \(kind)
        metadata:
          name: \(name)
        spec:
          targetRef:
        \(group.map { "    group: \($0)\n" } ?? "")    kind: \(kind2)
            name: \(targetName)
            namespace: \(namespace)
        \(spec)
        """
    }

    static func lbPolicy(_ type: String) -> String {
        policy("LoadBalancerPolicy", "lb-policy-sample", target: "Service", "pipy", namespace: "server", group: "\"\"", """
          ports:
            - port: 8080
              type: \(type)
        """)
    }

    static let fortio = """
    apiVersion: v1
    kind: Service
    metadata:
      name: fortio
      labels:
        app: fortio
        service: fortio
    spec:
      ports:
      - port: 8080
        name: http-8080
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
            - containerPort: 8080
              name: http

    """

    static let upstreamTLS = """
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: httpbin
    spec:
      replicas: 1
      selector:
        matchLabels:
          app: httpbin
      template:
        metadata:
          labels:
            app: httpbin
        spec:
          containers:
          - name: httpbin
            image: kennethreitz/httpbin
            ports:
            - containerPort: 443
            volumeMounts:
            - name: cert-volume
              mountPath: /etc/httpbin/certs # Mounting path in the container
            command: ["gunicorn"]
            args: ["-b", "0.0.0.0:443", "httpbin:app", "-k", "gevent", "--certfile", "/etc/httpbin/certs/server-cert.pem", "--keyfile", "/etc/httpbin/certs/server-key.pem"]
          volumes:
          - name: cert-volume
            secret:
              secretName: server-cert
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: httpbin
    spec:
      selector:
        app: httpbin
      ports:
      - protocol: TCP
        port: 8443
        targetPort: 443
    ---
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
      name: http-route-foo
    spec:
      parentRefs:
      - name: simple-fsm-gateway
        port: 8000
      hostnames:
      - foo.example.com
      rules:
      - matches:
        - path:
            type: PathPrefix
            value: /
        backendRefs:
        - name: httpbin
          port: 8443
    ---
    apiVersion: gateway.flomesh.io/v1alpha1
    kind: UpstreamTLSPolicy
    metadata:
      name: upstream-tls-policy-sample
    spec:
      targetRef:
        group: ""
        kind: Service
        name: httpbin
        namespace: httpbin
      ports:
      - port: 8443
        config:
          certificateRef:
            namespace: httpbin
            name: https-cert
          mTLS: false
    ---

    """ + secret("https-cert", type: "Opaque", keys: ["ca.crt"])

    static let mirror = """
    apiVersion: v1
    kind: Service
    metadata:
      name: pipy
    spec:
      selector:
        app: pipy
      ports:
      - protocol: TCP
        port: 8080
        targetPort: 8080
    ---
    apiVersion: v1
    kind: Pod
    metadata:
      name: pipy
      labels:
        app: pipy
    spec:
      containers:
      - name: pipy
        image: flomesh/pipy:1.0.0-1
        command: ["pipy", "-e", "pipy().listen(8080).serveHTTP(msg=>(console.log(msg.head),msg))"]
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: pipy-mirror
    spec:
      selector:
        app: pipy-mirror
      ports:
      - protocol: TCP
        port: 8080
        targetPort: 8080
    ---
    apiVersion: v1
    kind: Pod
    metadata:
      name: pipy-mirror
      labels:
        app: pipy-mirror
    spec:
      containers:
      - name: pipy
        image: flomesh/pipy:1.0.0-1
        command: ["pipy", "-e", "pipy().listen(8080).serveHTTP(msg=>(console.log(msg.head),msg))"]
    ---

    """ + httpGateway(route: "http-route-sample", backend: "pipy", filters: """
        filters:
        - type: RequestMirror
          requestMirror:
            backendRef:
              kind: Service
              name: pipy-mirror
              port: 8080

    """)
}
