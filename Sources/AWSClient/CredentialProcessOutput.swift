import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

public struct CredentialProcessOutputError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case notJSON
        case notAnObject
        case unsupportedVersion
        case missingField(String)
        case wrongType(field: String, expected: String)
        case invalidExpiration
        case expired(Date)
        case invalidAccountId
    }

    public var kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        let problem: String
        switch kind {
        case .notJSON: problem = "is not valid JSON"
        case .notAnObject: problem = "is not a JSON object"
        case .unsupportedVersion: problem = "must have \"Version\": 1 (the number)"
        case .missingField(let field): problem = "has no \(field) (a non-empty string is required)"
        case .wrongType(let field, let expected): problem = "has \(field) that is not \(expected)"
        case .invalidExpiration:
            problem = "has an Expiration that is not an RFC 3339 timestamp such as 2026-08-30T12:34:56Z"
        case .expired(let date):
            problem = "returned credentials that already expired at \(Timestamps.iso8601String(date))"
        case .invalidAccountId: problem = "has an AccountId that is not a 12-digit account number"
        }
        return "The credential_process output \(problem); fix the command configured in credential_process."
    }
}

/// The JSON a `credential_process` command prints (SDKs & Tools guide, "Process credential provider").
public struct CredentialProcessOutput: Sendable, Equatable {
    public var credentials: AWSCredentials
    public var accountId: String?

    public init(credentials: AWSCredentials, accountId: String? = nil) {
        self.credentials = credentials
        self.accountId = accountId
    }

    /// Validates and reads the output: `Version` 1, `AccessKeyId` and `SecretAccessKey` required,
    /// `SessionToken` optional, `Expiration` RFC 3339 (and, given `now`, still in the future), `AccountId`
    /// 12 digits. Unknown fields are ignored, as the SDKs do.
    public static func parse(_ data: Data, now: Date? = nil) throws(CredentialProcessOutputError)
        -> CredentialProcessOutput
    {
        let object: [String: JSONValue]
        do {
            object = try JSONDecoder().decode([String: JSONValue].self, from: data)
        } catch {
            let isJSON = (try? JSONDecoder().decode(JSONValue.self, from: data)) != nil
            throw CredentialProcessOutputError(isJSON ? .notAnObject : .notJSON)
        }
        guard case .integer(1) = object["Version"] else {
            throw CredentialProcessOutputError(.unsupportedVersion)
        }

        func string(_ field: String, required: Bool) throws(CredentialProcessOutputError) -> String? {
            guard let value = object[field], value != .null else {
                if required { throw CredentialProcessOutputError(.missingField(field)) }
                return nil
            }
            guard case .string(let text) = value else {
                throw CredentialProcessOutputError(.wrongType(field: field, expected: "a string"))
            }
            if required && text.isEmpty { throw CredentialProcessOutputError(.missingField(field)) }
            return text
        }
        guard let accessKeyId = try string("AccessKeyId", required: true),
            let secretAccessKey = try string("SecretAccessKey", required: true)
        else { throw CredentialProcessOutputError(.missingField("AccessKeyId")) }
        let sessionToken = try string("SessionToken", required: false).flatMap { $0.isEmpty ? nil : $0 }
        var expiration: Date?
        if let text = try string("Expiration", required: false) {
            guard let date = Timestamps.iso8601(text) else {
                throw CredentialProcessOutputError(.invalidExpiration)
            }
            if let now, date <= now { throw CredentialProcessOutputError(.expired(date)) }
            expiration = date
        }
        let accountId = try string("AccountId", required: false)
        if let accountId,
            accountId.count != 12 || !accountId.allSatisfy(\.isASCII) || !accountId.allSatisfy(\.isNumber)
        {
            throw CredentialProcessOutputError(.invalidAccountId)
        }
        return CredentialProcessOutput(
            credentials: AWSCredentials(
                accessKeyId: accessKeyId, secretAccessKey: secretAccessKey, sessionToken: sessionToken,
                expiration: expiration),
            accountId: accountId)
    }
}
