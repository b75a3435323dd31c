import AWSConfig
import AWSSigV4
import Crypto
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// Turns a profile of the shared config into a `CredentialPlan`, the way the AWS SDKs resolve
/// profiles (the cross-SDK assume-role suite passes), plus what latchkey adds: keys in the
/// keyring, one MFA prompt per chain, and a cache entry for every session.
public struct ProfileResolver: Sendable {
    public var config: AWSSharedConfig
    public var environment: [String: String]
    public var configFile: String
    /// Reads a session policy file (`--policy`, `latchkey_session_policy_file`); tests replace it.
    public var readFile: @Sendable (String) throws -> Data = {
        try Data(contentsOf: URL(fileURLWithPath: $0))
    }

    public init(config: AWSSharedConfig, environment: [String: String], configFile: String) {
        self.config = config
        self.environment = environment
        self.configFile = configFile
    }

    /// - Parameter storedProfiles: profiles with a key in the keyring, when known. A profile with
    ///   no credential settings is taken to have a stored key; with this set given, one that has
    ///   none is an error now rather than at run time. A profile that exists only in the keyring
    ///   (added with `--no-config`) resolves only when it is in this set.
    public func plan(for request: CredentialRequest, storedProfiles: Set<String>? = nil) throws
        -> CredentialPlan
    {
        let name = request.profile
        if config.profile(name) == nil, storedProfiles?.contains(name) != true,
            !(name == "default" && environmentWebIdentity() != nil)
        {
            throw LatchkeyError.unknownProfile(name, configFile: configFile)
        }
        var chain = try walk(name, storedProfiles: storedProfiles)
        let target = try settings(name, isTarget: true)
        var plan = CredentialPlan(
            profile: name, source: chain.source, steps: [],
            region: try region(asked: request.region, profile: name),
            sts: try stsSettings(for: name, target: target),
            instanceMetadataEndpoint: target["ec2_metadata_service_endpoint"].flatMap(nonEmpty),
            instanceMetadataMode: target["ec2_metadata_service_endpoint_mode"].flatMap(nonEmpty), notes: [])
        if case .webIdentity(let source) = chain.source, source.fromEnvironment {
            plan.notes.append(
                "AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE are set and '\(name)' has no credentials of its own, "
                    + "so web identity from the environment is used, as the SDKs do.")
        }
        if let serial = nonEmpty(environment["AWS_MFA_SERIAL"]) {
            plan.notes.append("AWS_MFA_SERIAL=\(serial) replaces mfa_serial of every profile in the chain.")
        }
        if nonEmpty(environment["AWS_WEB_IDENTITY_TOKEN_FILE"]) == nil,
            let role = nonEmpty(environment["AWS_ROLE_ARN"])
        {
            plan.notes.append("AWS_ROLE_ARN=\(role) replaces role_arn of '\(name)'.")
        }
        try addSteps(to: &plan, links: &chain.links, request: request)
        try applyScope(to: &plan, request: request)
        return plan
    }

    // MARK: Settings, with aws-vault's inheritance

    /// Keys a profile takes from `include_profile` (recursively), as aws-vault does.
    static let includedKeys = Set<String>([
        "mfa_serial", "mfa_process", "role_arn", "external_id", "region", "role_session_name",
        "duration_seconds", "source_profile", "sso_session", "sso_start_url", "sso_region", "sso_account_id",
        "sso_role_name", "web_identity_token_file", "credential_process", "session_tags",
        "transitive_session_tags", "source_identity", "login_session",
    ]).union(scopeKeys).union(browserKeys)
    /// Keys every profile takes from `[default]` at the end of its `include_profile` chain (as
    /// aws-vault does): settings of the person, never an identity (no role or source), so
    /// `[default]` cannot turn every profile into something else.
    static let defaultKeys: Set<String> = ["region", "mfa_serial", "mfa_process", "duration_seconds"]

