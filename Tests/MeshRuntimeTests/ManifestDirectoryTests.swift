import Foundation
import MeshControlPlane
import MeshModel
import Testing

struct ManifestDirectoryTests {
    static let service = "apiVersion: v1\nkind: Service\nmetadata: {name: NAME, namespace: shop}\nspec:\n  ports: [{port: 80}]\n"

    static func service(_ name: String) -> String { service.replacingOccurrences(of: "NAME", with: name) }

    func withDirectory(_ body: (URL) throws -> Void) throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("manifest-dir-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        try body(url)
    }

    @Test func readsYAMLFilesInNameOrderAndOnlyWhatChanged() throws {
        try withDirectory { url in
            try Self.service("b").write(to: url.appendingPathComponent("20-b.yml"), atomically: true, encoding: .utf8)
            try Self.service("a").write(to: url.appendingPathComponent("10-a.yaml"), atomically: true, encoding: .utf8)
            try "not a manifest".write(to: url.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
            var directory = ManifestDirectory(path: url.path)
            #expect(directory.poll().changed)
            #expect(directory.resources.map(\.metadata.name) == ["a", "b"])
            #expect(!directory.poll().changed)

            try (Self.service("b") + "---\n" + Self.service("c")).write(to: url.appendingPathComponent("20-b.yml"), atomically: true, encoding: .utf8)
            #expect(directory.poll().changed)
            #expect(directory.resources.map(\.metadata.name) == ["a", "b", "c"])

            try FileManager.default.removeItem(at: url.appendingPathComponent("10-a.yaml"))
            #expect(directory.poll().changed)
            #expect(directory.resources.map(\.metadata.name) == ["b", "c"])
            #expect(directory.failedReads == 0)
        }
    }

    @Test func aBadFileKeepsItsLastGoodResourcesUntilFixed() throws {
        try withDirectory { url in
            let file = url.appendingPathComponent("10-a.yaml")
            try Self.service("a").write(to: file, atomically: true, encoding: .utf8)
            var directory = ManifestDirectory(path: url.path)
            _ = directory.poll()
            try "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: shop}\nspec:\n  ports: [{port: 99999}]\n".write(to: file, atomically: true, encoding: .utf8)
            let result = directory.poll()
            #expect(!result.changed)
            #expect(result.newErrors.count == 1)
            #expect(result.newErrors.first?.hasPrefix("\(file.path):5:") == true)
            #expect(directory.errors == result.newErrors)
            #expect(directory.failedReads == 1)
            #expect(directory.resources.map(\.metadata.name) == ["a"])

            try Self.service("fixed").write(to: file, atomically: true, encoding: .utf8)
            #expect(directory.poll().changed)
            #expect(directory.errors.isEmpty)
            #expect(directory.resources.map(\.metadata.name) == ["fixed"])
        }
    }

    /// issue 13: a malformed AccessControl is an error naming its file and line, and the
    /// controller's source keeps the last good one in force.
    @Test func aMalformedAccessControlKeepsTheLastGoodOne() throws {
        try withDirectory { url in
            let file = url.appendingPathComponent("acl.yaml")
            let control = """
            kind: AccessControl
            apiVersion: policy.flomesh.io/v1alpha1
            metadata: {name: httpbin, namespace: httpbin}
            spec:
              sources:
              - {kind: IPRange, name: RANGE}

            """
            try control.replacingOccurrences(of: "RANGE", with: "10.244.0.21/32").write(to: file, atomically: true, encoding: .utf8)
            var directory = ManifestDirectory(path: url.path)
            _ = directory.poll()
            try control.replacingOccurrences(of: "RANGE", with: "10.244.0.300/32").write(to: file, atomically: true, encoding: .utf8)
            let result = directory.poll()
            #expect(!result.changed)
            #expect(result.newErrors.first?.hasPrefix("\(file.path):6:") == true)
            #expect(result.newErrors.first?.contains("spec.sources[0].name") == true)
            guard case .accessControl(let kept)? = directory.resources.first else {
                Issue.record("the last good AccessControl should stay")
                return
            }
            #expect(kept.sources.map(\.name) == ["10.244.0.21/32"])
        }
    }

    @Test func aMissingDirectoryIsReportedOnceAndKeepsWhatItHeld() throws {
        let path = "/nonexistent/manifests-\(UInt32.random(in: 0...UInt32.max))"
        var directory = ManifestDirectory(path: path)
        let first = directory.poll()
        #expect(!first.changed && first.newErrors == ["\(path): cannot read the directory: no such file or directory"])
        #expect(directory.poll().newErrors.isEmpty)
        #expect(directory.failedReads == 1)
        #expect(directory.resources.isEmpty)
    }

    @Test func aResourceInTwoFilesIsReportedWithBothPlacesAndTheLaterLeftOut() throws {
        try withDirectory { url in
            let a = url.appendingPathComponent("10-a.yaml"), b = url.appendingPathComponent("20-b.yaml")
            try Self.service("web").write(to: a, atomically: true, encoding: .utf8)
            try (Self.service("other") + "---\n" + Self.service("web")).write(to: b, atomically: true, encoding: .utf8)
            var directory = ManifestDirectory(path: url.path)
            let result = directory.poll()
            #expect(result.newErrors == ["\(b.path):7:1: Service shop/web is already defined at \(a.path):1:1"])
            #expect(directory.errors == result.newErrors)
            #expect(directory.resources.map(\.metadata.name) == ["web", "other"])
            #expect(directory.poll().newErrors.isEmpty)

            // Removed from the first file, the second file's definition is the one in force.
            try Self.service("renamed").write(to: a, atomically: true, encoding: .utf8)
            #expect(directory.poll().changed)
            #expect(directory.errors.isEmpty)
            #expect(directory.resources.map(\.metadata.name) == ["renamed", "other", "web"])
        }
    }

    @Test func aFileThatIsNotUTF8NamesItsFirstBadByte() throws {
        try withDirectory { url in
            let file = url.appendingPathComponent("10-a.yaml")
            try Data(Array("apiVersion: v1\nkind: Namespace\nmetadata: {name: caf".utf8) + [0xE9] + Array("}\n".utf8)).write(to: file)
            var directory = ManifestDirectory(path: url.path)
            #expect(directory.poll().newErrors == ["\(file.path):3:21: the file is not UTF-8 text: byte 0xE9 is not valid UTF-8 (save the file as UTF-8)"])
        }
    }
}
