/// One named section of the shared files (a profile or an `sso-session`), after merging.
///
/// `description` masks secret values, so a section can be logged.
public struct ProfileSection: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public let name: String
    /// Keys lower-cased. A sub-property block keeps its raw text (`"\nkey = value"`), as the SDKs do.
    public var properties: [String: String]
    /// Structured view of sub-property blocks such as `s3 =\n  max_concurrent_requests = 20`.
    public var subProperties: [String: [String: String]]

    public init(name: String, properties: [String: String] = [:]) {
        self.name = name
        self.properties = properties
        self.subProperties = properties.compactMapValues(Self.parseSubProperties)
    }

    /// The value for a key, compared case-insensitively.
    public subscript(key: String) -> String? { properties[key.lowercased()] }

    public var region: String? { nonBlank("region") }
    public var mfaSerial: String? { nonBlank("mfa_serial") }
    public var mfaProcess: String? { nonBlank("mfa_process") }
    public var endpointURL: String? { nonBlank("endpoint_url") }
    public var sourceProfile: String? { nonBlank("source_profile") }
    public var credentialSource: String? { nonBlank("credential_source") }
    public var credentialProcess: String? { nonBlank("credential_process") }
    public var roleArn: String? { nonBlank("role_arn") }
    public var externalId: String? { nonBlank("external_id") }
    public var roleSessionName: String? { nonBlank("role_session_name") }
    public var ssoSession: String? { nonBlank("sso_session") }
    /// The `[services NAME]` section this profile uses (`services = NAME`).
    public var servicesName: String? { nonBlank("services") }
    public var accessKeyId: String? { nonBlank("aws_access_key_id") }
    public var secretAccessKey: String? { nonBlank("aws_secret_access_key") }
    public var sessionToken: String? { nonBlank("aws_session_token") }

    /// `duration_seconds` as a positive whole number, nil when absent or blank.
    public func durationSeconds() throws -> Int? {
        guard let text = nonBlank("duration_seconds") else { return nil }
        guard let seconds = Int(text), seconds > 0 else {
            throw ConfigError(
                path: "[profile \(name)]",
                message:
                    "duration_seconds must be a whole number of seconds such as 3600, not `\(text)`; "
                    + "fix it in your AWS config file.")
        }
        return seconds
    }

    /// Keys whose values are never shown.
    static let secretKeys: Set<String> = ["aws_secret_access_key", "aws_session_token"]

    public var description: String {
        let shown = properties.keys.sorted().map { key in
            let value = properties[key] ?? ""
            return "\(key): \(Self.secretKeys.contains(key) ? "****" : value)"
        }
        return "ProfileSection(\(name); \(shown.joined(separator: ", ")))"
    }

    public var debugDescription: String { description }

    private func nonBlank(_ key: String) -> String? {
        guard let value = properties[key], !value.allSatisfy({ $0 == " " || $0 == "\t" }) else {
            return nil
        }
        return value
    }

    /// A value whose first line is empty is a block of indented `key = value` lines.
    static func parseSubProperties(_ value: String) -> [String: String]? {
        guard value.first == "\n" else { return nil }
        var result: [String: String] = [:]
        for line in value.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingBlanks()
            guard !key.isEmpty else { continue }
            result[key.lowercased()] = String(line[line.index(after: equals)...].trimmingBlanks())
        }
        return result
    }
}
