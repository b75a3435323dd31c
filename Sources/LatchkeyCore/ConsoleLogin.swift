import AWSClient
import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a console sign-in starts from: it decides whether AWS federates it and which
/// `SessionDuration` it accepts.
public enum ConsoleCredentialKind: Sendable, Equatable {
    /// AssumeRole, IAM Identity Center or web identity credentials; `chained` when the role was
    /// assumed with temporary credentials (AWS caps those sessions at one hour).
    case role(chained: Bool)
    /// GetFederationToken credentials: the console session lasts as long as they do.
    case federationToken
}

/// The `SessionDuration` rules of the federation endpoint (PROTOCOLS.md (d)).
public enum ConsoleSessionDuration {
    public static let role = 900...43_200
    public static let chainedRole = 900...3600
    /// GetFederationToken's own `DurationSeconds`, which is the console session's length.
    public static let federationToken = 900...129_600
    public static let defaultFederationToken = 3600

    /// The `SessionDuration` to send: nil unless asked for, never for GetFederationToken
    /// credentials (AWS refuses it), and within the role limits otherwise.
    public static func forSignin(kind: ConsoleCredentialKind, requested: Int?) throws -> Int? {
        guard let requested else { return nil }
        switch kind {
        case .federationToken:
            return nil
        case .role(let chained):
            let range = chained ? chainedRole : role
            guard range.contains(requested) else {
                throw ConsoleLoginError.durationOutOfRange(seconds: requested, chained: chained, range: range)
            }
            return requested
        }
    }
}

/// A console sign-in URL and what it was made from.
public struct ConsoleLoginURL: Sendable, Equatable {
    /// The single-use URL that signs the browser in (valid 15 minutes): a secret.
    public var url: URL
    public var kind: ConsoleCredentialKind
    /// The `SessionDuration` sent, nil when none was.
    public var sessionDuration: Int?
    public var destination: URL
}

/// What `latchkey login` was asked for.
public struct ConsoleLoginRequest: Sendable, Equatable {
    public var profile: String
    public var path: String?
    public var region: String?
    public var durationSeconds: Int?
    public var mfaToken: String?

    public init(
        profile: String, path: String? = nil, region: String? = nil, durationSeconds: Int? = nil,
        mfaToken: String? = nil
    ) {
        self.profile = profile
        self.path = path
        self.region = region
        self.durationSeconds = durationSeconds
        self.mfaToken = mfaToken
    }
}

/// Builds console sign-in URLs: role credentials go to the federation endpoint as they are; an
/// IAM user's long-lived key first gets GetFederationToken with an allow-all session policy (the
/// console then has the user's own rights), or with the plan's scope as `Policy` / `PolicyArns`;
/// anything that cannot give a working console is refused with the account's sign-in page instead.
public struct ConsoleLogin: Sendable {
    public let context: CoreContext

    public init(context: CoreContext) {
        self.context = context
    }

    /// Session policy for GetFederationToken: without one the federated user may do nothing;
    /// the effective rights are this intersected with the user's own policies and boundary.
    public static let allowAllPolicy =
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#

    /// The sign-in endpoint: `LATCHKEY_SIGNIN_ENDPOINT` (a test's own), else the partition's.
    public func endpoint(region: String?) throws -> SigninEndpoint {
        let override = try configuredEndpoint(
            nonEmpty(context.environment["LATCHKEY_SIGNIN_ENDPOINT"]),
            setting: "LATCHKEY_SIGNIN_ENDPOINT (the federation endpoint, such as "
                + "http://127.0.0.1:5000/federation), or unset it")
        return SigninEndpoint.resolve(region: region, override: override)
    }

