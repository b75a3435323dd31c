import AWSClient
import AWSConfig
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import SystemSupport

/// A session narrowed with session policies (`--policy`, `--policy-arn`, `--read-only`, or the
/// profile's `latchkey_session_policy_file`, `latchkey_session_policy_arns`, `latchkey_read_only`).
/// AWS gives the session the intersection of the role's permissions and these policies. It is
/// sent on the last call of the chain only, and only where AWS takes a session policy there
/// (AssumeRole, AssumeRoleWithWebIdentity); anywhere else latchkey refuses rather than hand out
/// an unscoped session.
public struct SessionScope: Sendable, Equatable, Encodable {
    /// AWS's limit on a session policy's plain text (inline and managed ARNs together are also
    /// limited in packed form; AWS reports that one itself as PackedPolicyTooLarge).
    public static let maximumPolicyCharacters = 2048
    /// AWS takes at most this many managed policy ARNs as session policies.
    public static let maximumPolicyArns = 10

    /// The session policy document as sent (`Policy`): the file's JSON without the spaces between tokens.
    public var policy: String?
    /// Where `policy` came from, for messages and `explain`.
    public var policyFile: String?
    /// Every managed policy ARN sent (`PolicyArns.member.N.arn`), ReadOnlyAccess included.
    public var policyArns: [String]
    /// `--read-only` / `latchkey_read_only = true`: AWS's ReadOnlyAccess managed policy.
    public var readOnly: Bool
    /// "the command line" or "profile 'NAME'".
    public var origin: String

    /// `LATCHKEY_SESSION_SCOPE` in `exec`'s child: comma-separated, in this order, `read-only`,
    /// `policy` (an inline document), `policy-arns:N` (N managed policies besides ReadOnlyAccess).
    public var label: String {
        var parts: [String] = []
        if readOnly { parts.append("read-only") }
        if policy != nil { parts.append("policy") }
        let others = policyArns.count - (readOnly ? 1 : 0)
        if others > 0 { parts.append("policy-arns:\(others)") }
        return parts.joined(separator: ",")
    }

    /// What makes a scoped session different from any other, for the cache key.
    var fingerprintParts: [String] {
        ["scope", policy ?? "", readOnly ? "read-only" : ""] + policyArns.sorted()
    }

    enum CodingKeys: String, CodingKey {
        case policyFile, policyArns, readOnly, origin, label
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(label, forKey: .label)
        try container.encode(origin, forKey: .origin)
        try container.encode(readOnly, forKey: .readOnly)
        try container.encode(policyArns, forKey: .policyArns)
        try container.encodeIfPresent(policyFile, forKey: .policyFile)
    }

    /// AWS's ReadOnlyAccess managed policy in a partition.
    public static func readOnlyAccessArn(partition: String) -> String {
        "arn:\(partition):iam::aws:policy/ReadOnlyAccess"
    }

    /// An IAM managed policy ARN: `arn:PARTITION:iam::ACCOUNT|aws:policy/[PATH/]NAME`.
    public static func isPolicyArn(_ text: String) -> Bool {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard text.count >= 20, text.count <= 2048, parts.count == 6, parts[0] == "arn",
            parts[1] == "aws" || parts[1].hasPrefix("aws-"), parts[2] == "iam", parts[3].isEmpty,
            parts[4] == "aws" || (parts[4].count == 12 && parts[4].allSatisfy(\.isNumber)),
            parts[5].hasPrefix("policy/")
        else { return false }
        let name = parts[5].dropFirst("policy/".count)
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@-_/")
        return !name.isEmpty && !name.hasSuffix("/") && name.allSatisfy { allowed.contains($0) }
    }

    /// Reads and checks a session policy file: JSON, a policy document, within AWS's size limit.
    /// Returns the document with the spaces between tokens removed (they count against the limit).
    public static func policyDocument(file: String, data: Data) throws(SessionScopeError) -> String {
        guard let text = String(data: data, encoding: .utf8) else {
            throw .badPolicyFile(file: file, problem: "it is not UTF-8 text")
        }
        let compact = compactJSON(text)
        guard let parsed = JSONValue(parsing: Data(compact.utf8)) else {
            throw .badPolicyFile(file: file, problem: "it is not valid JSON")
        }
        guard parsed["Statement"] != nil else {
            throw .badPolicyFile(
                file: file, problem: "it is JSON but not a policy document (an object with a \"Statement\")")
        }
        // AWS takes tab, line feed, carriage return and U+0020 through U+00FF.
        if let bad = compact.unicodeScalars.first(where: { !($0.value >= 0x20 && $0.value <= 0xFF) }) {
            throw .badPolicyFile(
                file: file,
                problem: "it contains U+\(uppercaseHex(bad.value)), and AWS takes only U+0020 through U+00FF")
        }
        guard compact.count <= maximumPolicyCharacters else {
            throw .policyTooLong(file: file, characters: compact.count)
        }
        return compact
    }

