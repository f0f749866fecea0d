import MeshControl
import MeshModel
import MeshTesting
import Testing

/// The guide's permissive-mode example (fsm-guides.txt 3.1; inventory F1-054/055): curl and httpbin in namespace `app`.
@Suite struct PermissiveTests {
    static let guideOutbound = """
    { "Outbound": { "TrafficMatches": { "14001": [ { "DestinationIPRanges": [ "10.43.103.59/32" ], "Port": 14001, "Protocol": "http", "HttpHostPort2Service": { "httpbin": "httpbin.app.svc.cluster.local", "httpbin.app": "httpbin.app.svc.cluster.local", "httpbin.app.svc": "httpbin.app.svc.cluster.local", "httpbin.app.svc.cluster": "httpbin.app.svc.cluster.local", "httpbin.app.svc.cluster.local": "httpbin.app.svc.cluster.local", "httpbin.app.svc.cluster.local:14001": "httpbin.app.svc.cluster.local", "httpbin.app.svc.cluster:14001": "httpbin.app.svc.cluster.local", "httpbin.app.svc:14001": "httpbin.app.svc.cluster.local", "httpbin.app:14001": "httpbin.app.svc.cluster.local", "httpbin:14001": "httpbin.app.svc.cluster.local" }, "HttpServiceRouteRules": { "httpbin.app.svc.cluster.local": { ".*": { "Headers": null, "Methods": null, "TargetClusters": { "app/httpbin|14001": 100 }, "AllowedServices": null } } }, "TargetClusters": null, "AllowedEgressTraffic": false, "ServiceIdentity": "default.app.cluster.local" } ] } } }
    """

    static let guideInbound = """
    { "Inbound": { "TrafficMatches": { "14001": { "SourceIPRanges": null, "Port": 14001, "Protocol": "http", "HttpHostPort2Service": { "httpbin": "httpbin.app.svc.cluster.local", "httpbin.app": "httpbin.app.svc.cluster.local", "httpbin.app.svc": "httpbin.app.svc.cluster.local", "httpbin.app.svc.cluster": "httpbin.app.svc.cluster.local", "httpbin.app.svc.cluster.local": "httpbin.app.svc.cluster.local", "httpbin.app.svc.cluster.local:14001": "httpbin.app.svc.cluster.local", "httpbin.app.svc.cluster:14001": "httpbin.app.svc.cluster.local", "httpbin.app.svc:14001": "httpbin.app.svc.cluster.local", "httpbin.app:14001": "httpbin.app.svc.cluster.local", "httpbin:14001": "httpbin.app.svc.cluster.local" }, "HttpServiceRouteRules": { "httpbin.app.svc.cluster.local": { ".*": { "Headers": null, "Methods": null, "TargetClusters": { "app/httpbin|14001|local": 100 }, "AllowedServices": null } } }, "TargetClusters": null, "AllowedEndpoints": null } } } }
    """

    static func httpbinCluster() -> MeshController {
        var controller = MeshController(meshConfig: ClusterFixtures.permissive())
        _ = controller.apply([
            ClusterFixtures.namespace("app"),
            ClusterFixtures.service("httpbin", "app", selector: ["app": "httpbin"], clusterIP: "10.43.103.59"),
            ClusterFixtures.pod("httpbin-1", "app", serviceAccount: "httpbin", labels: ["app": "httpbin"], ip: "10.244.0.5"),
            ClusterFixtures.pod("curl-1", "app", serviceAccount: "default", labels: ["app": "curl"], ip: "10.244.0.6"),
        ])
        return controller
    }

    @Test func curlOutboundMatchesTheGuide() throws {
        let controller = Self.httpbinCluster()
        let curl = try #require(controller.config(for: PodKey("app", "curl-1")))
        let trafficMatches = try #require(curl.outbound.jsonValue["TrafficMatches"])
        let rendered = JSONValue.object([("Outbound", .object([("TrafficMatches", trafficMatches)]))]).rendered()
        #expect(rendered == Self.guideOutbound.filter { $0 != " " })
        #expect(curl.serviceIdentity == "default.app.cluster.local")
        let cluster = try #require(curl.cluster("app/httpbin|14001"))
        #expect(cluster.endpoints == [ClusterEndpoint(address: "10.244.0.5:14001", weight: 100)])
    }

    @Test func httpbinInboundMatchesTheGuide() throws {
        let controller = Self.httpbinCluster()
        let httpbin = try #require(controller.config(for: PodKey("app", "httpbin-1")))
        let trafficMatches = try #require(httpbin.inbound.jsonValue["TrafficMatches"])
        let rendered = JSONValue.object([("Inbound", .object([("TrafficMatches", trafficMatches)]))]).rendered()
        #expect(rendered == Self.guideInbound.filter { $0 != " " })
        #expect(httpbin.inbound.clustersConfigs == [ClusterConfig(name: "app/httpbin|14001|local", endpoints: [ClusterEndpoint(address: "127.0.0.1:14001")])])
        #expect(httpbin.serviceIdentity == "httpbin.app.cluster.local")
    }

