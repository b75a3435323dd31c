import AWSConfig
import Crypto
import Foundation

/// What latchkey will do to get credentials for a profile, decided without any network call,
/// keyring read or prompt. Running it is a separate step (`CredentialService`).
public struct CredentialPlan: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        /// Hand out the stored long-lived key itself (`--no-session`).
        case longLivedKey
        case getSessionToken(durationSeconds: Int)
        case assumeRole(AssumeRoleStep)
    }

    public struct AssumeRoleStep: Sendable, Equatable {
        public var roleArn: String
        public var roleSessionName: String
        public var externalId: String?
        public var durationSeconds: Int
    }

    /// The profile the user asked for.
    public var profile: String
    /// The profile whose long-lived key is read from the keyring.
    public var keyProfile: String
    public var step: Step
    public var mfaSerial: String?
    public var mfaProcess: String?
    /// Region for STS and for the environment handed out; nil when nothing names one.
    public var region: String?
    /// A configured STS endpoint (`AWS_ENDPOINT_URL_STS`, `endpoint_url`, ...); nil means AWS's own.
    public var stsEndpoint: String?

    /// The keyring item a session from this plan is cached under: profile, call type and a
    /// fingerprint of everything that makes the session different (MFA device, role, endpoint).
    public var sessionCacheKey: String? {
        let kind: String
        var parts = [keyProfile, mfaSerial ?? "", stsEndpoint ?? ""]
        switch step {
        case .longLivedKey: return nil
        case .getSessionToken: kind = "GetSessionToken"
        case .assumeRole(let role):
            kind = "AssumeRole"
            parts += [role.roleArn, role.externalId ?? "", role.roleSessionName]
        }
        let digest = SHA256.hash(data: Data(parts.joined(separator: "\u{1F}").utf8))
        let fingerprint = digest.prefix(6).map { String(format: "%02x", $0) }.joined()
        return "session:\(profile):\(kind):\(fingerprint)"
    }

    public var operationName: String {
        switch step {
        case .longLivedKey: return "none"
        case .getSessionToken: return "GetSessionToken"
        case .assumeRole: return "AssumeRole"
        }
    }
}

/// Limits STS puts on `DurationSeconds`.
public enum STSDurationLimits {
    public static let getSessionToken = 900...129_600
    public static let assumeRole = 900...43_200
    /// aws-vault's defaults, so users' habits carry over.
    public static let defaultSession = 3600
    public static let defaultRole = 3600
}

/// What the user asked for on the command line.
public struct CredentialRequest: Sendable, Equatable {
    public var profile: String
    public var durationSeconds: Int?
    public var mfaToken: String?
    public var noSession: Bool
    public var region: String?

    public init(
        profile: String, durationSeconds: Int? = nil, mfaToken: String? = nil, noSession: Bool = false,
        region: String? = nil
    ) {
        self.profile = profile
        self.durationSeconds = durationSeconds
        self.mfaToken = mfaToken
        self.noSession = noSession
        self.region = region
    }
}

/// Turns a profile in the shared config into a `CredentialPlan`.
public struct ProfileResolver: Sendable {
    public var config: AWSSharedConfig
    public var environment: [String: String]
    public var configFile: String

    public init(config: AWSSharedConfig, environment: [String: String], configFile: String) {
        self.config = config
        self.environment = environment
        self.configFile = configFile
    }

    /// `storedProfiles` lets a profile that exists only in the keyring (added without a config
    /// entry) still resolve.
    public func plan(for request: CredentialRequest, storedProfiles: Set<String> = []) throws
        -> CredentialPlan
    {
        let name = request.profile
        let profile = config.profile(name)
        if profile == nil, !storedProfiles.contains(name) {
            throw LatchkeyError.unknownProfile(name, configFile: configFile)
        }
        let section = profile ?? ProfileSection.empty(name)
        let region =
            request.region ?? section.region ?? nonEmpty(environment["AWS_REGION"])
            ?? nonEmpty(environment["AWS_DEFAULT_REGION"])
        let endpoint = config.configuredEndpointURL(service: "sts", profile: name, environment: environment)
        let configDuration = try section.durationSeconds()

        if let roleArn = section.roleArn {
            guard let source = section.sourceProfile else {
                throw LatchkeyError.roleWithoutSource(profile: name)
            }
            if source != name, config.profile(source)?.roleArn != nil {
                throw LatchkeyError.unsupportedChain(profile: name, source: source)
            }
            let duration = request.durationSeconds ?? configDuration ?? STSDurationLimits.defaultRole
            try check(duration, STSDurationLimits.assumeRole, "AssumeRole")
            let step = CredentialPlan.AssumeRoleStep(
                roleArn: roleArn,
                roleSessionName: section.roleSessionName ?? defaultRoleSessionName(),
                externalId: section.externalId,
                durationSeconds: duration)
            return CredentialPlan(
                profile: name, keyProfile: source, step: .assumeRole(step),
                mfaSerial: section.mfaSerial, mfaProcess: section.mfaProcess, region: region,
                stsEndpoint: endpoint)
        }

        if request.noSession {
            return CredentialPlan(
                profile: name, keyProfile: name, step: .longLivedKey, mfaSerial: nil, mfaProcess: nil,
                region: region, stsEndpoint: endpoint)
        }
        let duration = request.durationSeconds ?? configDuration ?? STSDurationLimits.defaultSession
        try check(duration, STSDurationLimits.getSessionToken, "GetSessionToken")
        return CredentialPlan(
            profile: name, keyProfile: name, step: .getSessionToken(durationSeconds: duration),
            mfaSerial: section.mfaSerial, mfaProcess: section.mfaProcess, region: region,
            stsEndpoint: endpoint)
    }

    private func check(_ seconds: Int, _ range: ClosedRange<Int>, _ operation: String) throws {
        guard range.contains(seconds) else {
            throw LatchkeyError.durationOutOfRange(seconds: seconds, operation: operation, range: range)
        }
    }

    /// `latchkey-<user>`, limited to what STS accepts in RoleSessionName.
    func defaultRoleSessionName() -> String {
        let user = environment["USER"] ?? environment["LOGNAME"] ?? "user"
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@-_")
        let cleaned = String(user.filter { allowed.contains($0) }.prefix(55))
        return "latchkey-" + (cleaned.isEmpty ? "user" : cleaned)
    }
}

func nonEmpty(_ value: String?) -> String? {
    guard let value, !value.isEmpty else { return nil }
    return value
}

extension ProfileSection {
    static func empty(_ name: String) -> ProfileSection {
        ProfileSection(name: name)
    }
}
