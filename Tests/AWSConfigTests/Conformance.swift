import Foundation
import LatchkeyTestSupport
import Testing

/// Locates `../shared/conformance` beside the repository (or `LATCHKEY_CONFORMANCE_DIR`).
enum Conformance {
    static var directory: URL { ConformanceData.directory }

    /// The `{"tests": [...]}` wrapper of the smithy-rs files.
    struct Tests<Case: Decodable>: Decodable {
        var tests: [Case]
    }

    /// Decodes a conformance file; a missing file is a failure, never a skip.
    static func load<T: Decodable>(_ relativePath: String, as type: T.Type) -> T? {
        let url = directory.appendingPathComponent(relativePath)
        do {
            return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
        } catch {
            // Argument tables are built outside a test, so also say it on stderr; the
            // suiteIsComplete tests turn the empty table into a failure.
            let message = "Cannot read conformance file \(url.path): \(error)"
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Issue.record(Comment(rawValue: message))
            return nil
        }
    }
}