    /// A profile's settings: its own, then its `include_profile` chain's, then `[default]`'s (after
    /// the whole chain, so an included profile never hides `[default]`'s `mfa_serial`), then
    /// aws-vault's environment overrides: `AWS_MFA_SERIAL` for every profile, `AWS_ROLE_ARN` and
    /// `AWS_ROLE_SESSION_NAME` for the profile asked for (`isTarget`) only.
    func settings(_ name: String, isTarget: Bool = false) throws -> ProfileSection {
        var merged = config.profile(name)?.properties ?? [:]
        var visited = [name]
        var current = config.profile(name)
        while let include = current?.properties["include_profile"], !include.isEmpty {
            guard !visited.contains(include) else { throw LatchkeyError.profileLoop(visited + [include]) }
            visited.append(include)
            guard let included = config.profile(include) else {
                throw LatchkeyError.missingSourceProfile(
                    source: include, referencedBy: name, configFile: configFile)
            }
            for (key, value) in included.properties
            where Self.includedKeys.contains(key) && merged[key] == nil {
                merged[key] = value
            }
            current = included
        }
        if !visited.contains("default"), let fallback = config.profile("default") {
            for (key, value) in fallback.properties where Self.defaultKeys.contains(key) && merged[key] == nil
            {
                merged[key] = value
            }
        }
        if let serial = nonEmpty(environment["AWS_MFA_SERIAL"]) { merged["mfa_serial"] = serial }
        if isTarget {
            // With a token file beside it, AWS_ROLE_ARN means web identity (the SDKs' meaning).
            if environmentWebIdentity() == nil, let role = nonEmpty(environment["AWS_ROLE_ARN"]) {
                merged["role_arn"] = role
            }
            if let sessionName = nonEmpty(environment["AWS_ROLE_SESSION_NAME"]) {
                merged["role_session_name"] = sessionName
            }
        }
        return ProfileSection(name: name, properties: merged)
    }

    /// `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`: the SDKs' web identity from the environment.
    func environmentWebIdentity() -> (roleArn: String, tokenFile: String)? {
        guard let role = nonEmpty(environment["AWS_ROLE_ARN"]),
            let file = nonEmpty(environment["AWS_WEB_IDENTITY_TOKEN_FILE"])
        else { return nil }
        return (role, file)
    }

    /// Whether a profile names where its credentials come from (else they are in the keyring, or,
    /// with web identity in the environment, come from there).
    func hasOwnCredentials(_ section: ProfileSection) -> Bool {
        let keys = [
            "aws_access_key_id", "aws_secret_access_key", "role_arn", "credential_source",
            "credential_process",
            "web_identity_token_file", "sso_session", "sso_start_url", "sso_account_id", "sso_role_name",
            "login_session",
        ]
        return keys.contains { section[$0].flatMap(nonEmpty) != nil }
    }

    // MARK: The chain of profiles

    /// One `role_arn` profile in a chain, outermost last.
    struct RoleLink {
        var profile: String
        var settings: ProfileSection
    }

    struct Chain {
        var source: CredentialSource
        var links: [RoleLink]
    }

