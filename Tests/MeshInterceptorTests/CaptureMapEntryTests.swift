import MeshInterceptor
import MeshModel
import MeshRedirect
import Testing

/// The bytes fsm interceptor writes must be the C layouts of fsm_capture.h (addresses in network
/// order, the rest in the host's, little-endian here).
@Suite(.enabled(if: 1.littleEndian == 1, "the expected bytes are written for a little-endian host"))
struct CaptureMapEntryTests {
    static let address: UInt32 = 0x0A58_0001 // 10.88.0.1

    func pod(_ annotations: [String: String] = [:], meshConfig: MeshConfig = MeshConfig(), proxyUID: Int = 1500) throws -> InterceptorPod {
        InterceptorPod(name: "demo/app-0", address: Self.address, cgroupPath: "/sys/fs/cgroup/unified/app-0",
                       settings: try RedirectSettings(meshConfig: meshConfig, podAnnotations: annotations, proxyUID: proxyUID))
    }

    func entries(_ pod: InterceptorPod, _ map: CaptureMap) -> [CaptureMapEntry] {
        pod.mapEntries(cgroupID: 0x1122_3344_5566_7788, sidecarCgroupID: 0x99).filter { $0.map == map }
    }

    @Test func podSettingsAreTheStructFsmPod() throws {
        let pods = entries(try pod(proxyUID: 0x0102_0304), .pods)
        #expect(pods.count == 1)
        #expect(pods[0].key == [10, 88, 0, 1])
        #expect(pods[0].value == [
            0x04, 0x03, 0x02, 0x01, // proxy_uid
            0x99, 0x3a, 0x9b, 0x3a, // 15001, 15003
            0x99, 0, 0, 0, 0, 0, 0, 0, // sidecar_cgroup
            0, 0, 0, 0, 0, 0, 0, 0, // flags (no inclusions), pad
        ])
        let cgroups = entries(try pod(), .cgroups)
        #expect(cgroups.map(\.key) == [[0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]])
        #expect(cgroups.map(\.value) == [[10, 88, 0, 1]])
    }

    @Test func reservedPortsBypassBothWaysAndExclusionsTheirOwnDirection() throws {
        var meshConfig = MeshConfig()
        meshConfig.traffic.outboundPortExclusionList = [6379]
        let ports = entries(try pod([RedirectSettings.inboundPortExclusionAnnotation: "7070,15010"], meshConfig: meshConfig), .ports)
        let keys = ports.map { (port: Int($0.key[4]) | Int($0.key[5]) << 8, direction: $0.key[6]) }
        #expect(ports.allSatisfy { Array($0.key[0..<4]) == [10, 88, 0, 1] && $0.key[7] == 0 && $0.value == [1] })
        for reserved in RedirectSettings.reservedPorts {
            #expect(keys.contains { $0 == (reserved, 1) } && keys.contains { $0 == (reserved, 2) }, "port \(reserved)")
        }
        #expect(keys.contains { $0 == (6379, 1) } && !keys.contains { $0 == (6379, 2) })
        #expect(keys.contains { $0 == (7070, 2) } && !keys.contains { $0 == (7070, 1) })
        // 15010 is reserved already: its inbound entry is written once.
        #expect(keys.filter { $0 == (15010, 2) }.count == 1)
        #expect(ports.count == RedirectSettings.reservedPorts.count * 2 + 2)
    }

    @Test func rangesAreLPMKeysBehindThePodAddress() throws {
        let annotated = try pod([
            RedirectSettings.outboundIPRangeExclusionAnnotation: "10.96.7.9/16",
            RedirectSettings.outboundIPRangeInclusionAnnotation: "0.0.0.0/0",
        ])
        let excluded = entries(annotated, .excludedRanges)
        // prefixlen 32 + 16, the pod, then the range's network address (host bits cleared).
        #expect(excluded.map(\.key) == [[48, 0, 0, 0, 10, 88, 0, 1, 10, 96, 0, 0]])
        #expect(entries(annotated, .includedRanges).map(\.key) == [[32, 0, 0, 0, 10, 88, 0, 1, 0, 0, 0, 0]])
        // An inclusion list sets the pod's flag; without one the programs capture everything.
        #expect(entries(annotated, .pods)[0].value[16] == 1)
        #expect(entries(try pod(), .pods)[0].value[16] == 0)
        #expect(entries(try pod(), .includedRanges).isEmpty)
    }

    @Test func settingsCarryTheAccelerationFlag() {
        #expect(CaptureMapEntry.settings(accelerate: true) == CaptureMapEntry(map: .settings, key: [0, 0, 0, 0], value: [1, 0, 0, 0]))
        #expect(CaptureMapEntry.settings(accelerate: false).value == [0, 0, 0, 0])
    }

    @Test func keysToDeleteAreTheEntriesKeys() throws {
        let pod = try pod([RedirectSettings.outboundIPRangeExclusionAnnotation: "10.0.0.0/8"])
        #expect(pod.mapKeys(cgroupID: 7).map(\.key) == pod.mapEntries(cgroupID: 7, sidecarCgroupID: 5).map(\.key))
    }
}
