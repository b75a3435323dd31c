import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

public struct IAMUser: Sendable, Equatable {
    public var userName: String
    public var userId: String
    public var arn: String
    public var createDate: Date
    public var path: String?

    public init(userName: String, userId: String, arn: String, createDate: Date, path: String? = nil) {
        self.userName = userName
        self.userId = userId
        self.arn = arn
        self.createDate = createDate
        self.path = path
    }
}

/// The IAM operations latchkey needs (Query protocol, version 2010-05-08).
///
/// IAM is a global service: `https://iam.amazonaws.com` signed for `us-east-1` in the aws
/// partition (`iam.us-gov.amazonaws.com`/`us-gov-west-1`, `iam.cn-north-1.amazonaws.com.cn`/`cn-north-1`
/// elsewhere). An explicit `endpoint` signs with `region`.
public struct IAMClient: Sendable {
    let client: QueryProtocolClient

    public var endpoint: URL { client.endpoint }
    public var signingRegion: String { client.signingRegion }

    public init(
        credentials: AWSCredentials, region: String, endpoint: URL? = nil, transport: any HTTPTransport,
        retry: RetryPolicy = .standard, timeout: Duration = .seconds(10),
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        let (url, signingRegion) = endpoint.map { ($0, region) } ?? Self.globalEndpoint(region: region)
        client = QueryProtocolClient(
            service: "iam", apiVersion: "2010-05-08", credentials: credentials, endpoint: url,
            signingRegion: signingRegion, transport: transport, retry: retry, timeout: timeout, now: now)
    }

    static func globalEndpoint(region: String) -> (URL, String) {
        let text: String
        let signingRegion: String
        switch Partition.of(region).name {
        case "aws-cn": (text, signingRegion) = ("https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1")
        case "aws-us-gov": (text, signingRegion) = ("https://iam.us-gov.amazonaws.com", "us-gov-west-1")
        default: (text, signingRegion) = ("https://iam.amazonaws.com", "us-east-1")
        }
        return (URL(string: text) ?? URL(fileURLWithPath: "/"), signingRegion)
    }

    /// The named user, or the caller when `userName` is nil.
    public func getUser(userName: String?) async throws -> IAMUser {
        let result = try await client.call("GetUser", userName.map { [("UserName", $0)] } ?? [])
        let read = ResultReader(service: "iam", operation: "GetUser")
        return IAMUser(
            userName: try read.string(result, "User", "UserName"),
            userId: try read.string(result, "User", "UserId"),
            arn: try read.string(result, "User", "Arn"),
            createDate: try read.date(result, "User", "CreateDate"),
            path: read.optionalString(result, "User", "Path"))
    }
}