    /// Resolves the credentials `plan` leads to (as `exec` would; for an IAM user, a federation
    /// token from its long-lived key) and exchanges them for a login URL.
    public func loginURL(plan: CredentialPlan, request: ConsoleLoginRequest) async throws -> ConsoleLoginURL {
        let region = request.region ?? plan.region
        let endpoint = try endpoint(region: region)
        let service = CredentialService(context: context)
        let credentials: AWSCredentials
        let kind: ConsoleCredentialKind
        if let last = plan.steps.last, case .assumeRole = last.kind {
            credentials = try await service.credentials(for: plan, mfaToken: request.mfaToken).credentials
            kind = .role(chained: last.chained)
        } else if plan.steps.isEmpty, plan.source.isRoleSource {
            credentials = try await service.credentials(for: plan, mfaToken: request.mfaToken).credentials
            kind = .role(chained: false)
        } else {
            let source = try await service.sourceCredentials(plan)
            if !source.isTemporary {
                if let device = plan.steps.lazy.compactMap(\.mfaSerial).first {
                    throw ConsoleLoginError.mfaUser(
                        profile: plan.profile, serial: device,
                        signinPage: try await signinPage(source, plan: plan, endpoint: endpoint))
                }
                credentials = try await federationToken(source, plan: plan, request: request)
                kind = .federationToken
            } else {
                (credentials, kind) = try await classify(source, plan: plan, endpoint: endpoint)
            }
        }
        let duration = try ConsoleSessionDuration.forSignin(kind: kind, requested: request.durationSeconds)
        let client = SigninClient(endpoint: endpoint.federation, transport: context.transport)
        context.debug(
            "getSigninToken at \(endpoint.federation.host ?? "?") for \(mask(credentials.accessKeyId))"
                + (duration.map { ", SessionDuration \($0)" } ?? ", no SessionDuration"))
        let token: String
        do {
            token = try await client.getSigninToken(credentials: credentials, sessionDuration: duration)
        } catch {
            throw LatchkeyError.awsCallFailed(
                operation: "getSigninToken", profile: plan.profile, cause: error)
        }
        let destination = endpoint.destination(path: request.path, region: region)
        return ConsoleLoginURL(
            url: client.loginURL(
                signinToken: token, destination: destination, issuer: endpoint.console + "/"),
            kind: kind, sessionDuration: duration, destination: destination)
    }

    /// GetFederationToken with the long-lived key (the only key AWS accepts for it).
    func federationToken(_ key: AWSCredentials, plan: CredentialPlan, request: ConsoleLoginRequest)
        async throws
        -> AWSCredentials
    {
        let duration = request.durationSeconds ?? ConsoleSessionDuration.defaultFederationToken
        guard ConsoleSessionDuration.federationToken.contains(duration) else {
            throw LatchkeyError.durationOutOfRange(
                seconds: duration, operation: "GetFederationToken",
                range: ConsoleSessionDuration.federationToken)
        }
        let sts = try STSAccess(plan: plan).client(
            credentials: key, context: context, profile: plan.profile, operation: "GetFederationToken")
        // Scoped: the scope's policies alone (with allow-all beside them, the union would allow everything).
        let policy = plan.scope == nil ? Self.allowAllPolicy : plan.scope?.policy
        do {
            return try await sts.getFederationToken(
                name: Self.federatedName(plan.profile), durationSeconds: duration, policy: policy,
                policyArns: plan.scope?.policyArns ?? [])
        } catch {
            throw LatchkeyError.awsCallFailed(
                operation: "GetFederationToken", profile: plan.profile, cause: error)
        }
    }

    /// Temporary credentials of unknown origin (credential_process, environment, instance roles):
    /// the caller's ARN tells a role from a federated user from a GetSessionToken session.
    func classify(_ credentials: AWSCredentials, plan: CredentialPlan, endpoint: SigninEndpoint) async throws
        -> (AWSCredentials, ConsoleCredentialKind)
    {
        let identity = try await callerIdentity(credentials, plan: plan)
        if identity.arn.contains(":assumed-role/") { return (credentials, .role(chained: true)) }
        if identity.arn.contains(":federated-user/") { return (credentials, .federationToken) }
        throw ConsoleLoginError.sessionTokenCredentials(
            profile: plan.profile, arn: identity.arn,
            signinPage: endpoint.accountSigninPage(accountId: identity.account))
    }

