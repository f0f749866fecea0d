import Foundation
import MeshControl
import MeshControlPlane
import MeshKube
import MeshKubeTesting
import MeshModel
import NIOCore
import Testing

/// `fsm controller --kubernetes --gateway --ingress` against the API-server double (F2-003,
/// F2-010): each Gateway namespace gets `fsm-gateway-<namespace>` (a Deployment running
/// `fsm gateway`, a LoadBalancer Service with the listener ports, the gateway's credential as a
/// Secret that the controller accepts for that Gateway's config), the status conditions are
/// written back, a listener change updates the Service, deleting the Gateway removes them, and
/// another controller's Gateway is left alone. Addresses: 127.93.43.x.
@Suite(.timeLimit(.minutes(2)))
struct KubeGatewayTests {
    static func metadata(_ namespace: String?, _ name: String) -> JSONValue {
        .object([("name", .string(name))] + (namespace.map { [("namespace", .string($0))] } ?? []))
    }

    static func gatewayClass(_ name: String, controller: String) -> JSONValue {
        .object([("apiVersion", .string("gateway.networking.k8s.io/v1")), ("kind", .string("GatewayClass")), ("metadata", metadata(nil, name)),
                 ("spec", .object([("controllerName", .string(controller))]))])
    }

    static func gateway(_ namespace: String, _ name: String, className: String = "fsm-gateway-cls", listeners: [(String, Int, String)]) -> JSONValue {
        .object([
            ("apiVersion", .string("gateway.networking.k8s.io/v1")), ("kind", .string("Gateway")), ("metadata", metadata(namespace, name)),
            ("spec", .object([
                ("gatewayClassName", .string(className)),
                ("listeners", .array(listeners.map { .object([("name", .string($0.0)), ("port", .int($0.1)), ("protocol", .string($0.2))]) })),
            ])),
        ])
    }

    /// `/` to the fixture's `bookstore` Service; `/missing` to a Service that does not exist.
    static let route: JSONValue = .object([
        ("apiVersion", .string("gateway.networking.k8s.io/v1")), ("kind", .string("HTTPRoute")), ("metadata", metadata("bookstore", "books")),
        ("spec", .object([
            ("parentRefs", .array([.object([("name", .string("gw"))])])),
            ("rules", .array([
                .object([("matches", .array([.object([("path", .object([("type", .string("PathPrefix")), ("value", .string("/missing"))]))])])),
                         ("backendRefs", .array([.object([("name", .string("missing")), ("port", .int(80))])]))]),
                .object([("matches", .array([.object([("path", .object([("type", .string("PathPrefix")), ("value", .string("/"))]))])])),
                         ("backendRefs", .array([.object([("name", .string("bookstore")), ("port", .int(14001))])]))]),
            ])),
        ])),
    ])

    static func start(_ double: KubeAPIDouble, host: String) async throws -> KubeController {
        var settings = KubeController.Settings(controller: ControllerSettings(host: host, port: 0, pollInterval: .milliseconds(200)),
                                               identity: "replica-a", informers: fastInformers, requestTimeout: .seconds(5))
        settings.gateway = true
        settings.ingress = true
        settings.provisioning = GatewayProvisioningPlan.Settings(image: "localhost/fsm-swift:test", ingress: true)
        return try await KubeController.start(connection: KubeConnection(server: double.url), settings: settings, logger: quietLogger())
    }

    static func ports(_ service: JSONValue?) -> [String] {
        service?["spec"]?["ports"]?.arrayItems?.map { "\($0["port"]?.intValue ?? 0)/\($0["protocol"]?.stringValue ?? "")" } ?? []
    }

    static func condition(_ conditions: JSONValue?, _ type: String) -> JSONValue? {
        conditions?.arrayItems?.first { $0["type"] == .string(type) }
    }

