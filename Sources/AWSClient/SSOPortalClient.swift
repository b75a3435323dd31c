import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

public struct SSOAccount: Sendable, Equatable {
    public var accountId: String
    public var accountName: String?
    public var emailAddress: String?

    public init(accountId: String, accountName: String? = nil, emailAddress: String? = nil) {
        self.accountId = accountId
        self.accountName = accountName
        self.emailAddress = emailAddress
    }
}

public struct SSORole: Sendable, Equatable {
    public var accountId: String
    public var roleName: String

    public init(accountId: String, roleName: String) {
        self.accountId = accountId
        self.roleName = roleName
    }
}

/// One page of a paginated portal listing; `nextToken` is nil on the last page.
public struct SSOPage<Item: Sendable & Equatable>: Sendable, Equatable {
    public var items: [Item]
    public var nextToken: String?

    public init(items: [Item], nextToken: String? = nil) {
        self.items = items
        self.nextToken = nextToken
    }
}

/// The IAM Identity Center portal (`sso`, 2019-06-10): REST-JSON, authorised by the access
/// token in `x-amz-sso_bearer_token` rather than a signature.
public struct SSOPortalClient: Sendable {
    private let client: JSONProtocolClient

    public var endpoint: URL { client.endpoint }

    static let bearerHeader = "x-amz-sso_bearer_token"

    /// `endpoint` overrides the regional `https://portal.sso.REGION.amazonaws.com` (and FIPS/dual-stack).
    public init(
        region: String, endpoint: URL? = nil, useFIPS: Bool = false, useDualStack: Bool = false,
        transport: any HTTPTransport, retry: RetryPolicy = .standard, timeout: Duration = .seconds(10)
    ) throws(SSOEndpoint.ResolutionError) {
        let url = try SSOEndpoint.url(
            endpoint, prefix: "portal.sso", region: region, useFIPS: useFIPS, useDualStack: useDualStack)
        client = JSONProtocolClient(
            service: "sso", endpoint: url, transport: transport, retry: retry, timeout: timeout)
    }

    private struct RoleCredentialsAnswer: Decodable {
        struct RoleCredentials: Decodable {
            var accessKeyId: String
            var secretAccessKey: String
            var sessionToken: String
            /// Epoch milliseconds.
            var expiration: Int64
        }
        var roleCredentials: RoleCredentials
    }

    /// `GetRoleCredentials`: short-term credentials for `roleName` in `accountId`.
    /// Errors: `UnauthorizedException` (the access token expired or was revoked: sign in again),
    /// `ResourceNotFoundException` (no such assignment), `TooManyRequestsException` (retried).
    public func getRoleCredentials(accountId: String, roleName: String, accessToken: String) async throws
        -> AWSCredentials
    {
        let answer = try await client.call(
            "GetRoleCredentials", method: "GET", path: "/federation/credentials",
            query: [("role_name", roleName), ("account_id", accountId)],
            headers: [Self.bearerHeader: accessToken], as: RoleCredentialsAnswer.self)
        let credentials = answer.roleCredentials
        return AWSCredentials(
            accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey,
            sessionToken: credentials.sessionToken,
            expiration: Date(timeIntervalSince1970: Double(credentials.expiration) / 1000))
    }

    private struct AccountsAnswer: Decodable {
        struct Account: Decodable {
            var accountId: String
            var accountName: String?
            var emailAddress: String?
        }
        var accountList: [Account]?
        var nextToken: String?
    }

    /// One page of `ListAccounts`.
    public func listAccounts(accessToken: String, nextToken: String? = nil, maxResults: Int? = nil)
        async throws
        -> SSOPage<SSOAccount>
    {
        let answer = try await client.call(
            "ListAccounts", method: "GET", path: "/assignment/accounts",
            query: Self.pagination(nextToken, maxResults), headers: [Self.bearerHeader: accessToken],
            as: AccountsAnswer.self)
        let accounts = (answer.accountList ?? []).map {
            SSOAccount(accountId: $0.accountId, accountName: $0.accountName, emailAddress: $0.emailAddress)
        }
        return SSOPage(items: accounts, nextToken: Self.nonEmpty(answer.nextToken))
    }

    private struct RolesAnswer: Decodable {
        struct Role: Decodable {
            var accountId: String?
            var roleName: String
        }
        var roleList: [Role]?
        var nextToken: String?
    }

    /// One page of `ListAccountRoles`.
    public func listAccountRoles(
        accountId: String, accessToken: String, nextToken: String? = nil, maxResults: Int? = nil
    ) async throws -> SSOPage<SSORole> {
        let answer = try await client.call(
            "ListAccountRoles", method: "GET", path: "/assignment/roles",
            query: Self.pagination(nextToken, maxResults) + [("account_id", accountId)],
            headers: [Self.bearerHeader: accessToken], as: RolesAnswer.self)
        let roles = (answer.roleList ?? []).map {
            SSORole(accountId: $0.accountId ?? accountId, roleName: $0.roleName)
        }
        return SSOPage(items: roles, nextToken: Self.nonEmpty(answer.nextToken))
    }

    /// Every account, following `nextToken` (at most `maxPages` pages, against a server that loops).
    public func allAccounts(accessToken: String, maxPages: Int = 100) async throws -> [SSOAccount] {
        try await Self.collect(maxPages: maxPages) { token in
            try await listAccounts(accessToken: accessToken, nextToken: token)
        }
    }

    /// Every role of `accountId`, following `nextToken`.
    public func allAccountRoles(accountId: String, accessToken: String, maxPages: Int = 100) async throws
        -> [SSORole]
    {
        try await Self.collect(maxPages: maxPages) { token in
            try await listAccountRoles(accountId: accountId, accessToken: accessToken, nextToken: token)
        }
    }

    private struct Empty: Decodable {}

    /// `Logout`: revokes the access token (and the sessions made with it) on the server.
    public func logout(accessToken: String) async throws {
        do {
            _ = try await client.call(
                "Logout", method: "POST", path: "/logout", headers: [Self.bearerHeader: accessToken],
                as: Empty.self)
        } catch AWSClientError.invalidResponse(_, "Logout", 200, _) {
            return  // an empty 200 body is the documented answer
        }
    }

    private static func collect<Item>(
        maxPages: Int, _ page: (String?) async throws -> SSOPage<Item>
    ) async throws -> [Item] {
        var items: [Item] = []
        var token: String?
        for _ in 0..<max(maxPages, 1) {
            let next = try await page(token)
            items += next.items
            guard let nextToken = next.nextToken, nextToken != token else { return items }
            token = nextToken
        }
        return items
    }

    private static func pagination(_ nextToken: String?, _ maxResults: Int?) -> [(String, String)] {
        var query: [(String, String)] = []
        if let maxResults { query.append(("max_result", String(maxResults))) }
        if let nextToken { query.append(("next_token", nextToken)) }
        return query
    }

    private static func nonEmpty(_ text: String?) -> String? {
        text.flatMap { $0.isEmpty ? nil : $0 }
    }
}
