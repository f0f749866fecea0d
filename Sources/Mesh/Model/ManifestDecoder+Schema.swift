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
        "TrafficTarget": policyObject(spec: .fields(["destination", "rules", "sources"], [
            "destination": .fields(["kind", "name", "namespace", "port"]),
            "rules": .list(.fields(["kind", "name", "matches"])),
            "sources": .list(.fields(["kind", "name", "namespace"])),
        ])),
        // `headers` maps header names (or a list of single-pair maps) to regexes: free-form.
        "HTTPRouteGroup": policyObject(spec: .fields(["matches"], ["matches": .list(.fields(["name", "pathRegex", "methods", "headers"]))])),
        "TCPRoute": policyObject(spec: .fields(["matches"], ["matches": .fields(["name", "ports"])])),
        "TrafficSplit": policyObject(spec: .fields(["service", "backends", "matches"], [
            "backends": .list(.fields(["service", "weight"])),
            "matches": .list(.fields(["kind", "name", "apiGroup"])),
        ])),
        "MeshConfig": policyObject(spec: meshConfigSpec),
        "UpstreamTrafficSetting": policyObject(spec: upstreamTrafficSettingSpec),
        "Retry": policyObject(spec: .fields(["source", "destinations", "retryPolicy"], [
            "source": .fields(["kind", "name", "namespace"]),
            "destinations": .list(.fields(["kind", "name", "namespace"])),
            "retryPolicy": .fields(["retryOn", "perTryTimeout", "numRetries", "retryBackoffBaseInterval"]),
        ])),
    ]

    /// apiVersion, kind, metadata, spec, status: the shape of most core kinds (`status` is not looked into unless given).
    private static func coreObject(spec: FieldSchema, status: FieldSchema = .any) -> FieldSchema {
        .fields(["apiVersion", "kind", "metadata", "spec", "status"], ["metadata": objectMeta, "spec": spec, "status": status])
    }

    /// A custom resource: `status` is the controller's to write, and not looked into.
    private static func policyObject(spec: FieldSchema) -> FieldSchema {
        .fields(["apiVersion", "kind", "metadata", "spec", "status"], ["metadata": objectMeta, "spec": spec])
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

    // MARK: - FSM

    static let meshConfigSpec = FieldSchema.fields([
        "clusterSet", "sidecar", "repoServer", "traffic", "observability", "certificate", "featureFlags", "pluginChains",
        "ingress", "gatewayAPI", "serviceLB", "flb", "egressGateway", "image", "misc", "connector",
    ], [
        "sidecar": .fields([
            "enablePrivilegedInitContainer", "compressConfig", "logLevel", "sidecarClass", "sidecarImage", "sidecarDisabledMTLS",
            "initContainerImage", "sidecarDrivers", "maxDataPlaneConnections", "configResyncInterval", "sidecarTimeout", "resources",
            "initResources", "healthcheckResources", "tlsMinProtocolVersion", "tlsMaxProtocolVersion", "cipherSuites", "ecdhCurves",
            "localProxyMode", "localDNSProxy",
        ]),
        // `useHTTPSIngress` is in the guides' MeshConfig table (OSM's field).
        "traffic": .fields([
            "interceptionMode", "enableEgress", "outboundIPRangeExclusionList", "outboundIPRangeInclusionList", "outboundPortExclusionList",
            "inboundPortExclusionList", "enablePermissiveTrafficPolicyMode", "inboundExternalAuthorization", "networkInterfaceExclusionList",
            "http1PerRequestLoadBalancing", "http2PerRequestLoadBalancing", "serviceAccessMode", "serviceAccessNames", "useHTTPSIngress",
        ]),
        // `enableDebugServer` is in the guides' MeshConfig table.
        "observability": .fields(["fsmLogLevel", "enableDebugServer", "tracing", "remoteLogging"], [
            "tracing": .fields(["enable", "port", "address", "endpoint", "sampledFraction"]),
        ]),
        "certificate": .fields(["serviceCertValidityDuration", "certKeyBitSize", "ingressGateway"]),
        "featureFlags": .fields([
            "enableEgressPolicy", "enableSnapshotCacheMode", "enableAsyncProxyServiceMapping", "enableIngressBackendPolicy",
            "enableAccessControlPolicy", "enableAccessCertPolicy", "enableSidecarPrettyConfig", "enableSidecarActiveHealthChecks",
            "enableRetryPolicy", "enablePluginPolicy", "enableAutoDefaultRoute", "enableValidateGatewayListenerHostname",
            "enableValidateHTTPRouteHostnames", "enableValidateGRPCRouteHostnames", "enableValidateTLSRouteHostnames",
            "useEndpointSlicesForGateway", "dropRouteRuleIfNoAvailableBackends",
        ]),
    ])

    static let httpLocalRateLimit = FieldSchema.fields(["requests", "unit", "burst", "responseStatusCode", "responseHeadersToAdd"], [
        "responseHeadersToAdd": .list(.fields(["name", "value"])),
    ])

    static let upstreamTrafficSettingSpec = FieldSchema.fields(["host", "connectionSettings", "rateLimit", "httpRoutes"], [
        "connectionSettings": .fields(["tcp", "http"], [
            "tcp": .fields(["maxConnections", "connectTimeout"]),
            "http": .fields(["maxRequests", "maxRequestsPerConnection", "maxPendingRequests", "maxRetries", "circuitBreaking"], [
                "circuitBreaking": .fields([
                    "statTimeWindow", "minRequestAmount", "degradedTimeWindow", "slowTimeThreshold", "slowAmountThreshold",
                    "slowRatioThreshold", "errorAmountThreshold", "errorRatioThreshold", "degradedStatusCode", "degradedResponseContent",
                ]),
            ]),
        ]),
        "rateLimit": .fields(["local"], ["local": .fields(["tcp", "http"], [
            "tcp": .fields(["connections", "unit", "burst"]),
            "http": httpLocalRateLimit,
        ])]),
        "httpRoutes": .list(.fields(["path", "rateLimit"], ["rateLimit": .fields(["local"], ["local": httpLocalRateLimit])])),
    ])
}