    /// JSON without the whitespace between tokens (strings are kept exactly).
    static func compactJSON(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.count)
        var inString = false
        var escaped = false
        for character in text {
            if inString {
                result.append(character)
                if escaped {
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    inString = false
                }
            } else if character == "\"" {
                inString = true
                result.append(character)
            } else if !(character == " " || character == "\t" || character == "\n" || character == "\r"
                || character == "\r\n")
            {
                result.append(character)
            }
        }
        return result
    }
}

/// What the command line asked for (flags), before any file is read. Any of them replaces the
/// profile's scope as a whole.
public struct ScopeRequest: Sendable, Equatable {
    public var policyFile: String?
    public var policyArns: [String]
    public var readOnly: Bool
    /// Plans made to manage a profile (rotate, sso login) rather than hand out its session.
    public var ignoresProfile = false

    public init(policyFile: String? = nil, policyArns: [String] = [], readOnly: Bool = false) {
        self.policyFile = policyFile
        self.policyArns = policyArns
        self.readOnly = readOnly
    }

    /// No scope at all, whatever the profile says: for commands that manage a profile's key or
    /// sign-in rather than hand out its session.
    public static var unscoped: ScopeRequest {
        var request = ScopeRequest()
        request.ignoresProfile = true
        return request
    }

    public var isEmpty: Bool { policyFile == nil && policyArns.isEmpty && !readOnly }
}

public enum SessionScopeError: Error, CustomStringConvertible, Sendable {
    /// `cause` is the read's own error.
    case unreadablePolicyFile(file: String, cause: any Error)
    case badPolicyFile(file: String, problem: String)
    case policyTooLong(file: String, characters: Int)
    case badPolicyArn(arn: String, origin: String)
    case tooManyPolicyArns(count: Int, origin: String)
    /// The last call of the chain takes no session policy.
    case notScopable(profile: String, scope: String, operation: String, reason: String, advice: String)

    public var description: String {
        switch self {
        case .unreadablePolicyFile(let file, let cause):
            return
                "the session policy file \(file) cannot be read (\(readFailureReason(cause))); check the path."
        case .badPolicyFile(let file, let problem):
            return "the session policy file \(file) cannot be used: \(problem); "
                + "write a policy document such as {\"Version\":\"2012-10-17\",\"Statement\":[...]}."
        case .policyTooLong(let file, let characters):
            return
                "the session policy in \(file) is \(characters) characters without spaces, and AWS takes at "
                + "most \(SessionScope.maximumPolicyCharacters); shorten it, or make it a managed policy and "
                + "pass --policy-arn instead."
        case .badPolicyArn(let arn, let origin):
            return "'\(arn)' (from \(origin)) is not an IAM managed policy ARN; write it as "
                + "arn:aws:iam::ACCOUNT:policy/NAME (or arn:aws:iam::aws:policy/NAME for AWS's own)."
        case .tooManyPolicyArns(let count, let origin):
            return
                "\(origin) asks for \(count) managed session policies (--read-only counts as one), and AWS "
                + "takes at most \(SessionScope.maximumPolicyArns); combine some of them."
        case .notScopable(let profile, let scope, let operation, let reason, let advice):
            return
                "profile '\(profile)' is to be scoped (\(scope)), but its session comes from \(operation), "
                + "\(reason), so latchkey will not hand out an unscoped session instead. \(advice)"
        }
    }
}

extension ProfileResolver {
    /// Latchkey's own profile keys for a scoped session.
    static let scopeKeys = [
        "latchkey_session_policy_file", "latchkey_session_policy_arns", "latchkey_read_only",
    ]

    /// The scope asked for (flags, else the requested profile's keys), read and checked, and
    /// applied to the plan's last call: it joins that call's cache key, or the plan is refused.
    func applyScope(to plan: inout CredentialPlan, request: CredentialRequest) throws {
        guard let scope = try scope(for: plan, request: request) else { return }
        let operation = plan.operationName
        if let last = plan.steps.indices.last {
            guard case .assumeRole = plan.steps[last].kind else {
                throw notScopable(plan, scope, operation: operation)
            }
            let step = plan.steps[last]
            plan.steps[last].cacheKey = scopedKey(step.cacheKey, step.profile, step.operation, scope)
        } else if case .webIdentity(var web) = plan.source {
            web.cacheKey = scopedKey(web.cacheKey, web.profile, operation, scope)
            plan.source = .webIdentity(web)
        } else {
            throw notScopable(plan, scope, operation: operation)
        }
        plan.scope = scope
        var sent: [String] = []
        if let file = scope.policyFile { sent.append("Policy from \(file)") }
        if !scope.policyArns.isEmpty { sent.append("PolicyArns \(scope.policyArns.joined(separator: ", "))") }
        plan.notes.append(
            "The session is scoped (\(scope.label), from \(scope.origin)): \(operation) gets "
                + sent.joined(separator: " and ") + "; it is cached apart from an unscoped one.")
    }

