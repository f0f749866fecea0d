/// A resource decoded from a manifest, with where its document starts.
public struct DecodedResource: Hashable, Sendable {
    public var resource: Resource
    public var location: SourceLocation

    public init(resource: Resource, location: SourceLocation) {
        self.resource = resource
        self.location = location
    }
}

/// Decodes Kubernetes, SMI and FSM resources from multi-document YAML.
///
/// Every problem (syntax, missing field, wrong type, bad enum value, out-of-range number, bad
/// duration, unknown kind or apiVersion, unknown field) is a `ManifestError` naming file, line,
/// column and field path. Unknown kinds are errors, never dropped. Fields that are not part of a
/// kind are errors, as with `kubectl apply --validate=strict` (`FieldSchema`); fields Kubernetes
/// allows but the mesh does not model (probes, volumes, ...) are accepted and ignored.
///
/// The kinds table and the CIDR check are here; the decoding itself (YAML through Yams) is in
/// MeshManifest, so that a module that only needs the resource types (the sidecar's closure) links
/// no YAML parser and no Foundation (DECISIONS 253).
public enum ManifestDecoder {
    /// Every kind the decoder accepts with its accepted apiVersions, in the order error messages list them.
    public static let supportedKinds: [(kind: String, apiVersions: [String])] = [
        ("Namespace", ["v1"]),
        ("Service", ["v1"]),
        ("ServiceAccount", ["v1"]),
        ("Endpoints", ["v1"]),
        ("Pod", ["v1"]),
        ("Deployment", ["apps/v1"]),
        ("StatefulSet", ["apps/v1"]),
        ("TrafficTarget", ["access.smi-spec.io/v1alpha3"]),
        ("HTTPRouteGroup", ["specs.smi-spec.io/v1alpha4"]),
        ("TCPRoute", ["specs.smi-spec.io/v1alpha4"]),
        ("TrafficSplit", ["split.smi-spec.io/v1alpha2", "split.smi-spec.io/v1alpha4"]),
        ("MeshConfig", ["config.flomesh.io/v1alpha1", "config.flomesh.io/v1alpha2", "config.flomesh.io/v1alpha3"]),
        ("UpstreamTrafficSetting", ["policy.flomesh.io/v1alpha1"]),
        ("Retry", ["policy.flomesh.io/v1alpha1"]),
        ("Secret", ["v1"]),
        ("Ingress", ["networking.k8s.io/v1"]),
        ("IngressBackend", ["policy.flomesh.io/v1alpha1"]),
        ("GatewayClass", ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"]),
        ("Gateway", ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"]),
        ("HTTPRoute", ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"]),
        ("GRPCRoute", ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1alpha2"]),
        ("TCPRoute", ["gateway.networking.k8s.io/v1alpha2"]),
        ("TLSRoute", ["gateway.networking.k8s.io/v1alpha2"]),
        ("UDPRoute", ["gateway.networking.k8s.io/v1alpha2"]),
        ("AccessControl", ["policy.flomesh.io/v1alpha1"]),
        ("Egress", ["policy.flomesh.io/v1alpha1"]),
        ("AccessCert", ["policy.flomesh.io/v1alpha1"]),
        ("EgressGateway", ["policy.flomesh.io/v1alpha1"]),
    ] + GatewayPolicyKind.allCases.map { ($0.rawValue, [GatewayPolicyKind.apiVersion]) }

    /// Each supported kind's name once, in the order error messages list them.
    public static let uniqueKindNames: [String] = supportedKinds.map(\.kind).reduce(into: []) { names, kind in
        if !names.contains(kind) { names.append(kind) }
    }

    /// The namespace a MeshConfig lands in when it names none: FSM's control-plane namespace.
    public static let meshConfigNamespace = "fsm-system"

    /// An IPv4 or IPv6 range in CIDR notation (`10.0.0.0/8`, `fd00::/8`).
    public static func isCIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let bits = Int(parts[1]) else { return false }
        let address = parts[0]
        if address.contains(":") {
            let hexDigits = address.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
            return hexDigits && address.count >= 2 && (0...128).contains(bits)
        }
        let octets = address.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, (0...32).contains(bits) else { return false }
        return octets.allSatisfy { octet in
            !octet.isEmpty && octet.count <= 3 && octet.allSatisfy(\.isASCII) && Int(octet).map { (0...255).contains($0) } == true
        }
    }
}
