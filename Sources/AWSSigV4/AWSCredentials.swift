#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An AWS key pair, optionally temporary (with a session token and an expiry).
///
/// `description` never shows the secret or the token, so a credential can be logged or
/// interpolated into an error message without leaking anything.
public struct AWSCredentials: Sendable, Equatable, Codable, CustomStringConvertible,
    CustomDebugStringConvertible
{
    public var accessKeyId: String
    public var secretAccessKey: String
    public var sessionToken: String?
    public var expiration: Date?

    public init(
        accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil
    ) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    /// True for STS-issued credentials (they carry a session token).
    public var isTemporary: Bool { sessionToken != nil }

    public var description: String {
        var text = "AWSCredentials(\(accessKeyId), secret: \(mask(secretAccessKey))"
        if let sessionToken { text += ", token: \(mask(sessionToken))" }
        if let expiration { text += ", expires: \(expiration)" }
        return text + ")"
    }

    public var debugDescription: String { description }
}

/// Masks a secret for display: only the last four characters remain, as `****ABCD`.
public func mask(_ secret: String) -> String {
    guard secret.count > 8 else { return "****" }
    return "****" + secret.suffix(4)
}
