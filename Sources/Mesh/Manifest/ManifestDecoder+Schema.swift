import MeshModel

/// The field schema of every kind the decoder accepts (`FieldSchema`): the Kubernetes API
/// reference (core/v1, apps/v1, as of Kubernetes 1.32) for the core kinds, the SMI specs for SMI,
/// and FSM's CRD types (every field of config.flomesh.io v1alpha1-v1alpha3 at the levels the mesh
/// reads) for MeshConfig and the policies.
extension ManifestDecoder {
    /// The root schema of each kind, by kind name.
    static let schemas: [String: FieldSchema] = [
        "Namespace": coreObject(spec: .fields(["finalizers"])),
        "Service": coreObject(spec: serviceSpec),
        "ServiceAccount": .fields(["apiVersion", "kind", "metadata", "secrets", "imagePullSecrets", "automountServiceAccountToken"],
                                  ["metadata": objectMeta]),
        "Endpoints": .fields(["apiVersion", "kind", "metadata", "subsets"], ["metadata": objectMeta, "subsets": .list(endpointSubset)]),
        "Pod": coreObject(spec: podSpec, status: podStatus),
        "Deployment": coreObject(spec: .fields(
            ["replicas", "selector", "template", "strategy", "minReadySeconds", "revisionHistoryLimit", "paused", "progressDeadlineSeconds"],
            ["selector": labelSelector, "template": podTemplate])),
        "StatefulSet": coreObject(spec: .fields(
            ["replicas", "selector", "template", "volumeClaimTemplates", "serviceName", "podManagementPolicy", "updateStrategy",
             "revisionHistoryLimit", "minReadySeconds", "persistentVolumeClaimRetentionPolicy", "ordinals"],
            ["selector": labelSelector, "template": podTemplate])),
        "TrafficTarget": policyObject(spec: trafficTargetSpec),
        "HTTPRouteGroup": policyObject(spec: httpRouteGroupSpec),
        "TCPRoute": policyObject(spec: .object(["matches": .object(["name": .string, "ports": .list(port)])])),
        "TrafficSplit": policyObject(spec: trafficSplitSpec),
        "MeshConfig": policyObject(spec: meshConfigSpec, specRequired: false),
        "UpstreamTrafficSetting": policyObject(spec: upstreamTrafficSettingSpec),
        "Retry": policyObject(spec: retrySpec),
        "AccessControl": policyObject(spec: accessControlSpec),
        "Egress": policyObject(spec: egressSpec),
        "AccessCert": policyObject(spec: accessCertSpec),
        "EgressGateway": policyObject(spec: egressGatewaySpec),
    ]

    /// apiVersion, kind, metadata, spec, status: the shape of most core kinds (`status` is not looked into unless given).
    static func coreObject(spec: FieldSchema, status: FieldSchema = .any) -> FieldSchema {
        .fields(["apiVersion", "kind", "metadata", "spec", "status"], ["metadata": objectMeta, "spec": spec, "status": status])
    }

    /// A custom resource: `status` is the controller's to write, and not looked into. Its CRD
    /// schema says only `metadata: {type: object}` (the API server owns the rest).
    static func policyObject(spec: FieldSchema, specRequired: Bool = true) -> FieldSchema {
        .object(["apiVersion": .string, "kind": .string, "metadata": objectMeta, "spec": spec, "status": .openObject],
                required: specRequired ? ["spec"] : [])
    }

    // MARK: - Kubernetes core

    static let objectMeta = FieldSchema.fields([
        "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
        "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers", "managedFields",
    ])

    static let labelSelector = FieldSchema.fields(["matchLabels", "matchExpressions"])

    static let serviceSpec = FieldSchema.fields([
        "ports", "selector", "clusterIP", "clusterIPs", "type", "externalIPs", "sessionAffinity", "loadBalancerIP",
        "loadBalancerSourceRanges", "externalName", "externalTrafficPolicy", "healthCheckNodePort", "publishNotReadyAddresses",
        "sessionAffinityConfig", "ipFamilies", "ipFamilyPolicy", "allocateLoadBalancerNodePorts", "loadBalancerClass",
        "internalTrafficPolicy", "trafficDistribution",
    ], ["ports": .list(.fields(["name", "protocol", "appProtocol", "port", "targetPort", "nodePort"]))])

    static let endpointSubset = FieldSchema.fields(["addresses", "notReadyAddresses", "ports"], [
        "addresses": .list(endpointAddress),
        "notReadyAddresses": .list(endpointAddress),
        "ports": .list(.fields(["name", "port", "protocol", "appProtocol"])),
    ])

    static let endpointAddress = FieldSchema.fields(["ip", "hostname", "nodeName", "targetRef"], [
        "targetRef": .fields(["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"]),
    ])

