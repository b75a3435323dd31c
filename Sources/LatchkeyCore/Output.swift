import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport
import Keyring

/// Variables removed from a child's environment because they would make an SDK look elsewhere
/// for credentials (or loop back into latchkey through `credential_process`).
let conflictingVariables = [
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION", "AWS_CREDENTIAL_FILE", "AWS_DEFAULT_PROFILE", "AWS_PROFILE",
    "AWS_SDK_LOAD_CONFIG", "LATCHKEY_SESSION_EXPIRES", "LATCHKEY_SESSION_SCOPE",
]

/// The environment `exec` hands to the command: the caller's, minus conflicting variables, plus
/// the session and `AWS_VAULT` (read by prompt tools such as starship), and
/// `LATCHKEY_SESSION_SCOPE` (`SessionScope.label`) when the session is scoped.
public func execEnvironment(
    base: [String: String], credentials: AWSCredentials, profile: String, region: String?,
    scope: SessionScope? = nil
) -> [String: String] {
    var environment = childEnvironment(base)
    for name in conflictingVariables { environment[name] = nil }
    environment["AWS_VAULT"] = profile
    environment["LATCHKEY_SESSION_SCOPE"] = scope?.label
    environment["AWS_ACCESS_KEY_ID"] = credentials.accessKeyId
    environment["AWS_SECRET_ACCESS_KEY"] = credentials.secretAccessKey
    if let token = credentials.sessionToken {
        environment["AWS_SESSION_TOKEN"] = token
    }
    if let expiration = credentials.expiration {
        environment["AWS_CREDENTIAL_EXPIRATION"] = iso8601(expiration)
        // Epoch seconds, so a prompt can show the time left with shell arithmetic alone.
        environment["LATCHKEY_SESSION_EXPIRES"] = String(Int(expiration.timeIntervalSince1970))
    }
    if let region {
        environment["AWS_REGION"] = region
        environment["AWS_DEFAULT_REGION"] = region
    }
    return environment
}

public enum ExportFormat: String, CaseIterable, Sendable {
    case env
    case exportEnv = "export-env"
    case json
    case ini
}

/// Renders credentials for `latchkey export`.
public func renderCredentials(
    _ credentials: AWSCredentials, format: ExportFormat, profile: String, region: String?
) -> String {
    var pairs: [(String, String)] = [
        ("AWS_ACCESS_KEY_ID", credentials.accessKeyId),
        ("AWS_SECRET_ACCESS_KEY", credentials.secretAccessKey),
    ]
    if let token = credentials.sessionToken { pairs.append(("AWS_SESSION_TOKEN", token)) }
    if let expiration = credentials.expiration {
        pairs.append(("AWS_CREDENTIAL_EXPIRATION", iso8601(expiration)))
    }
    if let region { pairs += [("AWS_REGION", region), ("AWS_DEFAULT_REGION", region)] }

    switch format {
    case .env:
        return pairs.map { "\($0.0)=\($0.1)\n" }.joined()
    case .exportEnv:
        return pairs.map { "export \($0.0)=\(shellQuoted($0.1))\n" }.joined()
    case .json:
        // The `credential_process` format: Version 1, Expiration in UTC.
        var fields = [
            "\"Version\":1", "\"AccessKeyId\":\(jsonString(credentials.accessKeyId))",
            "\"SecretAccessKey\":\(jsonString(credentials.secretAccessKey))",
        ]
        if let token = credentials.sessionToken { fields.append("\"SessionToken\":\(jsonString(token))") }
        if let expiration = credentials.expiration {
            fields.append("\"Expiration\":\(jsonString(iso8601(expiration)))")
        }
        return "{" + fields.joined(separator: ",") + "}\n"
    case .ini:
        var text = "[\(profile)]\n"
        text += "aws_access_key_id = \(credentials.accessKeyId)\n"
        text += "aws_secret_access_key = \(credentials.secretAccessKey)\n"
        if let token = credentials.sessionToken { text += "aws_session_token = \(token)\n" }
        if let expiration = credentials.expiration {
            // aws-vault writes it too; SDKs that read it refresh before the session ends.
            text += "aws_credential_expiration = \(iso8601(expiration))\n"
        }
        if let region { text += "region = \(region)\n" }
        return text
    }
}

/// Single-quotes a value for POSIX shells unless it is plainly safe.
public func shellQuoted(_ value: String) -> String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=+,@%")
    if !value.isEmpty, value.allSatisfy({ safe.contains($0) }) { return value }
    return "'" + value.replacing("'", with: "'\\''") + "'"
}

/// A JSON string literal, escaping what JSON requires.
public func jsonString(_ value: String) -> String {
    quotedLiteral(value) { scalar in
        scalar.value < 0x20 ? "\\u00" + hexEncoded([UInt8(scalar.value)]) : nil
    }
}

/// An AppleScript string literal: a quote or backslash in the value (an `mfa_serial` from the
/// config file, say) stays text and cannot end the literal and run as script.
public func appleScriptString(_ value: String) -> String {
    // Other control characters have no escape in AppleScript and no place in a prompt.
    quotedLiteral(value) { scalar in scalar.value < 0x20 || scalar.value == 0x7F ? "?" : nil }
}

/// A double-quoted literal with `"`, `\`, newline, return and tab escaped the C way; `other`
/// replaces any further scalar it returns text for.
private func quotedLiteral(_ value: String, other: (Unicode.Scalar) -> String?) -> String {
    var out = "\""
    for scalar in value.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if let replacement = other(scalar) {
                out += replacement
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// Checks a key pair's shape before anything is stored.
public func validateKeyPair(accessKeyId: String, secretAccessKey: String) throws -> AWSCredentials {
    let id = accessKeyId.trimmingWhitespace()
    let secret = secretAccessKey.trimmingWhitespace()
    let upperAlnum = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    if id.hasPrefix("ASIA") { throw LatchkeyError.temporaryKeyNotAllowed }
    guard id.count == 20, id.hasPrefix("AKIA"), id.allSatisfy({ upperAlnum.contains($0) }) else {
        throw LatchkeyError.invalidAccessKeyId(characters: id.count)
    }
    let secretAlphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    guard secret.count == 40, secret.allSatisfy({ secretAlphabet.contains($0) }) else {
        throw LatchkeyError.invalidSecretAccessKey
    }
    return AWSCredentials(accessKeyId: id, secretAccessKey: secret)
}
