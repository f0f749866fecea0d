import MeshModel

extension HTTPRouteFilterConfig {
    /// A gateway route filter in the chain's shape; nil for FSM Ingress's regex rewrite, which
    /// the Gateway API has no filter for (`PathRegexRewriteFilter`).
    init?(_ filter: GatewayConfig.Filter) {
        switch filter {
        case .requestHeaderModifier(let modifier): self = .requestHeaderModifier(HTTPHeaderModifierConfig(modifier))
        case .responseHeaderModifier(let modifier): self = .responseHeaderModifier(HTTPHeaderModifierConfig(modifier))
        case .requestRedirect(let redirect):
            self = .requestRedirect(HTTPRequestRedirectConfig(scheme: redirect.scheme, hostname: redirect.hostname, path: redirect.path.map(HTTPPathModifierConfig.init),
                                                              port: redirect.port, statusCode: redirect.statusCode))
        case .urlRewrite(let rewrite):
            self = .urlRewrite(HTTPURLRewriteConfig(hostname: rewrite.hostname, path: rewrite.path.map(HTTPPathModifierConfig.init)))
        case .requestMirror(let backend):
            self = .requestMirror(HTTPRequestMirrorConfig(cluster: GatewayCompiler.clusterName(backend)))
        case .pathRegexRewrite:
            return nil
        }
    }
}

extension HTTPHeaderModifierConfig {
    init(_ modifier: GatewayHeaderModifier) {
        func values(_ headers: [GatewayHeader]) -> [HeaderValue]? {
            headers.isEmpty ? nil : headers.map { HeaderValue(name: $0.name, value: $0.value) }
        }
        self.init(set: values(modifier.set), add: values(modifier.add), remove: modifier.remove.isEmpty ? nil : modifier.remove)
    }
}

extension HTTPPathModifierConfig {
    init(_ modifier: GatewayPathModifier) {
        switch modifier {
        case .replaceFullPath(let path): self = .fullPath(path)
        case .replacePrefixMatch(let prefix): self = .prefixMatch(prefix)
        }
    }
}

extension HTTPFaultInjectionConfig {
    /// FaultInjectionPolicy's settings as the chain's fault filter takes them.
    init(_ fault: GatewayFaultInjection) {
        self.init(delay: fault.delay.map { delay in
                      HTTPFaultInjectionConfig.Delay(percent: delay.percent, fixed: delay.fixed,
                                                     range: delay.rangeMin.map { HTTPFaultInjectionConfig.DelayRange(min: $0, max: delay.rangeMax ?? $0) }, unit: delay.unit.rawValue)
                  },
                  abort: fault.abort.map { HTTPFaultInjectionConfig.Abort(percent: $0.percent, statusCode: $0.statusCode, message: $0.message) })
    }
}
