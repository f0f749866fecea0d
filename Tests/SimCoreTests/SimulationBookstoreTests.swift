import MeshModel
import SimCore
import Testing

/// The bookstore demo's app models (demos.md §1.2) driven by their own client loops.
@Suite struct SimulationBookstoreTests {
    private func bookstoreScenario(permissiveMode: Bool) -> Scenario {
        func app(_ name: String, _ namespace: String, labels: [String: String], image: String, env: [EnvVar] = [], serviceAccount: String) -> Resource {
            .workload(Workload(metadata: ObjectMeta(name: name, namespace: namespace), selector: labels,
                               template: PodTemplate(metadata: ObjectMeta(name: "", labels: labels),
                                                     spec: PodSpec(serviceAccountName: serviceAccount, containers: [Container(name: name, image: image, env: env)]))))
        }
        var config = MeshConfig()
        config.traffic.enablePermissiveTrafficPolicyMode = permissiveMode
        return Scenario(
            name: "bookstore", seed: 11, duration: .seconds(10),
            mesh: MeshSettings(meshConfig: config, namespaces: ["bookbuyer", "bookthief", "bookstore", "bookwarehouse"]),
            manifests: [
                app("bookbuyer", "bookbuyer", labels: ["app": "bookbuyer"], image: "flomesh/bookbuyer:latest",
                    env: [EnvVar(name: "BOOKSTORE_NAMESPACE", value: "bookstore"), EnvVar(name: "BOOKSTORE_SVC", value: "bookstore")], serviceAccount: "bookbuyer"),
                app("bookthief", "bookthief", labels: ["app": "bookthief"], image: "flomesh/bookthief:latest",
                    env: [EnvVar(name: "BOOKSTORE_NAMESPACE", value: "bookstore"), EnvVar(name: "BOOKSTORE_SVC", value: "bookstore")], serviceAccount: "bookthief"),
                service("bookstore", "bookstore", port: 14001, selector: ["app": "bookstore"]),
                app("bookstore", "bookstore", labels: ["app": "bookstore", "version": "v1"], image: "flomesh/bookstore:latest",
                    env: [EnvVar(name: "IDENTITY", value: "bookstore-v1"), EnvVar(name: "BOOKWAREHOUSE_NAMESPACE", value: "bookwarehouse")], serviceAccount: "bookstore"),
                service("bookwarehouse", "bookwarehouse", port: 14001, selector: ["app": "bookwarehouse"]),
                app("bookwarehouse", "bookwarehouse", labels: ["app": "bookwarehouse"], image: "flomesh/bookwarehouse:latest", serviceAccount: "bookwarehouse"),
            ])
    }

    private func counter(_ result: SimulationResult, _ app: String, _ name: String) -> Int? {
        result.apps.first(where: { $0.deployment == app })?.counters.first(where: { $0.name == name })?.value
    }

    @Test func permissiveModeBuysAboutOneBookPerSecondEach() throws {
        let result = runScenario(bookstoreScenario(permissiveMode: true))
        #expect(result.virtualTime == .seconds(10))
        let bought = try #require(counter(result, "bookbuyer", "booksBought"))
        let stolen = try #require(counter(result, "bookthief", "booksStolen"))
        #expect(bought >= 9 && bought <= 10)
        #expect(stolen >= 9 && stolen <= 10)
        #expect(counter(result, "bookbuyer", "booksBoughtV1") == bought)
        let sold = try #require(counter(result, "bookstore", "booksSold"))
        #expect(sold >= bought + stolen)
        // Every sale fires a restock through the bookstore's sidecar.
        let restocked = try #require(counter(result, "bookwarehouse", "restocked"))
        #expect(restocked >= bought + stolen - 2 && restocked <= sold)
    }

    @Test func smiModeWithoutTrafficTargetsBuysNothing() throws {
        let result = runScenario(bookstoreScenario(permissiveMode: false))
        #expect(counter(result, "bookbuyer", "booksBought") == 0)
        #expect(counter(result, "bookstore", "booksSold") == 0)
    }
}
