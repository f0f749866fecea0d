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

    @Test func aMissingDirectoryIsReportedOnceAndKeepsWhatItHeld() throws {
        var directory = ManifestDirectory(path: "/nonexistent/manifests-\(UInt32.random(in: 0...UInt32.max))")
        let first = directory.poll()
        #expect(!first.changed && first.newErrors.count == 1)
        #expect(directory.poll().newErrors.isEmpty)
        #expect(directory.failedReads == 1)
        #expect(directory.resources.isEmpty)
    }
}