    @Test func aGatewayIsProvisionedWithItsStatusAndACredentialTheControllerAccepts() async throws {
        let double = try await KubeAPIDouble.start(.init(host: KubeTestNet.host(43, 1)))
        try await double.load(list: bookstoreFixture())
        await double.put(.gatewayClasses, [Self.gatewayClass("fsm-gateway-cls", controller: "flomesh.io/gateway-controller"),
                                           Self.gatewayClass("other", controller: "example.com/other")])
        await double.put(.gateways, [Self.gateway("bookstore", "gw", listeners: [("http", 8000, "HTTP")]),
                                     Self.gateway("elsewhere", "foreign", className: "other", listeners: [("http", 80, "HTTP")])])
        // A route naming a listener the Gateway does not have: a condition, and the rest serves.
        let stray = Self.route.setting("metadata", to: Self.metadata("bookstore", "stray"))
            .setting("spec", to: (Self.route["spec"] ?? .null).setting("parentRefs", to: .array([.object([("name", .string("gw")), ("sectionName", .string("nope"))])])))
        await double.put(.httpRoutes, [Self.route, stray])
        let host = KubeTestNet.host(43, 2)
        let kube = try await Self.start(double, host: host)
        do {
            #expect(await eventually { await double.object(.services, namespace: "bookstore", name: "fsm-gateway-bookstore") != nil })
            let service = await double.object(.services, namespace: "bookstore", name: "fsm-gateway-bookstore")
            #expect(service?["spec"]?["type"] == .string("LoadBalancer"))
            #expect(Self.ports(service) == ["8000/TCP"])
            let deployment = try #require(await double.object(.deployments, namespace: "bookstore", name: "fsm-gateway-bookstore"))
            #expect(deployment["metadata"]?["ownerReferences"]?.arrayItems?.first?["name"] == .string("gw"))
            #expect(deployment["spec"]?["template"]?["spec"]?["containers"]?.arrayItems?.first?["image"] == .string("localhost/fsm-swift:test"))
            // The credential in the Secret reads this Gateway's config and nothing else.
            #expect(await eventually { await double.object(.secrets, namespace: "bookstore", name: "fsm-gateway-bookstore-credential") != nil })
            let secret = await double.object(.secrets, namespace: "bookstore", name: "fsm-gateway-bookstore-credential")
            let token = try #require(secret?["data"]?["credential"]?.stringValue.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) })
            let base = KubeControllerTests.base(kube.server, host: host)
            let config = try await KubeControllerTests.call("\(base)/v1/gateways/bookstore/gw", token: token.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(config.status == 200)
            #expect(config.body.contains("\"endpoints\":[\"127.1.0.12:14001\",\"127.1.0.13:14001\"]"))
            let other = try await KubeControllerTests.call("\(base)/v1/gateways/fsm-system/fsm-ingress", token: token.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(other.status == 403)
            // Status: the class accepted, the Gateway programmed, the route's missing backend named.
            #expect(await eventually { await Self.condition(double.object(.gatewayClasses, name: "fsm-gateway-cls")?["status"]?["conditions"], "Accepted")?["status"] == .string("True") })
            #expect(await eventually { await Self.condition(double.object(.gateways, namespace: "bookstore", name: "gw")?["status"]?["conditions"], "Programmed")?["status"] == .string("True") })
            #expect(await eventually {
                let parent = await double.object(.httpRoutes, namespace: "bookstore", name: "books")?["status"]?["parents"]?.arrayItems?.first
                return Self.condition(parent?["conditions"], "ResolvedRefs")?["reason"] == .string("BackendNotFound")
            })
            #expect(await eventually {
                let parent = await double.object(.httpRoutes, namespace: "bookstore", name: "stray")?["status"]?["parents"]?.arrayItems?.first
                return Self.condition(parent?["conditions"], "Accepted")?["reason"] == .string("NoMatchingParent")
                    && parent?["parentRef"]?["sectionName"] == .string("nope")
            })
            // Another controller's class and Gateway: no pods, no status.
            #expect(await double.object(.deployments, namespace: "elsewhere", name: "fsm-gateway-elsewhere") == nil)
            #expect(await double.object(.gateways, namespace: "elsewhere", name: "foreign")?["status"] == nil)
            #expect(await double.object(.gatewayClasses, name: "other")?["status"] == nil)
            // The ingress's pod in the control plane's namespace, on port 80.
            #expect(Self.ports(await double.object(.services, namespace: "fsm-system", name: "fsm-ingress")) == ["80/TCP"])
            #expect(await double.object(.secrets, namespace: "fsm-system", name: "fsm-ingress-credential") != nil)
        } catch {
            Issue.record(error)
        }
        await kube.shutdown()
        await double.shutdown()
    }

    @Test func aListenerChangeUpdatesTheServiceAndDeletingTheGatewayRemovesItsObjects() async throws {
        let double = try await KubeAPIDouble.start(.init(host: KubeTestNet.host(43, 3)))
        try await double.load(list: bookstoreFixture())
        await double.put(.gateways, [Self.gateway("bookstore", "gw", listeners: [("http", 8000, "HTTP")])])
        await double.put(.httpRoutes, [Self.route])
        let kube = try await Self.start(double, host: KubeTestNet.host(43, 4))
        #expect(await eventually { Self.ports(await double.object(.services, namespace: "bookstore", name: "fsm-gateway-bookstore")) == ["8000/TCP"] })
        #expect(await eventually { await double.object(.httpRoutes, namespace: "bookstore", name: "books")?["status"] != nil })
        await double.put(.gateways, [Self.gateway("bookstore", "gw", listeners: [("http", 8000, "HTTP"), ("dns", 5353, "UDP")])])
        #expect(await eventually { Self.ports(await double.object(.services, namespace: "bookstore", name: "fsm-gateway-bookstore")) == ["5353/UDP", "8000/TCP"] })
        #expect(await eventually {
            let listeners = await double.object(.gateways, namespace: "bookstore", name: "gw")?["status"]?["listeners"]?.arrayItems ?? []
            return Set(listeners.compactMap { $0["name"]?.stringValue }) == ["http", "dns"]
        })
        // Statuses are written when they change: the Gateway's twice, the route's (unchanged by a new listener) once.
        let statusWrites = await double.requests().filter { $0.method == "PATCH" && $0.path.hasSuffix("/status") }.map(\.path)
        #expect(statusWrites.filter { $0.hasSuffix("/gateways/gw/status") }.count == 2)
        #expect(statusWrites.filter { $0.hasSuffix("/httproutes/books/status") }.count == 1)
        _ = await double.remove(.gateways, namespace: "bookstore", name: "gw")
        #expect(await eventually { await double.object(.services, namespace: "bookstore", name: "fsm-gateway-bookstore") == nil })
        #expect(await double.object(.deployments, namespace: "bookstore", name: "fsm-gateway-bookstore") == nil)
        #expect(await eventually { await double.object(.secrets, namespace: "bookstore", name: "fsm-gateway-bookstore-credential") == nil })
        // The ingress stays.
        #expect(await double.object(.deployments, namespace: "fsm-system", name: "fsm-ingress") != nil)
        await kube.shutdown()
        await double.shutdown()
    }

    /// F2-010's quickstart: the Gateway, its route and the backend all in `httpbin`, a namespace
    /// not added to the mesh: the route resolves and the gateway's config has the pod's address.
    @Test func aBackendInANamespaceOutsideTheMeshIsServed() async throws {
        let double = try await KubeAPIDouble.start(.init(host: KubeTestNet.host(43, 7)))
        try await double.load(list: bookstoreFixture())
        await double.put(.gatewayClasses, [Self.gatewayClass("fsm-gateway-cls", controller: "flomesh.io/gateway-controller")])
        await double.put(.gateways, [Self.gateway("httpbin", "simple-fsm-gateway", listeners: [("http", 8000, "HTTP")])])
        await double.put(.services, [.object([
            ("apiVersion", .string("v1")), ("kind", .string("Service")), ("metadata", Self.metadata("httpbin", "httpbin")),
            ("spec", .object([("selector", .object([("app", .string("httpbin"))])),
                              ("ports", .array([.object([("name", .string("http")), ("port", .int(8080)), ("targetPort", .int(8080))])]))])),
        ])])
        await double.put(.pods, [apiPod("httpbin-0", namespace: "httpbin", ip: "10.244.7.7", labels: ["app": "httpbin"])])
        let route = Self.route.setting("metadata", to: Self.metadata("httpbin", "httpbin"))
            .setting("spec", to: .object([
                ("parentRefs", .array([.object([("name", .string("simple-fsm-gateway"))])])),
                ("rules", .array([.object([("backendRefs", .array([.object([("name", .string("httpbin")), ("port", .int(8080))])]))])])),
            ]))
        await double.put(.httpRoutes, [route])
        let host = KubeTestNet.host(43, 8)
        let kube = try await Self.start(double, host: host)
        do {
            #expect(await eventually { await double.object(.secrets, namespace: "httpbin", name: "fsm-gateway-httpbin-credential") != nil })
            let secret = await double.object(.secrets, namespace: "httpbin", name: "fsm-gateway-httpbin-credential")
            let token = try #require(secret?["data"]?["credential"]?.stringValue.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) })
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let url = "\(KubeControllerTests.base(kube.server, host: host))/v1/gateways/httpbin/simple-fsm-gateway"
            #expect(await eventually { (try? await KubeControllerTests.call(url, token: token))?.body.contains("\"endpoints\":[\"10.244.7.7:8080\"]") == true })
            #expect(await eventually {
                let parent = await double.object(.httpRoutes, namespace: "httpbin", name: "httpbin")?["status"]?["parents"]?.arrayItems?.first
                return Self.condition(parent?["conditions"], "ResolvedRefs")?["status"] == .string("True")
            })
        } catch {
            Issue.record(error)
        }
        await kube.shutdown()
        await double.shutdown()
    }

    @Test func aServiceOfThatNameTheControllerDidNotMakeIsLeftAlone() async throws {
        let double = try await KubeAPIDouble.start(.init(host: KubeTestNet.host(43, 5)))
        try await double.load(list: bookstoreFixture())
        let foreign: JSONValue = .object([
            ("apiVersion", .string("v1")), ("kind", .string("Service")), ("metadata", Self.metadata("bookstore", "fsm-gateway-bookstore")),
            ("spec", .object([("ports", .array([.object([("port", .int(1234)), ("protocol", .string("TCP"))])]))])),
        ])
        await double.put(.services, [foreign])
        await double.put(.gateways, [Self.gateway("bookstore", "gw", listeners: [("http", 8000, "HTTP")])])
        let kube = try await Self.start(double, host: KubeTestNet.host(43, 6))
        // The rest of the workload is made; the Service stays the user's.
        #expect(await eventually { await double.object(.deployments, namespace: "bookstore", name: "fsm-gateway-bookstore") != nil })
        #expect(await eventually { await double.object(.secrets, namespace: "bookstore", name: "fsm-gateway-bookstore-credential") != nil })
        #expect(Self.ports(await double.object(.services, namespace: "bookstore", name: "fsm-gateway-bookstore")) == ["1234/TCP"])
        await kube.shutdown()
        await double.shutdown()
    }

    static func secret(_ namespace: String, _ name: String) -> JSONValue {
        .object([("apiVersion", .string("v1")), ("kind", .string("Secret")), ("metadata", metadata(namespace, name)), ("type", .string("Opaque")),
                 ("data", .object([("ca.crt", .string("Y2E="))]))])
    }

    @Test func secretsPassOnlyFromNamespacesHoldingAGatewayObjectAndNeverTheControllersOwn() async throws {
        try await withDouble(suite: 44) { double, client in
            await double.put(.secrets, [Self.secret("web", "cert"), Self.secret("other", "cert"), Self.secret("fsm-system", "fsm-ca-bundle"),
                                        Self.secret("fsm-system", "listener-cert")])
            await double.put(.gateways, [Self.gateway("web", "gw", listeners: [("http", 80, "HTTP")]),
                                         Self.gateway("fsm-system", "gw", listeners: [("http", 80, "HTTP")])])
            let source = KubeClusterSource(gateway: true)
            source.start(client: client, settings: fastInformers, logger: quietLogger())
            var changes = PassedChanges()
            func gather() { changes.take(source.poll().changes) }
            let webCert = ResourceKey(kind: .secret, namespace: "web", name: "cert")
            #expect(await eventually { gather(); return source.isSynced && changes.seen.contains(webCert) && changes.seen.contains(ResourceKey(kind: .secret, namespace: "fsm-system", name: "listener-cert")) })
            #expect(changes.seen.contains(ResourceKey(kind: .gateway, namespace: "web", name: "gw")))
            #expect(!changes.seen.contains(ResourceKey(kind: .secret, namespace: "other", name: "cert")))
            #expect(!changes.seen.contains(ResourceKey(kind: .secret, namespace: "fsm-system", name: "fsm-ca-bundle")))
            // The namespace's last gateway object goes: its Secrets go with it.
            _ = await double.remove(.gateways, namespace: "web", name: "gw")
            #expect(await eventually { gather(); return changes.deleted.contains(webCert) })
            await source.stop()
        }
    }

    /// Services, Endpoints and Pods pass on from a namespace outside the mesh only while it holds a
    /// gateway object, and leave with its last one; a monitored namespace's stay.
    @Test func backendsPassFromANamespaceOutsideTheMeshOnlyWhileItHoldsAGatewayObject() async throws {
        try await withDouble(suite: 45) { double, client in
            try await double.load(list: bookstoreFixture())
            await double.put(.pods, [apiPod("web-0", namespace: "web", ip: "10.244.8.1"), apiPod("other-0", namespace: "other", ip: "10.244.8.2")])
            await double.put(.gateways, [Self.gateway("web", "gw", listeners: [("http", 80, "HTTP")]),
                                         Self.gateway("bookstore", "gw", listeners: [("http", 80, "HTTP")])])
            let source = KubeClusterSource(gateway: true)
            source.start(client: client, settings: fastInformers, logger: quietLogger())
            var changes = PassedChanges()
            func gather() { changes.take(source.poll().changes) }
            let web = ResourceKey(kind: .pod, namespace: "web", name: "web-0")
            #expect(await eventually { gather(); return source.isSynced && changes.seen.contains(web) })
            #expect(!changes.seen.contains(ResourceKey(kind: .pod, namespace: "other", name: "other-0")))
            _ = await double.remove(.gateways, namespace: "web", name: "gw")
            _ = await double.remove(.gateways, namespace: "bookstore", name: "gw")
            #expect(await eventually { gather(); return changes.deleted.contains(web) })
            #expect(!changes.deleted.contains(ResourceKey(kind: .pod, namespace: "bookstore", name: "bookstore-0")), "bookstore is in the mesh")
            await source.stop()
        }
    }
}

/// The keys a cluster source passed on (upserts) and took away (deletes), gathered over polls.
struct PassedChanges {
    var seen: Set<ResourceKey> = []
    var deleted: Set<ResourceKey> = []

    mutating func take(_ changes: [ResourceChange]) {
        for change in changes {
            switch change {
            case .upsert(let resource): seen.insert(resource.key)
            case .delete(let key): deleted.insert(key)
            }
        }
    }
}
