import Foundation

/// Locates `shared/conformance` (a sibling of the repository) or `$LATCHKEY_CONFORMANCE_DIR`.
enum Conformance {
    static let directory: URL = {
        if let override = ProcessInfo.processInfo.environment["LATCHKEY_CONFORMANCE_DIR"], !override.isEmpty {
            return URL(fileURLWithPath: override, isDirectory: true)
        }
        // <repo>/Tests/AWSClientTests/Conformance.swift -> <repo>/../shared/conformance
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return repository.deletingLastPathComponent().appendingPathComponent("shared/conformance")
    }()

    static func data(_ relativePath: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent(relativePath))
    }
}