    @Test func fullRenderedConfigHasThePipyTopLevelShape() throws {
        let controller = Self.httpbinCluster()
        let curl = try #require(controller.config(for: PodKey("app", "curl-1")))
        guard case .object(let pairs) = curl.jsonValue else { Issue.record("not an object"); return }
        #expect(pairs.map(\.0) == ["Version", "Spec", "Inbound", "Outbound"])
        #expect(curl.jsonValue["Version"] == .string(curl.version))
        #expect(curl.jsonValue["Spec"]?["Traffic"]?["EnablePermissiveTrafficPolicyMode"] == .bool(true))
        #expect(curl.version.count == 16)
        #expect(curl.renderedJSON(pretty: true).contains("\n  \"Spec\": {"))
    }

    @Test func egressFlagReachesEveryMatch() throws {
        var controller = Self.httpbinCluster()
        let update = controller.apply([.upsert(.meshConfig(ClusterFixtures.permissive(egress: true)))])
        #expect(update.changed == [PodKey("app", "curl-1"), PodKey("app", "httpbin-1")])
        let curl = try #require(controller.config(for: PodKey("app", "curl-1")))
        #expect(curl.outbound.trafficMatches.allSatisfy { $0.allowedEgressTraffic })
        #expect(curl.spec.enableEgress)
    }

    @Test func turningPermissiveOffRemovesAccess() throws {
        var controller = Self.httpbinCluster()
        _ = controller.apply([.upsert(.meshConfig(ClusterFixtures.permissive(false)))])
        let curl = try #require(controller.config(for: PodKey("app", "curl-1")))
        #expect(curl.outbound.trafficMatches.isEmpty)
        let httpbin = try #require(controller.config(for: PodKey("app", "httpbin-1")))
        let rules = try #require(httpbin.inbound.trafficMatches.first?.httpServiceRouteRules.first)
        #expect(rules.rules.isEmpty)
    }

    @Test func headlessServiceUsesPodIPs() throws {
        var controller = MeshController(meshConfig: ClusterFixtures.permissive())
        _ = controller.apply([
            ClusterFixtures.namespace("db"),
            ClusterFixtures.service("mysql", "db", port: 3306, appProtocol: .tcp, selector: ["app": "mysql"], clusterIP: "None"),
            ClusterFixtures.pod("mysql-0", "db", serviceAccount: "mysql", labels: ["app": "mysql"], ip: "10.244.1.2"),
            ClusterFixtures.pod("mysql-1", "db", serviceAccount: "mysql", labels: ["app": "mysql"], ip: "10.244.1.1"),
            ClusterFixtures.pod("mysql-2", "db", serviceAccount: "mysql", labels: ["app": "mysql"], ip: nil),
        ])
        let config = try #require(controller.config(for: PodKey("db", "mysql-0")))
        let match = try #require(config.outbound.trafficMatches.first)
        #expect(match.destinationIPRanges == ["10.244.1.1/32", "10.244.1.2/32"])
        #expect(match.targetClusters == [WeightedCluster(name: "db/mysql|3306", weight: 100)])
        #expect(match.httpServiceRouteRules.isEmpty)
        #expect(config.cluster("db/mysql|3306")?.endpoints.map(\.address) == ["10.244.1.1:3306", "10.244.1.2:3306"])
        let inbound = try #require(config.inbound.trafficMatches.first)
        #expect(inbound.targetClusters == [WeightedCluster(name: "db/mysql|3306|local", weight: 100)])
        #expect(inbound.allowedEndpoints == nil)
    }

    @Test func namedTargetPortAndSelectorlessService() throws {
        var controller = MeshController(meshConfig: ClusterFixtures.permissive())
        _ = controller.apply([
            ClusterFixtures.namespace("app"),
            ClusterFixtures.service("web", "app", port: 80, targetPort: .string("http"), selector: ["app": "web"], clusterIP: "10.96.0.1"),
            ClusterFixtures.pod("web-1", "app", serviceAccount: "web", labels: ["app": "web"], ip: "10.244.0.9", containerPorts: [ContainerPort(name: "http", containerPort: 8080)]),
            .upsert(.service(Service(metadata: ObjectMeta(name: "external", namespace: "app"), ports: [ServicePort(name: "api", port: 9000)], clusterIP: "10.96.0.2"))),
            .upsert(.endpoints(Endpoints(metadata: ObjectMeta(name: "external", namespace: "app"),
                                         subsets: [EndpointSubset(addresses: [EndpointAddress(ip: "192.168.1.7")], ports: [EndpointPort(name: "api", port: 9443)])]))),
        ])
        let config = try #require(controller.config(for: PodKey("app", "web-1")))
        #expect(config.cluster("app/web|80")?.endpoints.map(\.address) == ["10.244.0.9:8080"])
        #expect(config.cluster("app/external|9000")?.endpoints.map(\.address) == ["192.168.1.7:9443"])
        #expect(config.inbound.trafficMatches.map(\.port) == [8080])
        #expect(config.inbound.clustersConfigs.map(\.name) == ["app/web|8080|local"])
    }
}