    func walk(_ name: String, storedProfiles: Set<String>?, visited: [String] = []) throws -> Chain {
        if visited.contains(name) { throw LatchkeyError.profileLoop(visited + [name]) }
        let isTarget = visited.isEmpty
        let section = try settings(name, isTarget: isTarget)
        if isTarget, let web = environmentWebIdentity(), !hasOwnCredentials(try settings(name)) {
            let sessionName = section.roleSessionName ?? defaultRoleSessionName()
            return Chain(
                source: .webIdentity(
                    .init(
                        profile: name, roleArn: web.roleArn,
                        tokenFile: ConfigLocations.expandTilde(web.tokenFile, home: home),
                        roleSessionName: sessionName,
                        cacheKey: cacheKey(
                            name, "AssumeRoleWithWebIdentity", [web.roleArn, web.tokenFile, sessionName]),
                        fromEnvironment: true)),
                links: [])
        }
        guard let roleArn = section.roleArn else {
            return Chain(source: try base(name, section, storedProfiles: storedProfiles), links: [])
        }
        let link = RoleLink(profile: name, settings: section)
        if let sourceName = section.sourceProfile {
            if section.credentialSource != nil {
                throw LatchkeyError.sourceAndCredentialSource(profile: name)
            }
            if sourceName == name {
                // A profile that names itself: its own keys, then its own role.
                return Chain(source: try keys(name, section, storedProfiles: storedProfiles), links: [link])
            }
            guard config.profile(sourceName) != nil || storedProfiles?.contains(sourceName) == true else {
                throw LatchkeyError.missingSourceProfile(
                    source: sourceName, referencedBy: name, configFile: configFile)
            }
            let source = try settings(sourceName)
            // A source profile with keys in the files uses them and stops, even if it has a role.
            if source.accessKeyId != nil || source.secretAccessKey != nil {
                if visited.contains(sourceName) {
                    throw LatchkeyError.profileLoop(visited + [name, sourceName])
                }
                return Chain(
                    source: try keys(sourceName, source, storedProfiles: storedProfiles), links: [link])
            }
            var chain = try walk(sourceName, storedProfiles: storedProfiles, visited: visited + [name])
            chain.links.append(link)
            return chain
        }
        if let named = section.credentialSource {
            let source: CredentialSource
            switch named {
            case "Environment": source = .environment
            case "Ec2InstanceMetadata": source = .instanceMetadata
            case "EcsContainer": source = .ecsContainer
            default: throw LatchkeyError.unknownCredentialSource(profile: name, value: named)
            }
            return Chain(source: source, links: [link])
        }
        if let tokenFile = section["web_identity_token_file"].flatMap(nonEmpty) {
            return Chain(
                source: .webIdentity(
                    .init(
                        profile: name, roleArn: roleArn,
                        tokenFile: ConfigLocations.expandTilde(tokenFile, home: home),
                        roleSessionName: section.roleSessionName ?? defaultRoleSessionName(),
                        cacheKey: cacheKey(name, "AssumeRoleWithWebIdentity", [roleArn, tokenFile]))),
                links: [])
        }
        if isTarget, nonEmpty(environment["AWS_ROLE_ARN"]) != nil {
            // AWS_ROLE_ARN on a profile without a source: the role is assumed with the profile's own
            // credentials, as aws-vault does.
            var own = section
            own.properties["role_arn"] = nil
            own.properties["role_session_name"] = nil
            return Chain(source: try base(name, own, storedProfiles: storedProfiles), links: [link])
        }
        throw LatchkeyError.roleWithoutSource(profile: name)
    }

    /// Where a profile without a role gets credentials.
    func base(_ name: String, _ section: ProfileSection, storedProfiles: Set<String>?) throws
        -> CredentialSource
    {
        if section["web_identity_token_file"].flatMap(nonEmpty) != nil {
            throw LatchkeyError.webIdentityWithoutRole(profile: name)
        }
        if let sso = try ssoSource(name, section) { return .sso(sso) }
        if section.accessKeyId != nil || section.secretAccessKey != nil {
            return try keys(name, section, storedProfiles: storedProfiles)
        }
        // botocore's order: keys, then login_session, then credential_process.
        if let login = loginSessionSource(name, section) { return .loginSession(login) }
        if let command = section.credentialProcess {
            return .credentialProcess(
                profile: name, command: command, cacheKey: cacheKey(name, "CredentialProcess", [command]))
        }
        return try keys(name, section, storedProfiles: storedProfiles)
    }

    /// Keys in the shared files, else the keyring.
    func keys(_ name: String, _ section: ProfileSection, storedProfiles: Set<String>?) throws
        -> CredentialSource
    {
        switch (section.accessKeyId, section.secretAccessKey) {
        case (.some(let id), .some(let secret)):
            return .staticKeys(
                profile: name,
                credentials: AWSCredentials(
                    accessKeyId: id, secretAccessKey: secret, sessionToken: section.sessionToken))
        case (.some, nil): throw LatchkeyError.partialKeys(profile: name, missing: "aws_secret_access_key")
        case (nil, .some): throw LatchkeyError.partialKeys(profile: name, missing: "aws_access_key_id")
        case (nil, nil):
            if let storedProfiles, !storedProfiles.contains(name) {
                throw LatchkeyError.noStoredCredentials(profile: name, backend: "keyring")
            }
            return .storedKey(profile: name)
        }
    }

