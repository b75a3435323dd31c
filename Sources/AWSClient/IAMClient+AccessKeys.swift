import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An access key as IAM lists it (no secret).
public struct AccessKeyMetadata: Sendable, Equatable {
    public enum Status: String, Sendable, Equatable {
        case active = "Active"
        case inactive = "Inactive"
    }

    public var accessKeyId: String
    public var userName: String
    public var status: Status
    public var createDate: Date

    public init(accessKeyId: String, userName: String, status: Status, createDate: Date) {
        self.accessKeyId = accessKeyId
        self.userName = userName
        self.status = status
        self.createDate = createDate
    }
}

/// A new access key: the only time IAM ever returns its secret.
public struct NewAccessKey: Sendable, Equatable {
    public var metadata: AccessKeyMetadata
    public var credentials: AWSCredentials

    public init(metadata: AccessKeyMetadata, credentials: AWSCredentials) {
        self.metadata = metadata
        self.credentials = credentials
    }
}

/// The access-key lifecycle (IAM allows two keys per user). A nil `userName` means the caller's
/// own user, which IAM derives from the signing key.
extension IAMClient {
    public func listAccessKeys(userName: String?) async throws -> [AccessKeyMetadata] {
        try await pages(
            "ListAccessKeys", userName.map { [("UserName", $0)] } ?? [], list: "AccessKeyMetadata"
        ) {
            member, read in
            try accessKeyMetadata(member, read, defaultUser: userName)
        }
    }

    public func createAccessKey(userName: String?) async throws -> NewAccessKey {
        let result = try await client.call("CreateAccessKey", userName.map { [("UserName", $0)] } ?? [])
        let read = ResultReader(service: "iam", operation: "CreateAccessKey")
        guard let key = result.child("AccessKey") else {
            throw AWSClientError.invalidResponse(
                service: "iam", operation: "CreateAccessKey", httpStatus: 200,
                reason: "the field AccessKey is missing")
        }
        let metadata = try accessKeyMetadata(key, read, defaultUser: userName)
        return NewAccessKey(
            metadata: metadata,
            credentials: AWSCredentials(
                accessKeyId: metadata.accessKeyId, secretAccessKey: try read.string(key, "SecretAccessKey")))
    }

    public func deleteAccessKey(accessKeyId: String, userName: String?) async throws {
        var parameters = [("AccessKeyId", accessKeyId)]
        if let userName { parameters.append(("UserName", userName)) }
        _ = try await client.call("DeleteAccessKey", parameters)
    }

    public func updateAccessKey(accessKeyId: String, status: AccessKeyMetadata.Status, userName: String?)
        async throws
    {
        var parameters = [("AccessKeyId", accessKeyId), ("Status", status.rawValue)]
        if let userName { parameters.append(("UserName", userName)) }
        _ = try await client.call("UpdateAccessKey", parameters)
    }

    private func accessKeyMetadata(_ element: XMLReader.Element, _ read: ResultReader, defaultUser: String?)
        throws -> AccessKeyMetadata
    {
        let statusText = try read.string(element, "Status")
        guard let status = AccessKeyMetadata.Status(rawValue: statusText) else {
            throw AWSClientError.invalidResponse(
                service: "iam", operation: read.operation, httpStatus: 200,
                reason: "the key status '\(statusText)' is neither Active nor Inactive")
        }
        return AccessKeyMetadata(
            accessKeyId: try read.string(element, "AccessKeyId"),
            userName: read.optionalString(element, "UserName").flatMap { $0.isEmpty ? nil : $0 }
                ?? defaultUser
                ?? "",
            status: status, createDate: try read.date(element, "CreateDate"))
    }
}