    func signinPage(_ credentials: AWSCredentials, plan: CredentialPlan, endpoint: SigninEndpoint)
        async throws
        -> URL?
    {
        guard let identity = try? await callerIdentity(credentials, plan: plan) else { return nil }
        return endpoint.accountSigninPage(accountId: identity.account)
    }

    func callerIdentity(_ credentials: AWSCredentials, plan: CredentialPlan) async throws -> CallerIdentity {
        let sts = try STSAccess(plan: plan).client(
            credentials: credentials, context: context, profile: plan.profile, operation: "GetCallerIdentity")
        do {
            return try await sts.getCallerIdentity()
        } catch {
            throw LatchkeyError.awsCallFailed(
                operation: "GetCallerIdentity", profile: plan.profile, cause: error)
        }
    }

    /// `latchkey-PROFILE` cut to what GetFederationToken accepts (2-32 of `[\w+=,.@-]`).
    static func federatedName(_ profile: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-")
        let cleaned = profile.map { allowed.contains($0) ? $0 : "-" }
        return String(("latchkey-" + String(cleaned)).prefix(32))
    }
}

extension ProfileResolver {
    /// `latchkey login`'s plan: as `plan(for:)`, except that an IAM user's own key (no MFA device,
    /// no role) may be scoped, since the console gets it through GetFederationToken, which takes
    /// `Policy` and `PolicyArns`. Every other plan that cannot be scoped is still refused.
    public func consolePlan(for request: CredentialRequest, store: CredentialStore) async throws
        -> CredentialPlan
    {
        do {
            return try await plan(for: request, store: store)
        } catch let refusal as SessionScopeError {
            guard case .notScopable = refusal else { throw refusal }
            var unscoped = request
            unscoped.scope = ScopeRequest()
            unscoped.scope.ignoresProfile = true
            var plan = try await plan(for: unscoped, store: store)
            let federated =
                plan.source.isLongLived
                && plan.steps.allSatisfy { step in
                    if case .assumeRole = step.kind { return false }
                    return step.mfaSerial == nil
                }
            guard federated, let scope = try scope(for: plan, request: request) else { throw refusal }
            plan.scope = scope
            plan.notes.append(
                "The console session is scoped (\(scope.label), from \(scope.origin)): GetFederationToken gets "
                    + "its policies instead of allow-all.")
            return plan
        }
    }
}

extension CredentialSource {
    /// Sources whose credentials are role sessions AWS federates to the console as they are.
    var isRoleSource: Bool {
        switch self {
        case .sso, .webIdentity: return true
        default: return false
        }
    }
}

public enum ConsoleLoginError: Error, CustomStringConvertible, Sendable, Equatable {
    case durationOutOfRange(seconds: Int, chained: Bool, range: ClosedRange<Int>)
    /// An IAM user with MFA: GetFederationToken sessions carry no MFA, so an MFA-required policy denies everything.
    case mfaUser(profile: String, serial: String, signinPage: URL?)
    /// GetSessionToken credentials: AWS does not federate them to the console.
    case sessionTokenCredentials(profile: String, arn: String, signinPage: URL)

    public var description: String {
        switch self {
        case .durationOutOfRange(let seconds, let chained, let range):
            return "a console session of \(seconds) s is outside what AWS allows for "
                + (chained ? "a role assumed with temporary credentials" : "role credentials")
                + " (\(range.lowerBound)…\(range.upperBound) s); choose a --duration in that range."
        case .mfaUser(let profile, let serial, let page):
            return "profile '\(profile)' is an IAM user with MFA (\(serial)); a console session made with "
                + "GetFederationToken carries no MFA, so a policy that requires MFA would deny everything in it. "
                + "Sign in with your password and MFA at \(page?.absoluteString ?? "your account's sign-in page"), "
                + "or add a role profile (role_arn, source_profile = \(profile), mfa_serial) and log in to that."
        case .sessionTokenCredentials(let profile, let arn, let page):
            return
                "profile '\(profile)' gives GetSessionToken credentials (\(arn)), which AWS does not accept for "
                + "console sign-in; sign in at \(page.absoluteString), or use a role profile or a stored key."
        }
    }
}
