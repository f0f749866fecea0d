/// The manifests of the guides' ingress and FSM Gateway demos (fsm-guides.txt 3.7, inventory
/// F2-001..F2-030; demos.md 6.4 and 6.6), as a user applies them: the guide's text lost its
/// indentation, so each is re-indented here with names and values exactly as the guide writes
/// them. A demo's `manifests` is the whole state its outcome is observed in (the sample app, the
/// Gateway, the routes and the policy of that step), applied in `namespace` (`kubectl apply -n`).
public struct GatewayDemo: Sendable, CustomStringConvertible {
    public var id: String
    /// What the guide shows, in a few words.
    public var title: String
    /// The guide lines the manifests come from.
    public var lines: String
    public var namespace: String
    public var manifests: String

    public var description: String { "\(id) \(title)" }
}

extension GatewayDemo {
    /// `manifests/gateway/http-routing.yaml` (demos.md 6.6): Gateway, httpbin, routes for foo and bar.
    public static let httpRouting = """
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata:
      name: simple-fsm-gateway
    spec:
      gatewayClassName: fsm
      listeners:
      - protocol: HTTP
        port: 8000
        name: http
        allowedRoutes:
          namespaces:
            from: Same
    ---
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
            - containerPort: 80
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
          port: 8080
          targetPort: 80
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
          port: 8080
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata:
      name: http-route-bar
    spec:
      parentRefs:
      - name: simple-fsm-gateway
        port: 8000
      hostnames:
      - bar.example.com
      rules:
      - matches:
        - path:
            type: PathPrefix
            value: /
        backendRefs:
        - name: httpbin
          port: 8080

    """

    /// http-routing.yaml with `http-route-foo` replaced (the guides re-apply it per step).
    static func httpRouting(foo route: String) -> String {
        let base = httpRouting.split(separator: "---\n").map(String.init)
        return (base.filter { !$0.contains("name: http-route-foo") } + [route]).joined(separator: "---\n")
    }

    static func fooRoute(rules: String) -> String {
        """
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
        \(rules)
        """
    }

    /// A PathPrefix rule to httpbin:8080 with extra lines (filters) after its backendRefs.
    static func prefixRule(_ path: String, _ extra: String = "", port: Int = 8080) -> String {
        let rule = """
          - matches:
            - path:
                type: PathPrefix
                value: \(path)
            backendRefs:
            - name: httpbin
              port: \(port)
        \(extra)
        """
        return extra.isEmpty || extra.hasSuffix("\n") ? rule : rule + "\n"
    }

    /// http-route-foo with rules `/headers` and `/` (F2-021, F2-022) or `/status/200` and `/` (F2-023).
    static func twoRules(_ first: String) -> String {
        httpRouting(foo: fooRoute(rules: prefixRule(first) + prefixRule("/")))
    }

    /// The pipy fixture of F2-025..F2-027: Service pipy and two pods answering the given status and body.
    static func pipyPair(second status: Int, _ body: String) -> String {
        """
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
          name: pipy-1
          labels:
            app: pipy
        spec:
          containers:
          - name: pipy
            image: flomesh/pipy:0.99.0-2
            command: ["pipy", "-e", "pipy().listen(8080).serveHTTP(new Message({status: 200},'Hello, world'))"]
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: pipy-2
          labels:
            app: pipy
        spec:
          containers:
          - name: pipy
            image: flomesh/pipy:0.99.0-2
            command: ["pipy", "-e", "pipy().listen(8080).serveHTTP(new Message({status: \(status)},'\(body)'))"]
        ---

        """ + httpGateway(route: "fortio-route", backend: "pipy")
    }

    /// A Gateway with one HTTP listener on 8000 and a route for every path to `backend:8080`.
    static func httpGateway(route: String, backend: String, filters: String = "") -> String {
        """
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
          name: \(route)
        spec:
          parentRefs:
          - name: simple-fsm-gateway
            port: 8000
          rules:
          - matches:
            - path:
                type: PathPrefix
                value: /
        \(filters)    backendRefs:
            - name: \(backend)
              port: 8080

        """
    }

    /// `fsm-gateway-cls` Gateway with a TLS-terminating listener on 8000 (tls-termination.yaml, inferred: inventory F2-017).
    static let tlsTermination = """
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata:
      name: simple-fsm-gateway
    spec:
      gatewayClassName: fsm-gateway-cls
      listeners:
      - protocol: HTTPS
        port: 8000
        name: https
        tls:
          mode: Terminate
          certificateRefs:
          - name: simple-gateway-cert
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
      rules:
      - matches:
        - path:
            type: PathPrefix
            value: /
        backendRefs:
        - name: httpbin
          port: 8080
    ---

    """ + httpbinService

    /// http-routing.yaml's httpbin Service (8080 to the pods' 80), the sample app of F2-017 too.
    static var httpbinService: String {
        String(httpRouting.split(separator: "---\n").first { $0.contains("kind: Service\n") } ?? "")
    }

    /// A `tls`-shaped Secret: `kubectl create secret tls` (F2-017) or `generic` with tls.crt/tls.key/ca.crt (F2-029).
    public static func secret(_ name: String, type: String, keys: [String]) -> String {
        let data = keys.map { "  \($0): \(base64("-----BEGIN \($0)-----\n\(name)\n-----END \($0)-----\n"))" }.joined(separator: "\n")
        return """
        apiVersion: v1
        kind: Secret
        metadata:
          name: \(name)
        type: \(type)
        data:
        \(data)

        """
    }

    static func base64(_ text: String) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let bytes = Array(text.utf8)
        var out = ""
        for start in stride(from: 0, to: bytes.count, by: 3) {
            let chunk = Array(bytes[start..<min(start + 3, bytes.count)]) + [0, 0]
            let n = Int(chunk[0]) << 16 | Int(chunk[1]) << 8 | Int(chunk[2])
            let count = min(3, bytes.count - start)
            for i in 0..<4 { out.append(i <= count ? table[(n >> (18 - 6 * i)) & 63] : "=") }
        }
        return out
    }
}