    func ssoSource(_ name: String, _ section: ProfileSection) throws -> CredentialSource.SSOSource? {
        let accountId = section["sso_account_id"].flatMap(nonEmpty)
        let roleName = section["sso_role_name"].flatMap(nonEmpty)
        var startURL = section["sso_start_url"].flatMap(nonEmpty)
        var region = section["sso_region"].flatMap(nonEmpty)
        var scopes: [String] = []
        let sessionName = section.ssoSession
        if let sessionName {
            guard let session = config.ssoSession(sessionName) else {
                throw LatchkeyError.invalidSSOConfig(
                    profile: name,
                    problem:
                        "sso_session = \(sessionName) names no [sso-session \(sessionName)] section; add it or fix the name."
                )
            }
            if let own = region, let shared = session["sso_region"], own != shared {
                throw LatchkeyError.invalidSSOConfig(
                    profile: name,
                    problem: "sso_region belongs in [sso-session \(sessionName)]; remove it from the profile."
                )
            }
            if region != nil, session["sso_region"] == nil {
                throw LatchkeyError.invalidSSOConfig(
                    profile: name,
                    problem: "sso_region must be set in [sso-session \(sessionName)], not in the profile.")
            }
            startURL = session["sso_start_url"].flatMap(nonEmpty) ?? startURL
            region = session["sso_region"].flatMap(nonEmpty)
            scopes = (session["sso_registration_scopes"] ?? "").split(separator: ",")
                .map { $0.trimmingBlanks() }.filter { !$0.isEmpty }
        } else if startURL == nil, accountId == nil, roleName == nil {
            return nil
        }
        if roleName != nil, accountId == nil {
            throw LatchkeyError.invalidSSOConfig(
                profile: name, problem: "sso_role_name is set, so sso_account_id must be too.")
        }
        if accountId != nil, roleName == nil {
            throw LatchkeyError.invalidSSOConfig(
                profile: name, problem: "sso_account_id is set, so sso_role_name must be too.")
        }
        guard let startURL else {
            throw LatchkeyError.invalidSSOConfig(profile: name, problem: "sso_start_url is missing.")
        }
        guard let region else {
            throw LatchkeyError.invalidSSOConfig(profile: name, problem: "sso_region is missing.")
        }
        return .init(
            profile: name, sessionName: sessionName, startURL: startURL, region: region, accountId: accountId,
            roleName: roleName, registrationScopes: scopes.isEmpty ? ["sso:account:access"] : scopes,
            cacheKey: cacheKey(name, "SSO", [sessionName ?? "", startURL, accountId ?? "", roleName ?? ""]),
            oidcEndpoint: config.configuredEndpointURL(
                service: "SSO OIDC", profile: name, environment: environment),
            portalEndpoint: config.configuredEndpointURL(
                service: "SSO", profile: name, environment: environment))
    }

    // MARK: Steps: MFA, GetSessionToken, durations

