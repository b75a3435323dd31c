import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

public struct AssumeRoleRequest: Sendable, Equatable {
    public struct Tag: Sendable, Equatable {
        public var key: String
        public var value: String
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    public var roleArn: String
    public var roleSessionName: String
    public var durationSeconds: Int?
    public var externalId: String?
    public var serialNumber: String?
    public var tokenCode: String?
    public var sourceIdentity: String?
    public var tags: [Tag]
    public var transitiveTagKeys: [String]
    public var policy: String?
    public var policyArns: [String]

    public init(
        roleArn: String, roleSessionName: String, durationSeconds: Int? = nil, externalId: String? = nil,
        serialNumber: String? = nil, tokenCode: String? = nil, sourceIdentity: String? = nil,
        tags: [Tag] = [],
        transitiveTagKeys: [String] = [], policy: String? = nil, policyArns: [String] = []
    ) {
        self.roleArn = roleArn
        self.roleSessionName = roleSessionName
        self.durationSeconds = durationSeconds
        self.externalId = externalId
        self.serialNumber = serialNumber
        self.tokenCode = tokenCode
        self.sourceIdentity = sourceIdentity
        self.tags = tags
        self.transitiveTagKeys = transitiveTagKeys
        self.policy = policy
        self.policyArns = policyArns
    }

    /// Query-protocol parameters, lists flattened as `Name.member.N`.
    var parameters: [(String, String)] {
        var parameters: [(String, String)] = [("RoleArn", roleArn), ("RoleSessionName", roleSessionName)]
        if let durationSeconds { parameters.append(("DurationSeconds", String(durationSeconds))) }
        if let externalId { parameters.append(("ExternalId", externalId)) }
        if let policy { parameters.append(("Policy", policy)) }
        for (index, arn) in policyArns.enumerated() {
            parameters.append(("PolicyArns.member.\(index + 1).arn", arn))
        }
        if let serialNumber { parameters.append(("SerialNumber", serialNumber)) }
        if let tokenCode { parameters.append(("TokenCode", tokenCode)) }
        if let sourceIdentity { parameters.append(("SourceIdentity", sourceIdentity)) }
        for (index, tag) in tags.enumerated() {
            parameters.append(("Tags.member.\(index + 1).Key", tag.key))
            parameters.append(("Tags.member.\(index + 1).Value", tag.value))
        }
        for (index, key) in transitiveTagKeys.enumerated() {
            parameters.append(("TransitiveTagKeys.member.\(index + 1)", key))
        }
        return parameters
    }
}

public struct AssumeRoleResult: Sendable, Equatable {
    public var credentials: AWSCredentials
    /// `AROA...:session-name`
    public var assumedRoleId: String
    /// `arn:aws:sts::123456789012:assumed-role/Role/session-name`
    public var arn: String
    public var packedPolicySize: Int?
    public var sourceIdentity: String?

    public init(
        credentials: AWSCredentials, assumedRoleId: String, arn: String, packedPolicySize: Int? = nil,
        sourceIdentity: String? = nil
    ) {
        self.credentials = credentials
        self.assumedRoleId = assumedRoleId
        self.arn = arn
        self.packedPolicySize = packedPolicySize
        self.sourceIdentity = sourceIdentity
    }
}

public struct CallerIdentity: Sendable, Equatable {
    public var account: String
    public var arn: String
    public var userId: String

    public init(account: String, arn: String, userId: String) {
        self.account = account
        self.arn = arn
        self.userId = userId
    }
}

/// The STS operations latchkey needs, over the Query protocol (version 2011-06-15).
public struct STSClient: Sendable {
    let client: QueryProtocolClient

    /// The endpoint requests go to (an explicit `endpoint` wins over the resolved regional one).
    public var endpoint: URL { client.endpoint }
    /// The region requests are signed for.
    public var signingRegion: String { client.signingRegion }

    /// Throws `STSEndpoint.ResolutionError` when no endpoint can be derived from the region/options.
    /// With nil `credentials` requests go unsigned: only `assumeRoleWithWebIdentity` works then.
    public init(
        credentials: AWSCredentials?, region: String, endpoint: URL? = nil, transport: any HTTPTransport,
        retry: RetryPolicy = .standard, timeout: Duration = .seconds(10),
        now: @escaping @Sendable () -> Date = Date.init, useFIPS: Bool = false, useDualStack: Bool = false,
        useGlobalEndpoint: Bool = false
    ) throws {
        let resolved = try STSEndpoint.resolve(
            region: region, useFIPS: useFIPS, useDualStack: useDualStack,
            useGlobalEndpoint: useGlobalEndpoint,
            customEndpoint: endpoint)
        client = QueryProtocolClient(
            service: "sts", apiVersion: "2011-06-15", credentials: credentials, endpoint: resolved.url,
            signingRegion: resolved.signingRegion ?? region, transport: transport, retry: retry,
            timeout: timeout,
            now: now)
    }

    /// Temporary credentials for the calling IAM user, MFA-backed when `serialNumber`/`tokenCode` are given.
    public func getSessionToken(durationSeconds: Int?, serialNumber: String?, tokenCode: String?) async throws
        -> AWSCredentials
    {
        var parameters: [(String, String)] = []
        if let durationSeconds { parameters.append(("DurationSeconds", String(durationSeconds))) }
        if let serialNumber { parameters.append(("SerialNumber", serialNumber)) }
        if let tokenCode { parameters.append(("TokenCode", tokenCode)) }
        let result = try await client.call("GetSessionToken", parameters)
        return try reader("GetSessionToken").credentials(result)
    }

    public func assumeRole(_ request: AssumeRoleRequest) async throws -> AssumeRoleResult {
        let result = try await client.call("AssumeRole", request.parameters)
        let read = reader("AssumeRole")
        return AssumeRoleResult(
            credentials: try read.credentials(result),
            assumedRoleId: try read.string(result, "AssumedRoleUser", "AssumedRoleId"),
            arn: try read.string(result, "AssumedRoleUser", "Arn"),
            packedPolicySize: read.optionalString(result, "PackedPolicySize").flatMap { Int($0) },
            sourceIdentity: read.optionalString(result, "SourceIdentity"))
    }

    public func getCallerIdentity() async throws -> CallerIdentity {
        let result = try await client.call("GetCallerIdentity", [])
        let read = reader("GetCallerIdentity")
        return CallerIdentity(
            account: try read.string(result, "Account"), arn: try read.string(result, "Arn"),
            userId: try read.string(result, "UserId"))
    }

    /// Federated-user credentials (for console sign-in without a role); `name` is 2-32 characters.
    public func getFederationToken(
        name: String, durationSeconds: Int?, policy: String?, policyArns: [String] = []
    ) async throws
        -> AWSCredentials
    {
        var parameters: [(String, String)] = [("Name", name)]
        if let durationSeconds { parameters.append(("DurationSeconds", String(durationSeconds))) }
        if let policy { parameters.append(("Policy", policy)) }
        for (index, arn) in policyArns.enumerated() {
            parameters.append(("PolicyArns.member.\(index + 1).arn", arn))
        }
        let result = try await client.call("GetFederationToken", parameters)
        return try reader("GetFederationToken").credentials(result)
    }

    private func reader(_ operation: String) -> ResultReader {
        ResultReader(service: "sts", operation: operation)
    }
}
