import MeshModel
@testable import SimCore

extension ScenarioParser {
    /// The error parsing `text` gives, or nil when it parses: the scenario tests' one way to ask
    /// for a parse failure (a test expecting one `#require`s it or compares it with nil).
    static func error(parsing text: String, file: String) -> ManifestError? {
        do {
            _ = try parse(text, file: file)
            return nil
        } catch {
            return error
        }
    }
}