    func addSteps(to plan: inout CredentialPlan, links: inout [RoleLink], request: CredentialRequest) throws {
        var fingerprint = sourceFingerprint(plan.source, sts: plan.sts)
        var usedDevice: String?
        var temporary = !plan.source.isLongLived

        if let keyProfile = plan.source.keyProfile, plan.source.isLongLived {
            let keySettings = try settings(keyProfile)
            if links.isEmpty {
                guard !request.noSession else {
                    plan.notes.append("--no-session: the stored long-lived key itself is handed out.")
                    return
                }
                // duration_seconds is the role session's length (AWS's meaning), never this one's.
                let duration =
                    try request.durationSeconds ?? envDuration("AWS_SESSION_TOKEN_TTL")
                    ?? STSDurationLimits.defaultSession
                try check(duration, STSDurationLimits.getSessionToken, "GetSessionToken")
                plan.steps.append(
                    step(
                        keyProfile, .getSessionToken, duration, mfa: keySettings.mfaSerial, covered: nil,
                        process: keySettings.mfaProcess, chained: false, fingerprint: &fingerprint))
                return
            }
            // Roles from a long-lived key: one GetSessionToken with MFA, cached and shared by every
            // role of this key, unless the first role wants more than the 1-hour chaining limit.
            let first = links[0]
            let firstMFA = first.settings.mfaSerial ?? keySettings.mfaSerial
            let firstDuration = try roleDuration(first, isTarget: links.count == 1, request: request)
            if let firstMFA, !request.noSession, firstDuration <= STSDurationLimits.roleChaining {
                let duration =
                    try envDuration("AWS_CHAINED_SESSION_TOKEN_TTL")
                    ?? STSDurationLimits.defaultChainedSession
                plan.steps.append(
                    step(
                        keyProfile, .getSessionToken, duration, mfa: firstMFA, covered: nil,
                        process: first.settings.mfaProcess ?? keySettings.mfaProcess, chained: false,
                        fingerprint: &fingerprint))
                plan.notes.append(
                    "The MFA code goes to GetSessionToken for '\(keyProfile)'; that session is cached and every role "
                        + "assumed from it reuses it without asking again.")
                usedDevice = firstMFA
                temporary = true
            } else if firstMFA != nil {
                plan.notes.append(
                    request.noSession
                        ? "--no-session: AssumeRole is called with the long-lived key and the MFA code."
                        : "The role session asked for is longer than 1 hour, so AssumeRole is called with the long-lived key "
                            + "and the MFA code directly (a session-based call would be capped at 1 hour).")
            }
        }

        for (index, link) in links.enumerated() {
            let isTarget = index == links.count - 1
            let duration = try roleDuration(link, isTarget: isTarget, request: request)
            if temporary, duration > STSDurationLimits.roleChaining {
                let reason =
                    index == 0 && plan.source.isLongLived
                    ? "it is assumed from a GetSessionToken session"
                    : "it is assumed with temporary credentials (\(index == 0 ? plan.source.operation : links[index - 1].profile))"
                throw LatchkeyError.chainedDurationTooLong(
                    profile: link.profile, seconds: duration, reason: reason)
            }
            try check(duration, STSDurationLimits.assumeRole, "AssumeRole")
            var device = link.settings.mfaSerial
            if index == 0, plan.source.isLongLived, device == nil, let keyProfile = plan.source.keyProfile {
                device = try settings(keyProfile).mfaSerial
            }
            let sends = device != nil && device != usedDevice
            plan.steps.append(
                step(
                    link.profile, .assumeRole(try roleSettings(link)), duration, mfa: sends ? device : nil,
                    covered: sends ? nil : (device != nil ? usedDevice : nil),
                    process: link.settings.mfaProcess,
                    chained: temporary, fingerprint: &fingerprint))
            if sends { usedDevice = device }
            temporary = true
        }
    }

    func step(
        _ profile: String, _ kind: PlanStep.Kind, _ duration: Int, mfa: String?, covered: String?,
        process: String?,
        chained: Bool, fingerprint: inout String
    ) -> PlanStep {
        let operation: String
        switch kind {
        case .getSessionToken:
            operation = "GetSessionToken"
            fingerprint = digest([fingerprint, operation, mfa ?? ""])
        case .assumeRole(let role):
            operation = "AssumeRole"
            let tags = role.sessionTags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            fingerprint = digest(
                [
                    fingerprint, operation, role.roleArn, role.roleSessionName, role.externalId ?? "",
                    mfa ?? covered ?? "",
                ]
                    + tags + role.transitiveTagKeys + [role.sourceIdentity ?? ""])
        }
        return PlanStep(
            profile: profile, kind: kind, durationSeconds: duration, mfaSerial: mfa, mfaCoveredBy: covered,
            mfaProcess: process, chained: chained,
            cacheKey: "session:\(profile):\(operation):\(fingerprint.prefix(12))")
    }

    func roleDuration(_ link: RoleLink, isTarget: Bool, request: CredentialRequest) throws -> Int {
        if isTarget, let requested = request.durationSeconds { return requested }
        return try link.settings.durationSeconds() ?? envDuration("AWS_ASSUME_ROLE_TTL")
            ?? STSDurationLimits.defaultRole
    }

