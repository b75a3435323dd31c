#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// `web_identity_token_file` with `role_arn`: AssumeRoleWithWebIdentity, no key needed.
struct WebIdentityProvider: CredentialProvider {
    let source: CredentialSource.WebIdentitySource
    let access: STSAccess
    /// Sent when this is the chain's last call (no role is assumed from it).
    let scope: SessionScope?

    func credentials(_ run: ProviderRun) async throws -> ProvidedCredentials {
        let token: String
        do {
            token = try String(contentsOfFile: source.tokenFile, encoding: .utf8)
                .trimmingWhitespace()
        } catch {
            throw LatchkeyError.sourceUnavailable(
                profile: source.profile, source: "web_identity_token_file",
                reason: "\(source.tokenFile) cannot be read; check the path and that the token is there.")
        }
        let sts = try access.client(
            credentials: nil, context: run.context, profile: source.profile,
            operation: "AssumeRoleWithWebIdentity")
        let answer = try await sts.assumeRoleWithWebIdentity(
            roleArn: source.roleArn, roleSessionName: source.roleSessionName, webIdentityToken: token,
            policy: scope?.policy, policyArns: scope?.policyArns ?? [])
        return ProvidedCredentials(credentials: answer.credentials, origin: .newSession)
    }
}
