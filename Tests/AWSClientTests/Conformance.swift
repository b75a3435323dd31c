import Foundation
import LatchkeyTestSupport

/// Locates `shared/conformance` (a sibling of the repository) or `$LATCHKEY_CONFORMANCE_DIR`.
enum Conformance {
    static var directory: URL { ConformanceData.directory }

    static func data(_ relativePath: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent(relativePath))
    }
}
