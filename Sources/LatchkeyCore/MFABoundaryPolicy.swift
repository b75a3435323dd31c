import AWSClient
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// The MFA-required permissions boundary: everything is allowed only in a session that used
/// MFA, except what a user needs to enrol their first device on their own.
public enum MFABoundaryPolicy {
    public static let defaultName = "LatchkeyMFARequired"

    /// What a user without MFA may still do (all of it scoped to themselves below).
    public static let selfServiceActions = [
        "iam:CreateVirtualMFADevice", "iam:DeleteVirtualMFADevice", "iam:EnableMFADevice",
        "iam:ResyncMFADevice", "iam:ListMFADevices", "iam:ListVirtualMFADevices", "iam:GetUser",
        "iam:ChangePassword", "iam:GetAccountPasswordPolicy", "sts:GetSessionToken",
    ]

    static let ownDeviceActions = ["iam:CreateVirtualMFADevice", "iam:DeleteVirtualMFADevice"]
    static let ownUserActions = [
        "iam:EnableMFADevice", "iam:ResyncMFADevice", "iam:ListMFADevices", "iam:GetUser",
        "iam:ChangePassword",
    ]

    static var withoutMFA: JSONValue {
        ["BoolIfExists": ["aws:MultiFactorAuthPresent": "false"]]
    }

    static func list(_ actions: [String]) -> JSONValue { .array(actions.map { .string($0) }) }

    /// The document as IAM stores it: a boundary allows at most what it allows, so the first
    /// statement allows everything and the denies take away what needs MFA.
    public static var document: String { render(pretty: true) }

    /// The same without whitespace: what is sent to IAM (some form parsers re-encode spaces as `+`).
    public static var compactDocument: String { render(pretty: false) }

