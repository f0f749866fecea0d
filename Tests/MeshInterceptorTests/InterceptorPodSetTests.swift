import Foundation
import MeshInterceptor
import MeshInterceptorPods
import MeshModel
import MeshRedirect
import Testing

@Suite struct InterceptorPodSetTests {
    func pod(_ last: UInt32, cgroup: String = "pod", annotations: [String: String] = [:]) throws -> InterceptorPod {
        InterceptorPod(name: "p\(last)", address: 0x0A59_0000 | last, cgroupPath: "/sys/fs/cgroup/unified/\(cgroup)",
                       settings: try RedirectSettings(meshConfig: .init(), podAnnotations: annotations))
    }

    @Test func newPodsAreAttachedGoneOnesDetachedChangedOnesBoth() throws {
        var set = InterceptorPodSet()
        let (a, b, c) = (try pod(1), try pod(2), try pod(3))
        #expect(set.reconcile(desired: [b, a]) == [.attach(a), .attach(b)])
        set.didAttach(a)
        set.didAttach(b)
        #expect(set.reconcile(desired: [a, b]).isEmpty)
        let changedB = try pod(2, annotations: [RedirectSettings.outboundPortExclusionAnnotation: "6379"])
        // b changed, a is gone, c is new: detaches first, then attaches.
        #expect(set.reconcile(desired: [changedB, c]) == [.detach(a), .detach(b), .attach(changedB), .attach(c)])
    }

    @Test func aPodThatFailedToAttachIsAskedForAgain() throws {
        var set = InterceptorPodSet()
        let a = try pod(1)
        #expect(set.reconcile(desired: [a]) == [.attach(a)])
        // The shell could not attach it (its cgroup did not exist yet): nothing recorded.
        #expect(set.reconcile(desired: [a]) == [.attach(a)])
        set.didAttach(a)
        set.didDetach(a)
        #expect(set.attached.isEmpty)
    }

    @Test func aDirectoryOfPodsFilesKeepsLastGoodAndFirstOwner() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pods-dir-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func write(_ name: String, _ text: String) throws { try text.write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8) }
        var pods = InterceptorPodsDirectory(path: directory, defaults: .init())
        #expect(pods.read().pods.isEmpty)

        try write("a.yaml", "pods:\n- ip: 10.89.0.10\n  cgroup: /c/a\n")
        try write("b.yaml", "pods:\n- ip: 10.89.0.11\n  cgroup: /c/b\n")
        try write("notes.txt", "not a pods file")
        #expect(pods.read().pods.map(\.addressText) == ["10.89.0.10", "10.89.0.11"])

        // A file that stops decoding keeps its pods; its error is reported once.
        try write("b.yaml", "pods:\n- ip: 10.89.0.11\n  cgroup: relative\n")
        let broken = pods.read()
        #expect(broken.pods.map(\.addressText) == ["10.89.0.10", "10.89.0.11"])
        #expect(broken.newProblems == ["\(directory)/b.yaml:3:11: pods[0].cgroup: expected an absolute path, found string \"relative\""])
        #expect(pods.read().newProblems.isEmpty)

        // An address claimed by a later file is left out of it; a removed file's pods go.
        try write("c.yaml", "pods:\n- ip: 10.89.0.10\n  cgroup: /c/other\n")
        let claimed = pods.read()
        #expect(claimed.pods.map(\.cgroupPath) == ["/c/a", "/c/b"])
        #expect(claimed.newProblems == ["\(directory)/c.yaml: pod address 10.89.0.10 is already given by \(directory)/a.yaml; left out"])
        try FileManager.default.removeItem(atPath: "\(directory)/a.yaml")
        #expect(pods.read().pods.map(\.cgroupPath) == ["/c/b", "/c/other"])
    }
}