    func roleSettings(_ link: RoleLink) throws -> PlanStep.RoleSettings {
        let section = link.settings
        var tags: [String: String] = [:]
        for pair in (section["session_tags"] ?? "").split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                $0.trimmingBlanks()
            }
            guard parts.count == 2, !parts[0].isEmpty else {
                throw LatchkeyError.invalidSetting(
                    profile: link.profile, key: "session_tags", value: section["session_tags"] ?? "",
                    expected: "comma-separated key=value pairs, such as `team=ops,env=dev`")
            }
            tags[parts[0]] = parts[1]
        }
        let transitive = (section["transitive_session_tags"] ?? "").split(separator: ",")
            .map { $0.trimmingBlanks() }.filter { !$0.isEmpty }
        return PlanStep.RoleSettings(
            roleArn: section.roleArn ?? "",
            roleSessionName: section.roleSessionName ?? defaultRoleSessionName(),
            externalId: section.externalId, sessionTags: tags, transitiveTagKeys: transitive,
            sourceIdentity: section["source_identity"].flatMap(nonEmpty))
    }

    func stsSettings(for name: String, target: ProfileSection) throws -> STSSettings {
        var settings = STSSettings()
        settings.endpoint = config.configuredEndpointURL(
            service: "sts", profile: name, environment: environment)
        settings.useFIPS = flag(environment["AWS_USE_FIPS_ENDPOINT"] ?? target["use_fips_endpoint"])
        settings.useDualStack = flag(
            environment["AWS_USE_DUALSTACK_ENDPOINT"] ?? target["use_dualstack_endpoint"])
        let regional = nonEmpty(environment["AWS_STS_REGIONAL_ENDPOINTS"]) ?? target["sts_regional_endpoints"]
        switch regional?.lowercased() {
        case nil, "regional": settings.useGlobalEndpoint = false
        case "legacy": settings.useGlobalEndpoint = true
        case .some(let other):
            throw LatchkeyError.invalidSetting(
                profile: name, key: "sts_regional_endpoints", value: other, expected: "regional or legacy")
        }
        return settings
    }

    // MARK: Helpers

    func check(_ seconds: Int, _ range: ClosedRange<Int>, _ operation: String) throws {
        guard range.contains(seconds) else {
            throw LatchkeyError.durationOutOfRange(seconds: seconds, operation: operation, range: range)
        }
    }

    func envDuration(_ name: String) throws -> Int? {
        try nonEmpty(environment[name]).map(parseDuration)
    }

    var home: String { UserFolders(environment: environment).home }

    /// `latchkey-<user>`, limited to what STS accepts in RoleSessionName.
    /// `latchkey-USER`, cut to the characters and length AWS accepts in a role session name.
    public func defaultRoleSessionName() -> String {
        let user = environment["USER"] ?? environment["LOGNAME"] ?? "user"
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@-_")
        let cleaned = String(user.filter { allowed.contains($0) }.prefix(55))
        return "latchkey-" + (cleaned.isEmpty ? "user" : cleaned)
    }

    func sourceFingerprint(_ source: CredentialSource, sts: STSSettings) -> String {
        let endpoint = [sts.endpoint ?? "", "\(sts.useFIPS)\(sts.useDualStack)\(sts.useGlobalEndpoint)"]
        switch source {
        case .storedKey(let profile): return digest(["stored", profile] + endpoint)
        case .staticKeys(let profile, let credentials):
            return digest(["static", profile, credentials.accessKeyId] + endpoint)
        case .environment: return digest(["environment", environment["AWS_ACCESS_KEY_ID"] ?? ""] + endpoint)
        case .instanceMetadata: return digest(["imds"] + endpoint)
        case .ecsContainer: return digest(["ecs"] + endpoint)
        case .webIdentity(let source): return digest([source.cacheKey] + endpoint)
        case .sso(let source): return digest([source.cacheKey] + endpoint)
        case .credentialProcess(_, _, let key): return digest([key] + endpoint)
        case .loginSession(let login): return digest(["login", login.identityArn] + endpoint)
        }
    }

    func cacheKey(_ profile: String, _ type: String, _ parts: [String]) -> String {
        "session:\(profile):\(type):\(digest(parts).prefix(12))"
    }
}

func digest(_ parts: [String]) -> String {
    // Lower-case hex by hand, not String(format:), which starts ICU on every warm run (issue 16).
    let digits = Array("0123456789abcdef".utf8)
    var hex: [UInt8] = []
    for byte in SHA256.hash(data: Data(parts.joined(separator: "\u{1F}").utf8)) {
        hex += [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
    }
    return String(decoding: hex, as: UTF8.self)
}

func flag(_ value: String?) -> Bool { value?.lowercased() == "true" }

func nonEmpty(_ value: String?) -> String? {
    guard let value, !value.isEmpty else { return nil }
    return value
}
