import AWSClient
import AWSConfig
import AWSSigV4
import Foundation
import LatchkeyCore

extension Runtime {
    /// An IAM client for the profile (see `ProfileResolver.iamClient`).
    func iamClient(credentials: AWSCredentials, profile: String, region: String?) throws -> IAMClient {
        try resolver().iamClient(
            credentials: credentials, profile: profile, region: region,
            transport: defaultHTTPTransport(
                userAgent: "latchkey/\(latchkeyVersion)", environment: environment))
    }

    /// The profile's stored long-lived key: what a user without MFA yet may manage their own device with.
    func storedKey(profile: String) async throws -> AWSCredentials {
        let store = CredentialStore(keyring: try openKeyring())
        guard let key = try await store.longLivedKey(profile: profile) else {
            throw LatchkeyError.noStoredCredentials(profile: profile, backend: store.keyring.backendName)
        }
        return key
    }

    /// Credentials for IAM calls that may need MFA: the MFA session when the profile has
    /// `mfa_serial` or a role, else the stored key itself (IAM refuses sessions made without MFA).
    func iamCredentials(profile: String, options: CredentialOptions) async throws -> AWSCredentials {
        let section = try loadConfig().profile(profile)
        var options = options
        if section?["mfa_serial"] == nil, section?["role_arn"] == nil { options.noSession = true }
        return try await credentials(profile: profile, options: options).credentials
    }
}