    static let podTemplate = FieldSchema.fields(["metadata", "spec"], ["metadata": objectMeta, "spec": podSpec])

    static let podSpec = FieldSchema.fields([
        "volumes", "initContainers", "containers", "ephemeralContainers", "restartPolicy", "terminationGracePeriodSeconds",
        "activeDeadlineSeconds", "dnsPolicy", "nodeSelector", "serviceAccountName", "serviceAccount", "automountServiceAccountToken",
        "nodeName", "hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace", "securityContext", "imagePullSecrets", "hostname",
        "subdomain", "affinity", "schedulerName", "tolerations", "hostAliases", "priorityClassName", "priority", "dnsConfig",
        "readinessGates", "runtimeClassName", "enableServiceLinks", "preemptionPolicy", "overhead", "topologySpreadConstraints",
        "setHostnameAsFQDN", "os", "hostUsers", "schedulingGates", "resourceClaims", "resources",
    ], ["containers": .list(container), "initContainers": .list(container)])

    static let container = FieldSchema.fields([
        "name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources", "resizePolicy", "restartPolicy",
        "volumeMounts", "volumeDevices", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath",
        "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin", "stdinOnce", "tty",
    ], [
        "ports": .list(.fields(["name", "hostPort", "containerPort", "protocol", "hostIP"])),
        "env": .list(.fields(["name", "value", "valueFrom"])),
    ])

    static let podStatus = FieldSchema.fields([
        "observedGeneration", "phase", "conditions", "message", "reason", "nominatedNodeName", "hostIP", "hostIPs", "podIP", "podIPs",
        "startTime", "initContainerStatuses", "containerStatuses", "qosClass", "ephemeralContainerStatuses", "resize", "resourceClaimStatuses",
    ])

    // MARK: - SMI (typed: these kinds' CRDs are rendered from here)

    static let port = FieldSchema.integer(portRange)
    static let uint32 = FieldSchema.integer(uint32Range)

    static func identityReference(kinds: [String]) -> FieldSchema {
        .object(["kind": .oneOf(kinds), "name": .string, "namespace": .string], required: ["kind", "name"])
    }

    static let trafficTargetSpec = FieldSchema.object([
        // `port` narrows the destination in SMI v1alpha3; FSM does not use it.
        "destination": .object(["kind": .oneOf(["ServiceAccount"]), "name": .string, "namespace": .string, "port": port],
                               required: ["kind", "name"]),
        "rules": .list(.object(["kind": .oneOf(["HTTPRouteGroup", "TCPRoute"]), "name": .string, "matches": .list(.string)],
                               required: ["kind", "name"])),
        "sources": .list(identityReference(kinds: ["ServiceAccount"]), minItems: 1),
    ], required: ["destination", "sources"])

    static let httpRouteGroupSpec = FieldSchema.object([
        // `headers` maps header names (or a list of single-pair maps) to regexes: free-form.
        "matches": .list(.object(["name": .string, "pathRegex": .string, "methods": .list(.oneOf(httpMethods)), "headers": .any],
                                 required: ["name"]), minItems: 1),
    ], required: ["matches"])

    static let trafficSplitSpec = FieldSchema.object([
        "service": .string,
        "backends": .list(.object(["service": .string, "weight": .integer(0...Int(Int32.max))], required: ["service", "weight"]), minItems: 1),
        "matches": .list(.object(["kind": .oneOf(["HTTPRouteGroup"]), "name": .string, "apiGroup": .string], required: ["kind", "name"])),
    ], required: ["service", "backends"])

    // MARK: - FSM (typed where the decoder reads a value; sections it does not model stay open)

