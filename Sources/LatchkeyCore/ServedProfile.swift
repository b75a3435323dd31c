import AWSClient
import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a credential server (`serve`, `exec --ecs-server/--ec2-server`) hands out and renews for
/// one profile: the first session (made by the caller, who may ask for MFA on the terminal), its
/// renewal without the terminal, and the roles an ECS client may ask the server to assume.
/// LatchkeyServer's `ProfileServer` builds the feeds and the server from it.
public struct ServedProfile: Sendable {
    public let profile: String
    public let first: ResolvedCredentials
    /// Renew when a cached session would no longer be handed out (LATCHKEY_MIN_TTL).
    public let refreshBefore: TimeInterval
    let renewal: CoreContext
    let workspace: Workspace
    let sessionName: String

    /// `context` is the run's context; the renewal context is made from it: the cache is skipped
    /// for a minute longer than LATCHKEY_MIN_TTL (so a refresh really gets a new session), and a
    /// missing code is reported through the server, not refused. `renewalPrompt` is who may be
    /// asked for a code in the background (no terminal; nil: no one).
    public init(
        profile: String, first: ResolvedCredentials, workspace: Workspace, context: CoreContext,
        renewalPrompt: (any MFAPrompt)?
    ) throws {
        self.profile = profile
        self.first = first
        self.workspace = workspace
        refreshBefore = TimeInterval(workspace.settings.minimumTTL)
        var context = context
        context.settings.minimumTTL = workspace.settings.minimumTTL + 60
        context.mfa.promptsOff = nil
        context.mfa.prompt = renewalPrompt
        renewal = context
        sessionName = try workspace.resolver().defaultRoleSessionName()
    }

    public var plan: CredentialPlan { first.plan }

    /// A new session for the plan. A keyring of its own per renewal, dropped after it: between
    /// renewals the server holds the session it serves, not the vault key.
    public func renew() async throws -> AWSCredentials {
        workspace.debug("refreshing the session of \(profile)")
        var context = renewal
        context.store = try workspace.storeForRenewal()
        do {
            return try await CredentialService(context: context).credentials(for: plan).credentials
        } catch LatchkeyError.mfaCodeUnavailable(let profile, let serial, _) {
            throw ServerRefreshError.noMFACode(profile: profile, serial: serial)
        }
    }

    /// AssumeRole from the served session (ECS: a client asks for a role by ARN).
    public func assumeRole(_ roleArn: String, base: AWSCredentials) async throws -> AWSCredentials {
        let sts = try STSAccess(plan: plan).client(
            credentials: base, context: renewal, profile: profile, operation: "AssumeRole")
        return try await sts.assumeRole(AssumeRoleRequest(roleArn: roleArn, roleSessionName: sessionName))
            .credentials
    }
}
