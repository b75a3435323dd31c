import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore

/// The options `exec` and `export` share: how the session is obtained.
struct CredentialOptions: ParsableArguments {
    @Option(
        name: [.customShort("d"), .long],
        help:
            "Session length: seconds or 15m, 1h, 12h. (Default: a role's duration_seconds, else $AWS_SESSION_TOKEN_TTL / $AWS_ASSUME_ROLE_TTL, else 1h.)"
    )
    var duration: String?

    @Option(name: .long, help: "Region for STS and the AWS_REGION handed out.")
    var region: String?

    @Option(
        name: [.customShort("t"), .customLong("mfa-token")], help: "The current MFA code, instead of asking.")
    var mfaToken: String?

    @Flag(
        name: [.customShort("n"), .customLong("no-session")],
        help: "Hand out the stored long-lived key, without STS.")
    var noSession = false

    @Option(
        name: .long,
        help:
            "How to ask for MFA codes: terminal, zenity, kdialog, osascript, ykman. (Default: $LATCHKEY_PROMPT, else the terminal, else a dialog.)"
    )
    var prompt: String?

    @OptionGroup var scope: ScopeOptions

    /// Values are checked while parsing, so a bad one stops latchkey before any AWS call.
    func validate() throws {
        if let duration { _ = try parseDuration(duration) }
    }

    /// The same, as plain values: what `Runtime.credentials` reads. A new option belongs in both.
    var choices: CredentialChoices {
        CredentialChoices(
            duration: duration, region: region, mfaToken: mfaToken, noSession: noSession, prompt: prompt,
            scope: scope.request)
    }

    func request(profile: String) throws -> CredentialRequest {
        try choices.request(profile: profile)
    }
}

/// `CredentialOptions` as plain values, so the hot path (`FastPath.swift`) can ask for a session
/// without ArgumentParser; `CredentialChoices()` is what no options at all mean.
struct CredentialChoices: Equatable {
    var duration: String?
    var region: String?
    var mfaToken: String?
    var noSession = false
    var prompt: String?
    var scope = ScopeRequest()

    func request(profile: String) throws -> CredentialRequest {
        CredentialRequest(
            profile: profile, durationSeconds: try duration.map(parseDuration), mfaToken: mfaToken,
            noSession: noSession, region: region, scope: scope)
    }
}

/// Session policies that narrow the session (`exec`, `export`, `serve`, `login`, `explain`).
struct ScopeOptions: ParsableArguments {
    @Option(
        name: .customLong("policy"),
        help: ArgumentHelp(
            "Narrow the session with this session policy (a JSON policy document file).",
            valueName: "file"))
    var policyFile: String?

    @Option(
        name: .customLong("policy-arn"),
        help: ArgumentHelp(
            "Narrow the session with this managed policy (repeatable; up to 10).", valueName: "arn"))
    var policyArns: [String] = []

    @Flag(
        name: .customLong("read-only"),
        help: "Narrow the session to AWS's ReadOnlyAccess managed policy.")
    var readOnly = false

    /// Any of them replaces the profile's latchkey_session_policy_file/_arns/latchkey_read_only.
    var request: ScopeRequest {
        ScopeRequest(policyFile: policyFile, policyArns: policyArns, readOnly: readOnly)
    }
}

extension Runtime {
    func credentials(profile: String, options: CredentialOptions) async throws -> ResolvedCredentials {
        try await credentials(profile: profile, options: options.choices)
    }

    /// Resolves the profile and runs the plan: the one path `exec` and `export` share.
    func credentials(profile: String, options: CredentialChoices) async throws -> ResolvedCredentials {
        let store = try openStore()
        let resolver = try resolver()
        let request = try options.request(profile: profile)
        let plan = try await resolver.plan(for: request, store: store)
        debug("plan for \(profile): \(plan.source.operation) then \(plan.steps.map(\.operation))")
        let context = try coreContext(store: store, prompt: options.prompt)
        let service = CredentialService(context: context)
        let resolved: ResolvedCredentials
        do {
            resolved = try await service.credentials(for: plan, mfaToken: options.mfaToken)
        } catch var refused as PromptRefused {
            refused.profile = refused.profile ?? profile
            throw refused
        }
        if let directory = context.lockDirectory {
            PromptFailureRecord.clear(profile: profile, in: directory)
        }
        return resolved
    }
}

extension Runtime {
    /// The session for IAM calls that may need MFA: the MFA session when the profile has
    /// `mfa_serial` or a role, else the stored key itself (IAM refuses sessions made without MFA).
    func iamSession(profile: String, options: CredentialOptions) async throws -> ResolvedCredentials {
        var choices = options.choices
        if try !workspace.iamCallsNeedSession(profile: profile) { choices.noSession = true }
        return try await credentials(profile: profile, options: choices)
    }
}
