import MeshManifest
import MeshModel
import Testing

/// The gateway and ingress kinds: good input decodes to what it says, bad input fails with
/// file, line, column, field and what was expected.
@Suite struct GatewayDecoderTests {
    func decode(_ text: String) throws -> [Resource] {
        try ManifestDecoder.decode(text, file: "gw.yaml", defaultNamespace: "httpbin").map(\.resource)
    }

    func decodeError(_ text: String) -> ManifestError? {
        #expect(throws: ManifestError.self) { try ManifestDecoder.decode(text, file: "gw.yaml", defaultNamespace: "httpbin") }
    }

    static let route = """
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: r}
    spec:
      parentRefs: [{name: gw, sectionName: http, port: 8000}]
      hostnames: ["*.example.com"]
      rules:
      - matches:
        - path: {type: Exact, value: /get}
          headers: [{name: x-env, value: "^prod-.*$", type: RegularExpression}]
          queryParams: [{name: debug, value: "1"}]
          method: GET
        filters:
        - type: RequestRedirect
          requestRedirect: {scheme: https, port: 8443}
        backendRefs:
        - {name: httpbin, port: 8080, weight: 3}
        - {name: other, namespace: elsewhere, port: 80, weight: 0}

    """

    @Test func anHTTPRouteDecodesEveryPart() throws {
        guard case .gatewayRoute(let route) = try decode(Self.route)[0] else { Issue.record("not a route"); return }
        #expect(route.kind == .http)
        #expect(route.parentRefs == [GatewayParentReference(namespace: "httpbin", name: "gw", sectionName: "http", port: 8000)])
        #expect(route.hostnames == ["*.example.com"])
        let rule = route.rules[0]
        #expect(rule.matches == [GatewayHTTPRouteMatch(path: GatewayPathMatch(type: .exact, value: "/get"),
                                                       headers: [GatewayValueMatch(type: .regularExpression, name: "x-env", value: "^prod-.*$")],
                                                       queryParams: [GatewayValueMatch(name: "debug", value: "1")], method: "GET")])
        #expect(rule.filters == [.requestRedirect(GatewayRequestRedirect(scheme: "https", port: 8443, statusCode: 302))])
        #expect(rule.backendRefs.map(\.weight) == [3, 0])
        #expect(rule.backendRefs[1].reference == GatewayObjectReference(kind: "Service", name: "other", namespace: "elsewhere"))
    }

    @Test func theTwoTCPRoutesAreToldApartByAPIVersion() throws {
        let resources = try decode("""
        apiVersion: specs.smi-spec.io/v1alpha4
        kind: TCPRoute
        metadata: {name: smi}
        spec: {matches: {ports: [3306]}}
        ---
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: TCPRoute
        metadata: {name: gw}
        spec:
          parentRefs: [{name: gw, port: 8000}]
          rules: [{backendRefs: [{name: db, port: 3306}]}]
        """)
        #expect(resources.map(\.kind) == [.tcpRoute, .gatewayTCPRoute])
        #expect(resources.map(\.key.description) == ["TCPRoute/httpbin/smi", "TCPRoute.gateway.networking.k8s.io/httpbin/gw"])
    }

    @Test func aWrongAPIVersionNamesEveryVersionOfTheKind() {
        let error = decodeError("apiVersion: gateway.networking.k8s.io/v1\nkind: TCPRoute\nmetadata: {name: t}\nspec: {}\n")
        #expect(error == ManifestError(file: "gw.yaml", line: 1, column: 13, path: "apiVersion", message:
            "unsupported apiVersion \"gateway.networking.k8s.io/v1\" for kind TCPRoute; supported: specs.smi-spec.io/v1alpha4, gateway.networking.k8s.io/v1alpha2"))
    }

    @Test func anInvalidPathRegexIsRefusedAtItsValue() {
        let text = Self.route.replacingOccurrences("path: {type: Exact, value: /get}", with: "path: {type: RegularExpression, value: \"/get(\"}")
        let error = decodeError(text)
        #expect(error?.location == SourceLocation(file: "gw.yaml", line: 9, column: 46))
        #expect(error?.path == "spec.rules[0].matches[0].path.value")
        #expect(error?.message.hasPrefix("invalid regular expression \"/get(\"") == true)
    }

    @Test func aMisspeltFieldGetsASuggestion() {
        let error = decodeError(Self.route.replacingOccurrences("backendRefs:", with: "backendRef:"))
        #expect(error == ManifestError(file: "gw.yaml", line: 16, column: 5, path: "spec.rules[0].backendRef", message: "unknown field \"backendRef\"; did you mean \"backendRefs\"?"))
    }

    @Test func aPrefixReplacementNeedsPrefixMatches() {
        let error = decodeError(Self.route.replacingOccurrences("requestRedirect: {scheme: https, port: 8443}",
                                                                with: "requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}"))
        #expect(error == ManifestError(file: "gw.yaml", line: 15, column: 31, path: "spec.rules[0].filters[0].requestRedirect.path",
                                       message: "ReplacePrefixMatch needs PathPrefix matches; this rule has a match of type Exact"))
    }

    @Test func aServiceBackendNeedsAPort() {
        let error = decodeError(Self.route.replacingOccurrences("{name: httpbin, port: 8080, weight: 3}", with: "{name: httpbin}"))
        #expect(error == ManifestError(file: "gw.yaml", line: 17, column: 7, path: "spec.rules[0].backendRefs[0].port",
                                       message: "missing required field \"port\": a Service backend needs a port"))
    }

    static let gateway = """
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: {name: gw}
    spec:
      gatewayClassName: fsm-gateway-cls
      listeners:
      - name: https
        port: 8443
        protocol: HTTPS
        hostname: "*.example.com"
        tls: {mode: Terminate, certificateRefs: [{name: cert}]}
        allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {team: web}}}, kinds: [{kind: HTTPRoute}]}
      - {name: tls, port: 9443, protocol: TLS, tls: {mode: Passthrough}}
      - {name: udp, port: 5353, protocol: UDP}

    """

    @Test func aGatewayDecodesItsListeners() throws {
        guard case .gateway(let gateway) = try decode(Self.gateway)[0] else { Issue.record("not a Gateway"); return }
        #expect(gateway.listeners.map(\.protocol) == [.https, .tls, .udp])
        #expect(gateway.listeners[0].tls?.certificateRefs == [GatewayObjectReference(kind: "Secret", name: "cert", namespace: "httpbin")])
        #expect(gateway.listeners[0].allowedNamespaces == .selector(["team": "web"]))
        #expect(gateway.listeners[0].allowedKinds == [GatewayRouteGroupKind(kind: "HTTPRoute")])
        #expect(gateway.listeners[1].tls?.mode == .passthrough)
        #expect(gateway.listeners[2].allowedNamespaces == .same)
    }

    @Test func anHTTPSListenerNeedsACertificate() {
        let error = decodeError(Self.gateway.replacingOccurrences("tls: {mode: Terminate, certificateRefs: [{name: cert}]}", with: "tls: {mode: Terminate}"))
        #expect(error == ManifestError(file: "gw.yaml", line: 7, column: 5, path: "spec.listeners[0].tls.certificateRefs", message: "an HTTPS listener needs at least one certificateRef"))
    }

    @Test func anUnknownListenerProtocolListsTheFive() {
        let error = decodeError(Self.gateway.replacingOccurrences("protocol: UDP", with: "protocol: QUIC"))
        #expect(error == ManifestError(file: "gw.yaml", line: 14, column: 39, path: "spec.listeners[2].protocol", message: "expected one of HTTP, HTTPS, TLS, TCP, UDP, found \"QUIC\""))
    }

    @Test func aHostnameWithAPortIsRefused() {
        let error = decodeError(Self.gateway.replacingOccurrences("hostname: \"*.example.com\"", with: "hostname: example.com:8443"))
        #expect(error == ManifestError(file: "gw.yaml", line: 10, column: 15, path: "spec.listeners[0].hostname",
                                       message: "invalid hostname \"example.com:8443\": expected a lowercase DNS name such as foo.example.com or *.example.com (no IP address, no port)"))
    }

    @Test func aPolicyTargetsOnlyItsKinds() {
        let error = decodeError("""
        apiVersion: gateway.flomesh.io/v1alpha1
        kind: FaultInjectionPolicy
        metadata: {name: f}
        spec:
          targetRef: {group: "", kind: Service, name: httpbin}
          config: {abort: {percent: 100, statusCode: 404}}
        """)
        #expect(error == ManifestError(file: "gw.yaml", line: 5, column: 32, path: "spec.targetRef.kind", message: "expected one of HTTPRoute, GRPCRoute, found \"Service\""))
    }

    @Test func aPolicyLevelItsKindHasNotIsRefused() {
        let error = decodeError("""
        apiVersion: gateway.flomesh.io/v1alpha1
        kind: RetryPolicy
        metadata: {name: r}
        spec:
          targetRef: {kind: Service, name: fortio}
          hostnames: [{hostname: foo.example.com}]
        """)
        #expect(error == ManifestError(file: "gw.yaml", line: 6, column: 3, path: "spec.hostnames", message: "unknown field \"hostnames\"; expected one of: targetRef, ports, config"))
    }

    @Test func anAccessListTakesAddressesAndRanges() {
        let error = decodeError("""
        apiVersion: gateway.flomesh.io/v1alpha1
        kind: AccessControlPolicy
        metadata: {name: a}
        spec:
          targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: r}
          config: {whitelist: [112.94.5.242, 10.0.0.0/8, 300.1.1.1]}
        """)
        #expect(error == ManifestError(file: "gw.yaml", line: 6, column: 50, path: "spec.config.whitelist[2]",
                                       message: "expected an IP address or a CIDR range such as 10.0.0.0/8, found \"300.1.1.1\""))
    }

    @Test func aRouteTargetIsInTheGatewayAPIGroup() {
        let error = decodeError("""
        apiVersion: gateway.flomesh.io/v1alpha1
        kind: RateLimitPolicy
        metadata: {name: a}
        spec:
          targetRef: {kind: HTTPRoute, name: r}
          config: {requests: 10, statTimeWindow: 60}
        """)
        #expect(error == ManifestError(file: "gw.yaml", line: 5, column: 14, path: "spec.targetRef.group",
                                       message: "a HTTPRoute target is in group \"gateway.networking.k8s.io\", found \"\""))
    }

    @Test func aTLSSecretNeedsItsKey() {
        let error = decodeError("""
        apiVersion: v1
        kind: Secret
        metadata: {name: cert}
        type: kubernetes.io/tls
        data: {tls.crt: Y2VydA==}
        """)
        #expect(error == ManifestError(file: "gw.yaml", line: 1, column: 1, message: "a kubernetes.io/tls Secret needs data[\"tls.key\"]"))
    }

    @Test func secretDataIsBase64() throws {
        guard case .secret(let secret) = try decode("apiVersion: v1\nkind: Secret\nmetadata: {name: ca}\ndata: {ca.crt: Y2VydA==}\nstringData: {note: hi}\n")[0] else {
            Issue.record("not a Secret"); return
        }
        #expect(secret.text("ca.crt") == "cert")
        #expect(secret.text("note") == "hi")
        #expect(secret.type == "Opaque")
        let error = decodeError("apiVersion: v1\nkind: Secret\nmetadata: {name: ca}\ndata: {ca.crt: \"not base64!\"}\n")
        #expect(error == ManifestError(file: "gw.yaml", line: 4, column: 16, path: "data[\"ca.crt\"]", message: "expected base64 data (A-Z, a-z, 0-9, +, / with = padding); the value is not repeated here"))
    }

    @Test func anHTTPSIngressBackendNeedsAPrincipal() {
        let error = decodeError("""
        kind: IngressBackend
        apiVersion: policy.flomesh.io/v1alpha1
        metadata: {name: basic}
        spec:
          backends: [{name: foo, port: {number: 80, protocol: https}}]
          sources: [{kind: Service, namespace: fsm-system, name: fsm-ingress}]
        """)
        #expect(error == ManifestError(file: "gw.yaml", line: 6, column: 12, path: "spec.sources",
                                       message: "an https backend needs an AuthenticatedPrincipal source (the client certificate's SAN)"))
    }

    @Test func ingressAnnotationsAreFSMs() {
        let error = decodeError("""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: i
          annotations: {pipy.ingress.kubernetes.io/lb-typ: hashing}
        spec:
          ingressClassName: pipy
          defaultBackend: {service: {name: httpbin, port: {number: 8000}}}
        """)
        #expect(error == ManifestError(file: "gw.yaml", line: 5, column: 17, path: "metadata.annotations[\"pipy.ingress.kubernetes.io/lb-typ\"]",
                                       message: "unknown field \"pipy.ingress.kubernetes.io/lb-typ\"; did you mean \"pipy.ingress.kubernetes.io/lb-type\"?"))
    }

    @Test func anIngressDecodesRulesAndAnnotations() throws {
        guard case .ingress(let ingress) = try decode("""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: httpbin
          annotations: {pipy.ingress.kubernetes.io/rewrite-target-from: ^/httpbin/?, pipy.ingress.kubernetes.io/rewrite-target-to: /}
        spec:
          ingressClassName: pipy
          rules:
          - host: example.com
            http:
              paths:
              - {path: /hi, pathType: Exact, backend: {service: {name: httpbin, port: {number: 8000}}}}
        """)[0] else { Issue.record("not an Ingress"); return }
        #expect(ingress.ingressClassName == Ingress.fsmClassName)
        #expect(ingress.rules == [IngressRule(host: "example.com", paths: [IngressPath(path: "/hi", pathType: .exact, backend: IngressServiceBackend(name: "httpbin", port: .int(8000)))])])
        #expect(ingress.metadata.annotations["pipy.ingress.kubernetes.io/rewrite-target-from"] == "^/httpbin/?")
    }
}

extension String {
    /// `self` with every `target` replaced (the tests have no Foundation).
    func replacingOccurrences(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
