import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

public struct AssumeRoleWithWebIdentityResult: Sendable, Equatable {
    public var credentials: AWSCredentials
    /// `AROA...:session-name`
    public var assumedRoleId: String
    /// `arn:aws:sts::123456789012:assumed-role/Role/session-name`
    public var arn: String
    /// The `sub` claim of the token, as STS read it.
    public var subjectFromWebIdentityToken: String?
    /// The identity provider (`arn:aws:iam::...:oidc-provider/...` or `www.amazon.com`, ...).
    public var provider: String?
    /// The `aud` claim (the client id the token was issued to).
    public var audience: String?
    public var packedPolicySize: Int?
    public var sourceIdentity: String?

    public init(
        credentials: AWSCredentials, assumedRoleId: String, arn: String,
        subjectFromWebIdentityToken: String? = nil,
        provider: String? = nil, audience: String? = nil, packedPolicySize: Int? = nil,
        sourceIdentity: String? = nil
    ) {
        self.credentials = credentials
        self.assumedRoleId = assumedRoleId
        self.arn = arn
        self.subjectFromWebIdentityToken = subjectFromWebIdentityToken
        self.provider = provider
        self.audience = audience
        self.packedPolicySize = packedPolicySize
        self.sourceIdentity = sourceIdentity
    }

    /// The account of the assumed role, from its ARN.
    public var accountId: String? {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count > 4 && !parts[4].isEmpty ? String(parts[4]) : nil
    }
}

extension STSClient {
    /// Credentials for a role trusted by an OIDC provider, in exchange for its token (`web_identity_token_file`,
    /// `AWS_WEB_IDENTITY_TOKEN_FILE`). The call is never signed: the token is the proof.
    ///
    /// Fails with `AWSClientError.service` codes `InvalidIdentityToken`, `ExpiredTokenException`,
    /// `IDPRejectedClaim`, `AccessDenied`; `IDPCommunicationError` (the provider did not answer STS)
    /// is retried like throttling, as the SDKs do.
    public func assumeRoleWithWebIdentity(
        roleArn: String, roleSessionName: String, webIdentityToken: String, durationSeconds: Int? = nil,
        policy: String? = nil, policyArns: [String] = []
    ) async throws -> AssumeRoleWithWebIdentityResult {
        var parameters: [(String, String)] = [
            ("RoleArn", roleArn), ("RoleSessionName", roleSessionName),
            ("WebIdentityToken", webIdentityToken),
        ]
        if let durationSeconds { parameters.append(("DurationSeconds", String(durationSeconds))) }
        if let policy { parameters.append(("Policy", policy)) }
        for (index, arn) in policyArns.enumerated() {
            parameters.append(("PolicyArns.member.\(index + 1).arn", arn))
        }
        let action = "AssumeRoleWithWebIdentity"
        let result = try await client.call(action, parameters, signed: false)
        let read = ResultReader(service: "sts", operation: action)
        return AssumeRoleWithWebIdentityResult(
            credentials: try read.credentials(result),
            assumedRoleId: try read.string(result, "AssumedRoleUser", "AssumedRoleId"),
            arn: try read.string(result, "AssumedRoleUser", "Arn"),
            subjectFromWebIdentityToken: read.optionalString(result, "SubjectFromWebIdentityToken"),
            provider: read.optionalString(result, "Provider"),
            audience: read.optionalString(result, "Audience"),
            packedPolicySize: read.optionalString(result, "PackedPolicySize").flatMap { Int($0) },
            sourceIdentity: read.optionalString(result, "SourceIdentity"))
    }
}
