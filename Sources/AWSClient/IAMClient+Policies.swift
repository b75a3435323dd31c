#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

public struct IAMManagedPolicy: Sendable, Equatable {
    public var name: String
    public var arn: String
    public var defaultVersionId: String

    public init(name: String, arn: String, defaultVersionId: String) {
        self.name = name
        self.arn = arn
        self.defaultVersionId = defaultVersionId
    }
}

public struct IAMPolicyVersion: Sendable, Equatable {
    public var versionId: String
    public var isDefault: Bool
    public var createDate: Date?
    /// The JSON document, URL-decoded; only GetPolicyVersion returns it.
    public var document: String?

    public init(versionId: String, isDefault: Bool, createDate: Date?, document: String? = nil) {
        self.versionId = versionId
        self.isDefault = isDefault
        self.createDate = createDate
        self.document = document
    }
}

extension IAMClient {
    public func createPolicy(name: String, document: String, description: String? = nil) async throws
        -> IAMManagedPolicy
    {
        var parameters = [("PolicyName", name), ("PolicyDocument", document)]
        if let description { parameters.append(("Description", description)) }
        let result = try await client.call("CreatePolicy", parameters)
        return try Self.policy(result, operation: "CreatePolicy")
    }

    /// The policy, or `NoSuchEntity` when there is none at that ARN.
    public func getPolicy(arn: String) async throws -> IAMManagedPolicy {
        let result = try await client.call("GetPolicy", [("PolicyArn", arn)])
        return try Self.policy(result, operation: "GetPolicy")
    }

    public func getPolicyVersion(arn: String, versionId: String) async throws -> IAMPolicyVersion {
        let result = try await client.call(
            "GetPolicyVersion", [("PolicyArn", arn), ("VersionId", versionId)])
        let version = try Self.version(result.child("PolicyVersion"), operation: "GetPolicyVersion")
        return version
    }

    /// Adds a version; with `setAsDefault` it becomes the one in force. IAM keeps at most five.
    public func createPolicyVersion(arn: String, document: String, setAsDefault: Bool) async throws
        -> IAMPolicyVersion
    {
        let result = try await client.call(
            "CreatePolicyVersion",
            [
                ("PolicyArn", arn), ("PolicyDocument", document),
                ("SetAsDefault", setAsDefault ? "true" : "false"),
            ])
        return try Self.version(result.child("PolicyVersion"), operation: "CreatePolicyVersion")
    }

    public func listPolicyVersions(arn: String) async throws -> [IAMPolicyVersion] {
        try await pages("ListPolicyVersions", [("PolicyArn", arn)], list: "Versions") { member, _ in
            try Self.version(member, operation: "ListPolicyVersions")
        }
    }

    /// Deletes a non-default version (`DeleteConflict` for the default one).
    public func deletePolicyVersion(arn: String, versionId: String) async throws {
        _ = try await client.call("DeletePolicyVersion", [("PolicyArn", arn), ("VersionId", versionId)])
    }

    public func putUserPermissionsBoundary(userName: String, policyArn: String) async throws {
        _ = try await client.call(
            "PutUserPermissionsBoundary", [("UserName", userName), ("PermissionsBoundary", policyArn)])
    }

    /// The ARN of the user's permissions boundary (the caller when nil), or nil when none is set.
    public func userPermissionsBoundary(userName: String?) async throws -> String? {
        let result = try await client.call("GetUser", userName.map { [("UserName", $0)] } ?? [])
        let arn = result["User", "PermissionsBoundary", "PermissionsBoundaryArn"]?.trimmedText
        return arn?.isEmpty == false ? arn : nil
    }

    static func policy(_ result: XMLReader.Element, operation: String) throws -> IAMManagedPolicy {
        let read = ResultReader(service: "iam", operation: operation)
        return IAMManagedPolicy(
            name: try read.string(result, "Policy", "PolicyName"),
            arn: try read.string(result, "Policy", "Arn"),
            defaultVersionId: try read.string(result, "Policy", "DefaultVersionId"))
    }

    static func version(_ element: XMLReader.Element?, operation: String) throws -> IAMPolicyVersion {
        let read = ResultReader(service: "iam", operation: operation)
        let element = element ?? XMLReader.Element(name: "PolicyVersion")
        let document = read.optionalString(element, "Document").map { text in
            // IAM returns documents URL-encoded (RFC 3986); a document already in JSON stays as it is.
            text.hasPrefix("{") ? text : (text.percentDecoded ?? text)
        }
        return IAMPolicyVersion(
            versionId: try read.string(element, "VersionId"),
            isDefault: read.optionalString(element, "IsDefaultVersion") == "true",
            createDate: read.optionalString(element, "CreateDate").flatMap(Timestamps.iso8601),
            document: document)
    }
}
