// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "swift-mesh",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "MeshModel", targets: ["MeshModel"]),
        .library(name: "MeshManifest", targets: ["MeshManifest"]),
        .library(name: "MeshControl", targets: ["MeshControl"]),
        .library(name: "MeshProxy", targets: ["MeshProxy"]),
        .library(name: "SimCore", targets: ["SimCore"]),
        .library(name: "MeshRedirect", targets: ["MeshRedirect"]),
        .library(name: "MeshInterceptor", targets: ["MeshInterceptor"]),
        .library(name: "MeshTesting", targets: ["MeshTesting"]),
        .library(name: "MeshRuntime", targets: ["MeshRuntime"]),
        .library(name: "MeshControlPlane", targets: ["MeshControlPlane"]),
        .library(name: "MeshIdentity", targets: ["MeshIdentity"]),
        .library(name: "MeshDemoApps", targets: ["MeshDemoApps"]),
        .library(name: "MeshUp", targets: ["MeshUp"]),
        .library(name: "MeshShell", targets: ["MeshShell"]),
        .library(name: "MeshInject", targets: ["MeshInject"]),
        .library(name: "MeshInjector", targets: ["MeshInjector"]),
        .library(name: "MeshKube", targets: ["MeshKube"]),
        .library(name: "MeshKubeTesting", targets: ["MeshKubeTesting"]),
        .library(name: "MeshOperate", targets: ["MeshOperate"]),
        .executable(name: "sim", targets: ["sim"]),
        .library(name: "MeshRealMode", targets: ["MeshRealMode"]),
        .executable(name: "sim-real", targets: ["sim-real"]),
        .executable(name: "fsm", targets: ["fsm"]),
        .executable(name: "fsm-sidecar", targets: ["fsm-sidecar"]),
        .executable(name: "redirect-probe", targets: ["redirect-probe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // Resource types, the per-proxy configuration shape and its JSON: no YAML parser and no
        // Foundation, because the sidecar links it (DECISIONS 253).
        .target(
            name: "MeshModel",
            path: "Sources/Mesh/Model",
            swiftSettings: swiftSettings
        ),
        // YAML decoding with positions (Yams, which brings the whole of Foundation and ICU) and the
        // manifest decoder with its field schemas: for the CLI, the controller and the simulator.
        .target(
            name: "MeshManifest",
            dependencies: ["MeshModel", .product(name: "Yams", package: "Yams")],
            path: "Sources/Mesh/Manifest",
            swiftSettings: swiftSettings
        ),
        // Pure controller: cluster snapshot -> one ProxyConfig per proxy.
        .target(
            name: "MeshControl",
            dependencies: ["MeshModel"],
            path: "Sources/Mesh/Control",
            swiftSettings: swiftSettings
        ),
        // Sans-I/O data-plane engine.
        .target(
            name: "MeshProxy",
            dependencies: ["MeshModel"],
            path: "Sources/Mesh/Proxy",
            swiftSettings: swiftSettings
        ),
        // Traffic capture: the iptables (nat) rules that send a pod's TCP through its sidecar, and
        // SO_ORIGINAL_DST for the runtime.
        .target(
            name: "MeshRedirect",
            dependencies: ["MeshModel"],
            path: "Sources/Mesh/Redirect",
            swiftSettings: swiftSettings
        ),
        // The eBPF capture programs (bpf/fsm_capture.bpf.c), compiled with clang's bpf target by the
        // BPFObjectPlugin on every build and embedded as `InterceptorObject`; without a bpf-capable
        // clang or libbpf's headers the build still succeeds and the object says why it is missing.
        .target(
            name: "MeshInterceptorBPF",
            path: "Sources/Mesh/InterceptorBPF",
            exclude: ["bpf"],
            swiftSettings: swiftSettings,
            plugins: ["BPFObjectPlugin"]
        ),
        .plugin(name: "BPFObjectPlugin", capability: .buildTool(), path: "Plugins/BPFObjectPlugin"),
        // libbpf (Debian's libbpf-dev), for MeshInterceptor only: never a module that also imports libpcap.
        .systemLibrary(
            name: "CLibBPF",
            path: "Sources/Mesh/CLibBPF",
            pkgConfig: "libbpf",
            providers: [.apt(["libbpf-dev"])]
        ),
        // `fsm interceptor`: loads the capture programs through libbpf, pins them, attaches them per pod
        // (cgroup v2, tc on the pod's interfaces) and fills the pod maps from RedirectSettings.
        .target(
            name: "MeshInterceptor",
            dependencies: [
                "CLibBPF", "MeshInterceptorBPF", "MeshRedirect", "MeshModel", "MeshShell",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Mesh/Interceptor",
            swiftSettings: swiftSettings
        ),
        // `fsm interceptor --pods`/`--pods-dir`: the pods files (YAML), apart from MeshInterceptor so
        // that the sidecar, which links MeshInterceptor for its attachment check, links no YAML.
        .target(
            name: "MeshInterceptorPods",
            dependencies: ["MeshInterceptor", "MeshManifest", "MeshModel", "MeshRedirect", "MeshShell"],
            path: "Sources/Mesh/InterceptorPods",
            swiftSettings: swiftSettings
        ),
        // Tiny listener/client the capture test runs inside its network namespace.
        .executableTarget(
            name: "redirect-probe",
            dependencies: ["MeshRedirect"],
            path: "Sources/Mesh/RedirectProbe",
            swiftSettings: swiftSettings
        ),
        // Deterministic simulator: virtual time, network, pods, apps, load, faults, reports.
        .target(
            name: "SimCore",
            dependencies: [
                "MeshModel", "MeshManifest", "MeshControl", "MeshProxy",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Sources/Sim/Engine",
            // SimEngine is a class confined to its run loop; its tables' run-time exclusivity checks
            // were ~16% of a simulated request. Release only: debug and test builds keep them (DECISIONS 226).
            swiftSettings: swiftSettings + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        // What every command shares for the user's files: reading with a size limit, checking and
        // writing output paths, errno in plain words (FileProblem). No NIO, so `sim` can use it.
        .target(
            name: "MeshShell",
            path: "Sources/Mesh/Shell",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "sim",
            dependencies: [
                "SimCore", "MeshShell",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/Sim/CLI",
            swiftSettings: swiftSettings
        ),
        // Real mode of the scenario runner: a scenario's pods as real sidecars (MeshRuntime) and real
        // app servers on loopback addresses, in wall-clock time, judged by the same ExpectationChecker.
        .target(
            name: "MeshRealMode",
            dependencies: [
                "SimCore", "MeshControl", "MeshProxy", "MeshModel", "MeshRuntime", "MeshIdentity", "MeshShell",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Sim/Real",
            swiftSettings: swiftSettings
        ),
        // `sim-real FILE...`: what `sim --real` execs (kept apart so that `sim` stays free of NIO and BoringSSL).
        .executableTarget(
            name: "sim-real",
            dependencies: [
                "MeshRealMode", "SimCore", "MeshModel", "MeshShell", "MeshRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Sim/RealCLI",
            swiftSettings: swiftSettings
        ),
        // Test doubles shared by the test suites (deterministic randomness, cluster fixtures, leased
        // loopback address blocks).
        .target(
            name: "MeshTesting",
            dependencies: ["MeshModel", "MeshControl", "MeshShell"],
            path: "Sources/Mesh/Testing",
            swiftSettings: swiftSettings
        ),
        // Benchmark logic without sockets: the open-loop pacer with coordinated-omission correction,
        // latency recording, /proc parsing, data-plane results with their CSV, Markdown and HTML.
        .target(
            name: "MeshBenchKit",
            dependencies: [.product(name: "Histogram", package: "hdrhistogram-swift")],
            path: "Sources/BenchKit",
            swiftSettings: swiftSettings
        ),
        // Control-plane and data-plane benchmarks (wall clock, sockets and NIO allowed here, never in
        // the libraries): load generator, fixed-body upstream, peer proxies as child processes.
        .executableTarget(
            name: "bench",
            dependencies: [
                "MeshModel", "MeshManifest", "MeshControl", "MeshBenchKit", "MeshInject", "MeshInjector", "MeshKube", "MeshKubeTesting", "MeshIdentity", "MeshTesting", "MeshShell",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Sources/Bench",
            swiftSettings: swiftSettings
        ),
        // Mesh certificate authority and peer-certificate verification. Time, keys and serial numbers
        // come from the caller, so it runs the same under the simulator and in tests.
        .target(
            name: "MeshIdentity",
            dependencies: [
                "MeshModel",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Sources/Mesh/Identity",
            swiftSettings: swiftSettings
        ),
        // SwiftNIO shell around the MeshProxy engine: listeners, upstream pools, admin port, config file,
        // metrics (swift-metrics into a per-sidecar swift-prometheus registry), certificates from the controller.
        .target(
            name: "MeshRuntime",
            dependencies: [
                "MeshModel", "MeshProxy", "MeshIdentity", "MeshRedirect", "MeshShell",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                // HTTP/2 and gRPC downstream (h2c prior knowledge, h2 over mTLS) and upstream.
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Sources/Mesh/Runtime",
            swiftSettings: swiftSettings
        ),
        // The controller process: the manifest-directory cluster source, the HTTP config server, and the
        // mesh CA that signs workload certificates (with its Prometheus metrics).
        .target(
            name: "MeshControlPlane",
            dependencies: [
                "MeshModel", "MeshManifest", "MeshControl", "MeshIdentity", "MeshShell",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Mesh/ControlPlane",
            swiftSettings: swiftSettings
        ),
        // Sidecar injection, pure: the injection decision, the pod's JSON patch (init container,
        // sidecar, probe rewrites, credential Secret), AdmissionReview v1, MeshConfig validation.
        .target(
            name: "MeshInject",
            dependencies: ["MeshModel", "MeshManifest", "MeshControl", "MeshRedirect", "MeshIdentity"],
            path: "Sources/Mesh/Inject",
            swiftSettings: swiftSettings
        ),
        // `fsm injector`: the mutating and validating webhooks over TLS (a certificate from the mesh
        // CA, renewed before expiry), and the writes they need behind `InjectorKubeWrites`.
        .target(
            name: "MeshInjector",
            dependencies: [
                "MeshInject", "MeshModel", "MeshControl", "MeshIdentity",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Mesh/Injector",
            swiftSettings: swiftSettings
        ),
        // The guides' demo apps (bookbuyer, bookthief, bookstore, bookwarehouse, httpbin) as real HTTP
        // servers and client loops that talk through their sidecar (`fsm demo-app`).
        .target(
            name: "MeshDemoApps",
            dependencies: [
                "MeshRuntime",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Mesh/DemoApps",
            swiftSettings: swiftSettings
        ),
        // `fsm up` / `fsm down`: a manifest directory run as detached processes (controller, sidecars,
        // demo apps) recorded in a state dir; with `--pods netns`, each pod as the injection webhook
        // patches it, in a network namespace of its own (`fsm container`).
        .target(
            name: "MeshUp",
            dependencies: [
                "MeshModel", "MeshManifest", "MeshControl", "MeshControlPlane", "MeshRuntime", "MeshIdentity", "MeshDemoApps", "MeshShell", "MeshInject",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Mesh/Up",
            swiftSettings: swiftSettings
        ),
        // The controller as a Kubernetes citizen: an API client on async-http-client (kubeconfig and
        // in-cluster auth, list/watch, server-side apply, patches, Secrets, Leases), informers for every
        // kind MeshModel decodes feeding a `ClusterSource`, and leader election.
        .target(
            name: "MeshKube",
            dependencies: [
                "MeshModel", "MeshManifest", "MeshControl", "MeshControlPlane", "MeshIdentity",
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Mesh/Kube",
            swiftSettings: swiftSettings
        ),
        // An API-server double for tests and benchmarks: the real list/watch protocol over HTTP(S) from
        // stored JSON objects, with scripted faults and a record of every write.
        .target(
            name: "MeshKubeTesting",
            dependencies: [
                "MeshModel", "MeshKube",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Mesh/KubeTesting",
            swiftSettings: swiftSettings
        ),
        // fsm's cluster operations through MeshKube: install (apply in order, wait until ready),
        // uninstall, namespace and metrics commands, and the injector's informers and API writes.
        .target(
            name: "MeshOperate",
            dependencies: [
                "MeshKube", "MeshInstall", "MeshInjector", "MeshInject", "MeshModel", "MeshControl",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Mesh/Operate",
            swiftSettings: swiftSettings
        ),
        // `fsm sidecar`'s command and what every long-running subcommand shares (the signal-driven
        // life, logging to standard error, one-line failures): a library, so that the sidecar alone
        // is also an executable of its own.
        .target(
            name: "MeshSidecarCommand",
            dependencies: [
                "MeshRuntime", "MeshModel", "MeshRedirect", "MeshInterceptor", "MeshIdentity",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Mesh/SidecarCommand",
            swiftSettings: swiftSettings
        ),
        // `fsm-sidecar`: the sidecar without the rest of fsm (controller, injector, Kubernetes
        // client, installer, demo apps), for less resident memory per pod (DECISIONS 236).
        .executableTarget(
            name: "fsm-sidecar",
            dependencies: [
                "MeshSidecarCommand", "MeshModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/Mesh/SidecarMain",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fsm",
            dependencies: [
                "MeshSidecarCommand", "MeshRuntime", "MeshControlPlane", "MeshControl", "MeshModel", "MeshManifest", "MeshIdentity", "MeshDemoApps", "MeshUp", "MeshRedirect", "MeshShell", "MeshInstall",
                "MeshInject", "MeshInjector", "MeshKube", "MeshOperate", "MeshInterceptor", "MeshInterceptorBPF", "MeshInterceptorPods",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Mesh/CLI",
            swiftSettings: swiftSettings
        ),
        // `fsm install`: the control plane's manifests (CRDs from the decoder's schemas, least-privilege
        // RBAC, Deployments, webhooks, the MeshConfig with `--set` values), rendered without I/O.
        .target(
            name: "MeshInstall",
            dependencies: ["MeshModel", "MeshManifest"],
            path: "Sources/Mesh/Install",
            swiftSettings: swiftSettings
        ),
        // Test-only helper shared by the identity and runtime tests: a throwaway CA writing certs to temp files.
        .target(
            name: "MeshTestCA",
            dependencies: [
                "MeshIdentity", "MeshTesting",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/Support/MeshTestCA",
            swiftSettings: swiftSettings
        ),
        // Test-only: a Zipkin collector that records the spans it is sent and checks them against the v2 schema.
        .target(
            name: "ZipkinCollectorDouble",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/Support/ZipkinCollectorDouble",
            swiftSettings: swiftSettings
        ),
        // libpcap, for the tests that read `sim --pcap` files back (scripts/setup-system.sh installs
        // libpcap-dev); the simulator writes pcap itself and links nothing of it.
        .systemLibrary(
            name: "CPcap",
            path: "Sources/CPcap",
            pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"])]
        ),
        .testTarget(name: "MeshBenchKitTests", dependencies: ["MeshBenchKit"], swiftSettings: swiftSettings),
        .testTarget(name: "MeshModelTests", dependencies: ["MeshModel", "MeshManifest"], swiftSettings: swiftSettings),
        .testTarget(name: "MeshInstallTests", dependencies: ["MeshInstall", "MeshModel", "MeshManifest", "MeshShell"], swiftSettings: swiftSettings),
        .testTarget(name: "MeshControlTests", dependencies: ["MeshControl", "MeshModel", "MeshManifest", "MeshTesting"], swiftSettings: swiftSettings),
        .testTarget(name: "MeshProxyTests", dependencies: ["MeshProxy", "MeshModel", "MeshTesting"], swiftSettings: swiftSettings),
        .testTarget(name: "SimCoreTests", dependencies: ["SimCore", "MeshModel"], swiftSettings: swiftSettings),
        .testTarget(name: "MeshRedirectTests", dependencies: ["MeshRedirect", "MeshModel", "MeshTesting"], swiftSettings: swiftSettings),
        // MeshShell's child processes (SpawnedProcess) and their deadline schedule.
        .testTarget(name: "MeshShellTests", dependencies: ["MeshShell"], swiftSettings: swiftSettings),
        .testTarget(
            name: "MeshInterceptorTests",
            dependencies: ["MeshInterceptor", "MeshInterceptorBPF", "MeshInterceptorPods", "MeshRedirect", "MeshModel", "MeshShell", "MeshTesting", "MeshUp"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeshIdentityTests",
            dependencies: [
                "MeshIdentity", "MeshModel", "MeshTestCA", "MeshTesting",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeshRuntimeTests",
            dependencies: [
                "MeshRuntime", "MeshModel", "MeshManifest", "MeshProxy", "MeshControl", "MeshControlPlane", "MeshIdentity", "MeshTestCA", "ZipkinCollectorDouble",
                "MeshRedirect", "MeshShell", "MeshTesting", "MeshInterceptorBPF",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeshKubeTests",
            dependencies: [
                "MeshKube", "MeshKubeTesting", "MeshOperate", "MeshInstall", "MeshControlPlane", "MeshControl", "MeshModel", "MeshIdentity", "MeshShell", "MeshTestCA", "MeshTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RealModeTests",
            dependencies: [
                "MeshRealMode", "MeshRuntime", "MeshShell", "MeshTesting", "SimCore", "MeshModel", "MeshControl",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeshUpTests",
            dependencies: [
                "MeshUp", "MeshDemoApps", "MeshModel", "MeshManifest", "MeshControlPlane", "MeshRuntime", "MeshInject", "MeshControl", "MeshIdentity", "MeshShell", "MeshTesting", "MeshInterceptorBPF",
                "ZipkinCollectorDouble",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The built `sim` and `fsm` executables run as a user runs them (exit status, one-line errors),
        // and MeshShell's file checks.
        .testTarget(
            name: "CommandLineTests",
            dependencies: ["MeshShell", "MeshModel", "MeshRuntime", "MeshBenchKit", "MeshTesting", "CPcap"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeshInjectTests",
            dependencies: ["MeshInject", "MeshModel", "MeshManifest", "MeshControl", "MeshRedirect", "MeshIdentity"],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeshInjectorTests",
            dependencies: [
                "MeshInjector", "MeshInject", "MeshModel", "MeshManifest", "MeshIdentity", "MeshControl", "MeshControlPlane", "MeshShell", "MeshTesting",
                "MeshKube", "MeshKubeTesting", "MeshInstall",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ScenarioTests",
            dependencies: ["SimCore"],
            path: "Tests/Scenarios",
            swiftSettings: swiftSettings
        ),
        // Fuzz harnesses (`make fuzz`): what each libFuzzer target does with an input, as library
        // functions, so that MeshFuzzTests runs them over the seed corpus in every `swift test`.
        // The parsers' harness stays free of NIO; the sidecar's runs the NIO pipelines in memory.
        .target(
            name: "MeshFuzz",
            dependencies: ["MeshModel", "MeshManifest", "MeshControl", "MeshProxy", "SimCore"],
            path: "Sources/Fuzz/Harness",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MeshFuzzSidecar",
            dependencies: [
                "MeshFuzz", "MeshModel", "MeshManifest", "MeshControl", "MeshProxy", "MeshRuntime",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Fuzz/SidecarHarness",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeshFuzzTests",
            dependencies: ["MeshFuzz", "MeshFuzzSidecar", "MeshModel", "MeshManifest", "SimCore"],
            swiftSettings: swiftSettings
        ),
    ]
)

// The libFuzzer targets, only with `FUZZ=1` (`make fuzz` builds them with
// `swift build -c release --sanitize=fuzzer --sanitize=address --scratch-path .build-fuzz`).
// Each exports `LLVMFuzzerTestOneInput` and nothing else: libFuzzer provides `main`, so a plain
// build would link a program that does nothing.
if Context.environment["FUZZ"] != nil {
    for (name, harness) in [("fuzz-scenario", "MeshFuzz"), ("fuzz-manifest", "MeshFuzz"), ("fuzz-config-json", "MeshFuzz"), ("fuzz-sidecar", "MeshFuzzSidecar")] {
        package.targets.append(.executableTarget(name: name, dependencies: [.target(name: harness)], path: "Sources/Fuzz/Targets/\(name)", swiftSettings: swiftSettings))
    }
}
