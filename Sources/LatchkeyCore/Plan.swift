import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What latchkey will do to get credentials for a profile, decided from the config alone: no
/// network call, no keyring read, no prompt. `CredentialService` runs it; `explain` prints it.
public struct CredentialPlan: Sendable, Equatable {
    /// The profile the user asked for.
    public var profile: String
    /// Where the chain starts.
    public var source: CredentialSource
    /// The STS calls made from the source, in order; each one's result is cached.
    public var steps: [PlanStep]
    /// Region for STS and for the environment handed out; nil when nothing names one.
    public var region: String?
    public var sts: STSSettings
    /// `ec2_metadata_service_endpoint` / `_mode` of the profile, for `credential_source = Ec2InstanceMetadata`.
    public var instanceMetadataEndpoint: String?
    public var instanceMetadataMode: String?
    /// Why the plan looks the way it does, for `explain` (e.g. why MFA is not asked twice).
    public var notes: [String]
    /// Session policies sent on the last call (see `SessionScope`); nil for an unscoped session.
    public var scope: SessionScope? = nil

    /// The cache key of the final result, nil when the result is a long-lived key (never cached).
    public var sessionCacheKey: String? { steps.last?.cacheKey ?? source.cacheKey }

    /// The STS operation that makes the final result, for messages.
    public var operationName: String { steps.last?.operation ?? source.operation }
}

/// How STS is reached for every step of a plan.
public struct STSSettings: Sendable, Equatable {
    /// A configured endpoint (`AWS_ENDPOINT_URL_STS`, `endpoint_url`, `[services]`); nil means AWS's own.
    public var endpoint: String?
    public var useFIPS = false
    public var useDualStack = false
    /// `sts_regional_endpoints = legacy`: the global endpoint for the regions that had it.
    public var useGlobalEndpoint = false
}

/// Where the first credentials of a chain come from.
public enum CredentialSource: Sendable, Equatable {
    /// A long-lived key in latchkey's keyring (`latchkey add PROFILE`).
    case storedKey(profile: String)
    /// Keys written in the shared credentials or config file.
    case staticKeys(profile: String, credentials: AWSCredentials)
    /// `credential_source = Environment`.
    case environment
    /// `credential_source = Ec2InstanceMetadata`.
    case instanceMetadata
    /// `credential_source = EcsContainer`.
    case ecsContainer
    /// `web_identity_token_file` with `role_arn`: AssumeRoleWithWebIdentity.
    case webIdentity(WebIdentitySource)
    /// IAM Identity Center: `sso_session` or the legacy `sso_start_url` keys.
    case sso(SSOSource)
    /// `credential_process`: a program that prints credentials.
    case credentialProcess(profile: String, command: String, cacheKey: String)
    /// `login_session`: a console sign-in session (`latchkey signin`) kept in the keyring.
    case loginSession(LoginSessionSource)

    public struct WebIdentitySource: Sendable, Equatable {
        public var profile: String
        public var roleArn: String
        public var tokenFile: String
        public var roleSessionName: String
        public var cacheKey: String
        /// From `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE` rather than the profile's keys.
        public var fromEnvironment = false
    }

    public struct SSOSource: Sendable, Equatable {
        public var profile: String
        /// The `[sso-session NAME]`, nil for a legacy profile.
        public var sessionName: String?
        public var startURL: String
        public var region: String
        public var accountId: String?
        public var roleName: String?
        public var registrationScopes: [String]
        public var cacheKey: String
        /// Configured endpoints (`AWS_ENDPOINT_URL_SSO_OIDC`, `AWS_ENDPOINT_URL_SSO`, ...), nil for AWS's own.
        public var oidcEndpoint: String?
        public var portalEndpoint: String?

        /// Where the sign-in token is kept: per sso-session, else per start URL (as the AWS CLI does).
        public var tokenName: String { sessionName ?? startURL }
    }

    /// A key that does not expire: STS calls made with it are not role chaining.
    public var isLongLived: Bool {
        switch self {
        case .storedKey: return true
        case .staticKeys(_, let credentials): return !credentials.isTemporary
        default: return false
        }
    }

    /// Read where latchkey runs (a key, a stored sign-in session) rather than fetched by a call.
    public var isLocal: Bool {
        switch self {
        case .storedKey, .staticKeys, .environment, .loginSession: return true
        default: return false
        }
    }

    /// The profile whose long-lived key starts the chain, if any.
    public var keyProfile: String? {
        switch self {
        case .storedKey(let profile), .staticKeys(let profile, _): return profile
        default: return nil
        }
    }

    /// Sources whose own result is worth caching (they cost a network call or a program).
    public var cacheKey: String? {
        switch self {
        case .webIdentity(let source): return source.cacheKey
        case .sso(let source): return source.cacheKey
        case .credentialProcess(_, _, let key): return key
        default: return nil
        }
    }

    public var operation: String {
        switch self {
        case .storedKey: return "StoredKey"
        case .staticKeys: return "StaticKeys"
        case .environment: return "Environment"
        case .instanceMetadata: return "Ec2InstanceMetadata"
        case .ecsContainer: return "EcsContainer"
        case .webIdentity: return "AssumeRoleWithWebIdentity"
        case .sso: return "GetRoleCredentials"
        case .credentialProcess: return "CredentialProcess"
        case .loginSession: return "LoginSession"
        }
    }
}

/// One STS call in a plan.
public struct PlanStep: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case getSessionToken
        case assumeRole(RoleSettings)
    }

    public struct RoleSettings: Sendable, Equatable {
        public var roleArn: String
        public var roleSessionName: String
        public var externalId: String?
        public var sessionTags: [String: String]
        public var transitiveTagKeys: [String]
        public var sourceIdentity: String?
    }

    /// The profile this step's session belongs to (and is cached under).
    public var profile: String
    public var kind: Kind
    public var durationSeconds: Int
    /// The MFA device whose code this step sends; nil when it sends none.
    public var mfaSerial: String?
    /// The MFA device an earlier step already used, which this step's credentials carry.
    public var mfaCoveredBy: String?
    public var mfaProcess: String?
    /// Called with temporary credentials: AWS caps role sessions made this way at one hour.
    public var chained: Bool
    public var cacheKey: String

    public var operation: String {
        switch kind {
        case .getSessionToken: return "GetSessionToken"
        case .assumeRole: return "AssumeRole"
        }
    }
}

/// Limits STS puts on `DurationSeconds`, and the defaults (aws-vault's, so habits carry over).
public enum STSDurationLimits {
    public static let getSessionToken = 900...129_600
    public static let assumeRole = 900...43_200
    public static let roleChaining = 3600
    public static let defaultSession = 3600
    /// A GetSessionToken session made to assume roles from: long, so one MFA code lasts a day's work.
    public static let defaultChainedSession = 8 * 3600
    public static let defaultRole = 3600
}

/// What the user asked for on the command line.
public struct CredentialRequest: Sendable, Equatable {
    public var profile: String
    public var durationSeconds: Int?
    public var mfaToken: String?
    public var noSession: Bool
    public var region: String?
    /// `--policy`, `--policy-arn`, `--read-only`: replace the profile's scope when any is given.
    public var scope: ScopeRequest

    public init(
        profile: String, durationSeconds: Int? = nil, mfaToken: String? = nil, noSession: Bool = false,
        region: String? = nil, scope: ScopeRequest = ScopeRequest()
    ) {
        self.scope = scope
        self.profile = profile
        self.durationSeconds = durationSeconds
        self.mfaToken = mfaToken
        self.noSession = noSession
        self.region = region
    }
}
