/// A problem with an AWS shared config or credentials file, or with a value in one.
///
/// `description` names the file (or profile), the 1-based line when known, and what to do.
/// Messages never quote a property's value, so a secret on a malformed line cannot leak.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file path, or a section such as `[profile dev]` when the problem is a value.
    public var path: String
    /// The 1-based line number, when the problem is tied to one line.
    public var line: Int?
    /// What is wrong and how to fix it, one sentence.
    public var message: String

    public init(path: String, line: Int? = nil, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(path) line \(line): \(message)" }
        return "\(path): \(message)"
    }
}