    /// The unscoped key's form, with the scope folded into its fingerprint.
    func scopedKey(_ key: String, _ profile: String, _ operation: String, _ scope: SessionScope) -> String {
        return "session:\(profile):\(operation):\(digest([key] + scope.fingerprintParts).prefix(12))"
    }

    func scope(for plan: CredentialPlan, request: CredentialRequest) throws -> SessionScope? {
        let flags = request.scope
        var file: String?
        var arns: [String]
        var readOnly: Bool
        let origin: String
        if !flags.isEmpty {
            origin = "the command line"
            file = flags.policyFile.map { ConfigLocations.expandTilde($0, home: home) }
            arns = flags.policyArns
            readOnly = flags.readOnly
        } else {
            if flags.ignoresProfile { return nil }
            let section = try settings(plan.profile, isTarget: true)
            origin = "profile '\(plan.profile)'"
            file = section["latchkey_session_policy_file"].flatMap(nonEmpty).map(configRelativePath)
            arns = (section["latchkey_session_policy_arns"] ?? "").split(separator: ",")
                .map { $0.trimmingBlanks() }.filter { !$0.isEmpty }
            switch section["latchkey_read_only"]?.lowercased() {
            case nil, "", "false": readOnly = false
            case "true": readOnly = true
            case .some(let other):
                throw LatchkeyError.invalidSetting(
                    profile: plan.profile, key: "latchkey_read_only", value: other, expected: "true or false")
            }
            if file == nil, arns.isEmpty, !readOnly { return nil }
        }
        for arn in arns where !SessionScope.isPolicyArn(arn) {
            throw SessionScopeError.badPolicyArn(arn: arn, origin: origin)
        }
        if readOnly {
            arns.insert(SessionScope.readOnlyAccessArn(partition: partition(of: plan)), at: 0)
        }
        var unique: [String] = []
        for arn in arns where !unique.contains(arn) { unique.append(arn) }
        guard unique.count <= SessionScope.maximumPolicyArns else {
            throw SessionScopeError.tooManyPolicyArns(count: unique.count, origin: origin)
        }
        var document: String?
        if let file {
            let data: Data
            do {
                data = try readFile(file)
            } catch {
                throw SessionScopeError.unreadablePolicyFile(file: file, cause: error)
            }
            document = try SessionScope.policyDocument(file: file, data: data)
        }
        return SessionScope(
            policy: document, policyFile: file, policyArns: unique, readOnly: readOnly, origin: origin)
    }

    /// The partition of the role the scope goes to, else of the region STS is called in.
    func partition(of plan: CredentialPlan) -> String {
        var roleArn: String?
        if let last = plan.steps.last, case .assumeRole(let role) = last.kind { roleArn = role.roleArn }
        if case .webIdentity(let web) = plan.source, plan.steps.isEmpty { roleArn = web.roleArn }
        let parts = roleArn?.split(separator: ":", omittingEmptySubsequences: false) ?? []
        if parts.count > 2, parts[0] == "arn", parts[1] == "aws" || parts[1].hasPrefix("aws-") {
            return String(parts[1])
        }
        return STSEndpoint.partition(ofRegion: plan.region ?? "us-east-1")
    }

    /// `~` is the home folder; a relative path is relative to the config file's folder.
    func configRelativePath(_ path: String) -> String {
        let expanded = ConfigLocations.expandTilde(path, home: home)
        guard !expanded.hasPrefix("/") else { return expanded }
        return URL(fileURLWithPath: configFile).deletingLastPathComponent().appendingPathComponent(expanded)
            .path
    }

    func notScopable(_ plan: CredentialPlan, _ scope: SessionScope, operation: String) -> SessionScopeError {
        let reason: String
        switch (plan.steps.last?.kind, plan.source) {
        case (.getSessionToken?, _):
            reason = "and AWS's GetSessionToken takes no session policy"
        case (_, .sso):
            reason = "and IAM Identity Center's GetRoleCredentials takes no session policy"
        case (_, .storedKey), (_, .staticKeys):
            reason =
                "a long-lived key, which no session policy can narrow (and --no-session asks for the key itself)"
        case (_, .credentialProcess):
            reason = "a program's output, which latchkey cannot narrow"
        default:
            reason = "credentials latchkey receives as they are and cannot narrow"
        }
        let advice =
            "Scope a role instead: a profile with role_arn and source_profile = \(plan.profile) "
            + "(or credential_source), with the scope flags or keys on that profile."
        return .notScopable(
            profile: plan.profile, scope: scope.label, operation: operation, reason: reason, advice: advice)
    }
}

/// At least four upper-case hex digits, as `String(format: "%04X")`.
private func uppercaseHex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}

/// Why a policy file could not be read, in the system's words when it gave an errno: the final
/// rendering of the read's error, for `SessionScopeError.description` only.
private func readFailureReason(_ error: any Error) -> String {
    if let cocoa = error as? CocoaError, let posix = cocoa.userInfo["NSUnderlyingError"] as? POSIXError {
        return String(cString: strerror(posix.code.rawValue))
    }
    return "\(error)"
}