    static func render(pretty: Bool) -> String {
        let statements: [JSONValue] = [
            [
                "Sid": "AllowEverythingTheIdentityPolicyAllows", "Effect": "Allow", "Action": "*",
                "Resource": "*",
            ],
            [
                "Sid": "DenyAllButSelfServiceWithoutMFA", "Effect": "Deny",
                "NotAction": list(selfServiceActions),
                "Resource": "*", "Condition": withoutMFA,
            ],
            [
                "Sid": "DenyOtherMFADevicesWithoutMFA", "Effect": "Deny", "Action": list(ownDeviceActions),
                "NotResource": "arn:aws:iam::*:mfa/${aws:username}", "Condition": withoutMFA,
            ],
            [
                "Sid": "DenyOtherUsersWithoutMFA", "Effect": "Deny", "Action": list(ownUserActions),
                "NotResource": "arn:aws:iam::*:user/${aws:username}", "Condition": withoutMFA,
            ],
        ]
        let policy: JSONValue = ["Version": "2012-10-17", "Statement": .array(statements)]
        let data = (try? policy.encoded(prettyPrinted: pretty, escapingSlashes: false)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Whether two policy documents say the same (key order and spacing aside).
    public static func sameDocument(_ a: String, _ b: String) -> Bool {
        func canonical(_ text: String) -> Data? {
            guard let value = JSONValue(parsing: Data(text.utf8)) else { return nil }
            return try? value.encoded()
        }
        guard let left = canonical(a), let right = canonical(b) else { return false }
        return left == right
    }
}

public enum BoundaryError: Error, CustomStringConvertible, Sendable, Equatable {
    case userHasNoMFA(user: String)
    case permissionDenied(action: String, profile: String, detail: String)

    public var description: String {
        switch self {
        case .userHasNoMFA(let user):
            return "user '\(user)' has no MFA device, and the boundary would lock them out of everything "
                + "but enrolling one; have them run `latchkey mfa enroll` first, or pass --force if that is "
                + "what you want (they can still enrol under the boundary)."
        case .permissionDenied(let action, let profile, let detail):
            return "profile '\(profile)' is not allowed to call \(action) (\(detail)); "
                + "use an administrator's profile with --profile."
        }
    }
}

/// What `policy apply` did.
public struct BoundaryApplication: Sendable, Equatable {
    public enum PolicyChange: Sendable, Equatable {
        case created
        case unchanged
        /// A new default version; `pruned` are the old versions deleted to stay within IAM's five.
        case updated(version: String, pruned: [String])
    }

    public var policyArn: String
    public var policy: PolicyChange
    /// False when the user already had this boundary.
    public var boundarySet: Bool
}

/// Creates or updates the boundary policy and sets it on a user, idempotently.
public struct BoundaryApplier: IAMWorkflow, Sendable {
    public let iam: IAMClient
    public let adminProfile: String

    public init(iam: IAMClient, adminProfile: String) {
        self.iam = iam
        self.adminProfile = adminProfile
    }

    public func apply(
        userName: String, policyName: String = MFABoundaryPolicy.defaultName, force: Bool,
        document: String = MFABoundaryPolicy.compactDocument
    ) async throws -> BoundaryApplication {
        let user = try await call("GetUser") { try await iam.getUser(userName: userName) }
        if !force {
            let devices = try await call("ListMFADevices") {
                try await iam.listMFADevices(userName: userName)
            }
            guard !devices.isEmpty else { throw BoundaryError.userHasNoMFA(user: userName) }
        }
        let partition = user.arn.split(separator: ":").dropFirst().first.map(String.init) ?? "aws"
        let arn = "arn:\(partition):iam::\(accountId(fromARN: user.arn) ?? ""):policy/\(policyName)"
        let change = try await upsertPolicy(arn: arn, name: policyName, document: document)
        let current = try await call("GetUser") { try await iam.userPermissionsBoundary(userName: userName) }
        var boundarySet = false
        if current != arn {
            try await call("PutUserPermissionsBoundary") {
                try await iam.putUserPermissionsBoundary(userName: userName, policyArn: arn)
            }
            boundarySet = true
        }
        return BoundaryApplication(policyArn: arn, policy: change, boundarySet: boundarySet)
    }

    func upsertPolicy(arn: String, name: String, document: String) async throws
        -> BoundaryApplication.PolicyChange
    {
        let existing: IAMManagedPolicy
        do {
            existing = try await iam.getPolicy(arn: arn)
        } catch let error as AWSClientError where error.serviceError?.code == "NoSuchEntity" {
            _ = try await call("CreatePolicy") {
                try await iam.createPolicy(name: name, document: document)
            }
            return .created
        } catch {
            throw translated(error, operation: "GetPolicy")
        }
        let current = try await call("GetPolicyVersion") {
            try await iam.getPolicyVersion(arn: arn, versionId: existing.defaultVersionId)
        }
        if let text = current.document, MFABoundaryPolicy.sameDocument(text, document) { return .unchanged }
        // IAM keeps five versions: drop the oldest non-default ones to make room for one more.
        let versions = try await call("ListPolicyVersions") { try await iam.listPolicyVersions(arn: arn) }
        let removable = versions.filter { !$0.isDefault }.sorted {
            ($0.createDate ?? .distantPast, $0.versionId) < ($1.createDate ?? .distantPast, $1.versionId)
        }
        var pruned: [String] = []
        for version in removable.prefix(max(0, versions.count - 4)) {
            try await call("DeletePolicyVersion") {
                try await iam.deletePolicyVersion(arn: arn, versionId: version.versionId)
            }
            pruned.append(version.versionId)
        }
        let created = try await call("CreatePolicyVersion") {
            try await iam.createPolicyVersion(arn: arn, document: document, setAsDefault: true)
        }
        return .updated(version: created.versionId, pruned: pruned)
    }

    func permissionDenied(action: String, code: String) -> any Error {
        BoundaryError.permissionDenied(action: action, profile: adminProfile, detail: code)
    }
}
