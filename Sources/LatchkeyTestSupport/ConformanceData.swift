import Foundation

/// The conformance suites checked into `Tests/Conformance` (each with its SOURCE and licence),
/// or `$LATCHKEY_CONFORMANCE_DIR`. The one place every test target finds them; a missing file is
/// a test failure, never a silent skip.
public enum ConformanceData {
    public static let directory: URL = {
        if let override = ProcessInfo.processInfo.environment["LATCHKEY_CONFORMANCE_DIR"], !override.isEmpty {
            return URL(fileURLWithPath: override, isDirectory: true)
        }
        // <repo>/Sources/LatchkeyTestSupport/ConformanceData.swift -> <repo>/Tests/Conformance
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return repository.appendingPathComponent("Tests/Conformance", isDirectory: true)
    }()

    /// A row name that makes a table-driven test fail loudly when the data is missing.
    public static let missingMarker = "MISSING conformance directory"

    /// The `{"tests": [...]}` wrapper of the smithy-rs files.
    public struct Tests<Case: Decodable>: Decodable {
        public var tests: [Case]
    }

    public static func url(_ relativePath: String) -> URL {
        directory.appendingPathComponent(relativePath)
    }

    public static func data(_ relativePath: String) throws -> Data {
        try Data(contentsOf: url(relativePath))
    }

    /// A text file with `\r` removed, as the upstream harnesses compare expected files.
    public static func text(_ relativePath: String) throws -> String {
        String(decoding: try data(relativePath), as: UTF8.self).replacingOccurrences(of: "\r", with: "")
    }

    /// A JSON file as plain Foundation values.
    public static func json(_ relativePath: String) throws -> Any {
        try JSONSerialization.jsonObject(with: data(relativePath))
    }

    /// A JSON file whose top level is an object.
    public static func object(_ relativePath: String) throws -> [String: Any] {
        guard let object = try json(relativePath) as? [String: Any] else {
            throw NotAnObject(path: url(relativePath).path)
        }
        return object
    }

    /// The `tests` array of a JSON file of cases.
    public static func cases(_ relativePath: String) throws -> [[String: Any]] {
        try object(relativePath)["tests"] as? [[String: Any]] ?? []
    }

    /// Decodes a file for an argument table, built outside any test: on failure it says so on
    /// stderr and returns nil, and the suite's count check turns the short table into a failure.
    public static func load<T: Decodable>(_ relativePath: String, as type: T.Type) -> T? {
        do {
            return try JSONDecoder().decode(T.self, from: data(relativePath))
        } catch {
            // The final rendering: a line on the test run's stderr.
            let message = "Cannot read conformance file \(url(relativePath).path): \(error)\n"
            FileHandle.standardError.write(Data(message.utf8))
            return nil
        }
    }

    /// Sub-directories of `relativePath` (recursively) that hold a file ending in `marker`, or
    /// `[missingMarker]` when there are none.
    public static func caseDirectories(in relativePath: String, containing marker: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: url(relativePath).path) else {
            return [missingMarker]
        }
        var cases: Set<String> = []
        while let item = enumerator.nextObject() as? String {
            guard item.hasSuffix(marker) else { continue }
            cases.insert((item as NSString).deletingLastPathComponent)
        }
        return cases.isEmpty ? [missingMarker] : cases.sorted()
    }

    struct NotAnObject: Error, CustomStringConvertible {
        var path: String
        var description: String { "The conformance file \(path) is not a JSON object." }
    }
}
