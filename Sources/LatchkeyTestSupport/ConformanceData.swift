import Foundation

/// The shared conformance suites: `shared/conformance` beside the repository (CI lays it there),
/// or `$LATCHKEY_CONFORMANCE_DIR`. A missing file is a test failure, never a silent skip.
public enum ConformanceData {
    public static let directory: URL = {
        if let override = ProcessInfo.processInfo.environment["LATCHKEY_CONFORMANCE_DIR"], !override.isEmpty {
            return URL(fileURLWithPath: override, isDirectory: true)
        }
        // <repo>/Sources/LatchkeyTestSupport/ConformanceData.swift -> <repo>/../shared/conformance
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return repository.deletingLastPathComponent().appendingPathComponent("shared/conformance")
    }()

    public static func url(_ relativePath: String) -> URL {
        directory.appendingPathComponent(relativePath)
    }

    public static func data(_ relativePath: String) throws -> Data {
        try Data(contentsOf: url(relativePath))
    }

    /// A JSON file as plain Foundation values.
    public static func json(_ relativePath: String) throws -> Any {
        try JSONSerialization.jsonObject(with: data(relativePath))
    }
}