    static let meshConfigSpec = FieldSchema.object([
        "clusterSet": .openObject,
        "sidecar": .object([
            "enablePrivilegedInitContainer": .boolean, "compressConfig": .boolean, "logLevel": .string, "sidecarClass": .string,
            "sidecarImage": .string, "sidecarDisabledMTLS": .boolean, "initContainerImage": .string, "sidecarDrivers": .any,
            "maxDataPlaneConnections": .integer(0...Int.max), "configResyncInterval": .duration, "sidecarTimeout": .any,
            "resources": .openObject, "initResources": .openObject, "healthcheckResources": .openObject,
            "tlsMinProtocolVersion": .string, "tlsMaxProtocolVersion": .string, "cipherSuites": .list(.string),
            "ecdhCurves": .list(.string), "localProxyMode": .string, "localDNSProxy": .openObject,
        ]),
        "repoServer": .openObject,
        // `useHTTPSIngress` is in the guides' MeshConfig table (OSM's field).
        "traffic": .object([
            "interceptionMode": .oneOf(TrafficInterceptionMode.allCases.map(\.rawValue)), "enableEgress": .boolean, "outboundIPRangeExclusionList": .list(.cidr),
            "outboundIPRangeInclusionList": .list(.cidr), "outboundPortExclusionList": .list(port), "inboundPortExclusionList": .list(port),
            "enablePermissiveTrafficPolicyMode": .boolean, "inboundExternalAuthorization": .openObject,
            "networkInterfaceExclusionList": .list(.string), "http1PerRequestLoadBalancing": .boolean,
            "http2PerRequestLoadBalancing": .boolean, "serviceAccessMode": .string, "serviceAccessNames": .any, "useHTTPSIngress": .boolean,
        ]),
        // `enableDebugServer` is in the guides' MeshConfig table.
        "observability": .object([
            "fsmLogLevel": .string, "enableDebugServer": .boolean,
            "tracing": .object(["enable": .boolean, "port": port, "address": .string, "endpoint": .string, "sampledFraction": .number(0...1)]),
            "remoteLogging": .object([
                "enable": .boolean, "level": .integer(0...65535), "port": port, "address": .string, "endpoint": .string,
                "authorization": .string, "sampledFraction": .number(0...1), "secretName": .string,
            ]),
        ]),
        "certificate": .object(["serviceCertValidityDuration": .duration, "certKeyBitSize": .integer(0...Int.max), "ingressGateway": .openObject]),
        "featureFlags": .object([
            "enableEgressPolicy": .boolean, "enableSnapshotCacheMode": .boolean, "enableAsyncProxyServiceMapping": .boolean,
            "enableIngressBackendPolicy": .boolean, "enableAccessControlPolicy": .boolean, "enableAccessCertPolicy": .boolean,
            "enableSidecarPrettyConfig": .boolean, "enableSidecarActiveHealthChecks": .boolean, "enableRetryPolicy": .boolean,
            "enablePluginPolicy": .boolean, "enableAutoDefaultRoute": .boolean, "enableValidateGatewayListenerHostname": .boolean,
            "enableValidateHTTPRouteHostnames": .boolean, "enableValidateGRPCRouteHostnames": .boolean,
            "enableValidateTLSRouteHostnames": .boolean, "useEndpointSlicesForGateway": .boolean, "dropRouteRuleIfNoAvailableBackends": .boolean,
        ]),
        "pluginChains": .openObject, "ingress": .openObject, "gatewayAPI": .openObject, "serviceLB": .openObject, "flb": .openObject,
        "egressGateway": .openObject, "image": .openObject, "misc": .openObject, "connector": .openObject,
    ])

    static let rateLimitUnit = FieldSchema.oneOf(RateLimitUnit.allCases.map(\.rawValue))

    static let httpLocalRateLimit = FieldSchema.object([
        "requests": uint32, "unit": rateLimitUnit, "burst": uint32, "responseStatusCode": .integer(400...599),
        "responseHeadersToAdd": .list(.object(["name": .string, "value": .string], required: ["name", "value"])),
    ], required: ["requests", "unit"])

    static let circuitBreaking = FieldSchema.object([
        "statTimeWindow": .duration, "minRequestAmount": uint32, "degradedTimeWindow": .duration, "slowTimeThreshold": .duration,
        "slowAmountThreshold": uint32, "slowRatioThreshold": .number(0...1), "errorAmountThreshold": uint32,
        "errorRatioThreshold": .number(0...1), "degradedStatusCode": .integer(100...599), "degradedResponseContent": .string,
    ])

    static let upstreamTrafficSettingSpec = FieldSchema.object([
        "host": .string,
        "connectionSettings": .object([
            "tcp": .object(["maxConnections": uint32, "connectTimeout": .duration]),
            "http": .object(["maxRequests": uint32, "maxRequestsPerConnection": uint32, "maxPendingRequests": uint32, "maxRetries": uint32,
                             "circuitBreaking": circuitBreaking]),
        ]),
        "rateLimit": .object(["local": .object([
            "tcp": .object(["connections": uint32, "unit": rateLimitUnit, "burst": uint32], required: ["connections", "unit"]),
            "http": httpLocalRateLimit,
        ])]),
        "httpRoutes": .list(.object(["path": .string, "rateLimit": .object(["local": httpLocalRateLimit], required: ["local"])],
                                    required: ["path", "rateLimit"])),
    ], required: ["host"])

    static let retrySpec = FieldSchema.object([
        "source": identityReference(kinds: ["ServiceAccount"]),
        "destinations": .list(identityReference(kinds: ["Service"]), minItems: 1),
        "retryPolicy": .object(["retryOn": .string, "perTryTimeout": .duration, "numRetries": .integer(0...Int(UInt32.max)),
                                "retryBackoffBaseInterval": .duration]),
    ], required: ["source", "destinations"])
}
