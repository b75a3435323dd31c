import AWSConfig
import AWSClient
import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension ProfileResolver {
    /// The region calls for `profile` are made in, in the SDKs' order: the one asked for
    /// (`--region`), `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's `region` (through
    /// `include_profile` and `[default]`). Nil when nothing names one.
    public func region(asked: String?, profile: String) throws -> String? {
        try asked ?? nonEmpty(environment["AWS_REGION"]) ?? nonEmpty(environment["AWS_DEFAULT_REGION"])
            ?? settings(profile, isTarget: true).region
    }

    /// An IAM client for `profile`: its configured endpoint (checked), else IAM's global one,
    /// signed for the profile's region (IAM itself is global).
    public func iamClient(
        credentials: AWSCredentials, profile: String, region: String?, transport: any HTTPTransport
    ) throws -> IAMClient {
        IAMClient(
            credentials: credentials, region: try self.region(asked: region, profile: profile) ?? "us-east-1",
            endpoint: try configuredEndpoint(service: "iam", profile: profile), transport: transport)
    }
}

extension ProfileResolver {
    /// The plan for `request`; a profile only in the keyring (added with `--no-config`) resolves
    /// from the key stored there. The keyring is listed only when the config does not know it.
    public func plan(for request: CredentialRequest, store: CredentialStore) async throws -> CredentialPlan {
        do {
            return try plan(for: request)
        } catch LatchkeyError.unknownProfile {
            let stored = Set(try await store.inventory().credentials.map(\.profile))
            return try plan(for: request, storedProfiles: stored)
        }
    }
}

/// Profile names for shell completion, from the config files alone (no keyring, no prompt). A
/// config that does not parse completes nothing: completion has no place to show the error, and
/// any command run on the profile reports it.
public func completionProfileNames(environment: [String: String]) -> [String] {
    guard let config = try? AWSSharedConfig.load(ConfigLocations.resolve(environment: environment)) else {
        return []
    }
    return config.profileNames
}
