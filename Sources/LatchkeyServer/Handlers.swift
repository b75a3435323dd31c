#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// Answers one parsed request; called on an event-loop thread, so it must not block for long.
public protocol RequestHandler: Sendable {
    func respond(to request: HTTPRequest) -> HTTPResponse
}

/// Refusals say nothing about why: a guesser learns only that it failed.
let forbidden = HTTPResponse(status: 403, close: true).prebuilt()
let tooManyFailures = HTTPResponse(status: 429, close: true).prebuilt()
let notFound = HTTPResponse.text(404, "Not Found").prebuilt()
let methodNotAllowed = HTTPResponse.text(405, "Method Not Allowed").prebuilt()

/// The container (ECS) credential endpoint: `GET /` with the exact token in `Authorization`,
/// and `GET /role-arn/ARN` for a role assumed from the profile's session.
public struct ECSHandler: RequestHandler {
    let token: [UInt8]
    let hosts: HostCheck
    let feed: CredentialFeed
    let roles: RoleFeeds?
    let limiter: FailureRateLimiter

    public init(
        token: String, port: UInt16, feed: CredentialFeed, roles: RoleFeeds?, limiter: FailureRateLimiter
    ) {
        self.token = Array(token.utf8)
        self.hosts = HostCheck(port: port)
        self.feed = feed
        self.roles = roles
        self.limiter = limiter
    }

    public func respond(to request: HTTPRequest) -> HTTPResponse {
        guard hosts.allows(request.host), constantTimeEquals(request.authorization, token) else {
            return limiter.allowFailure() ? forbidden : tooManyFailures
        }
        guard request.method == "GET" else { return methodNotAllowed }
        let path = request.path
        if path == "/" { return feed.response(.ecs) }
        if path.hasPrefix("/role-arn/") {
            guard let roles, let arn = String(path.dropFirst("/role-arn/".count)).percentDecoded,
                isRoleArn(arn)
            else { return notFound }
            guard let feed = roles.feed(for: arn) else {
                return HTTPResponse.text(429, "Too many different roles were requested from this server.")
            }
            return feed.response(.ecs)
        }
        return notFound
    }
}

/// `arn:PARTITION:iam::ACCOUNT:role/NAME`, checked before anything is sent to STS.
func isRoleArn(_ text: String) -> Bool {
    let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
    guard parts.count == 6, parts[0] == "arn", parts[1].hasPrefix("aws"), parts[2] == "iam", parts[3].isEmpty,
        parts[4].count == 12, parts[4].allSatisfy(\.isASCII), parts[4].allSatisfy(\.isNumber),
        parts[5].hasPrefix("role/"), parts[5].count > 5, text.utf8.count <= 2048
    else { return false }
    return true
}

/// The EC2 instance metadata service, version 2 only: a token from `PUT /latest/api/token`
/// must accompany every `GET`.
public struct IMDSHandler: RequestHandler {
    let hosts: HostCheck
    let feed: CredentialFeed
    let roleName: String
    let region: String
    let issuer: MetadataTokenIssuer
    let limiter: FailureRateLimiter
    let now: @Sendable () -> Double
    let identityDocument: HTTPResponse
    let listing: HTTPResponse
    // Built once: concatenating them per request cost the hot path two allocations.
    let listingPaths: [String]
    let credentialsPath: String

    public init(
        port: UInt16, feed: CredentialFeed, roleName: String, region: String,
        issuer: MetadataTokenIssuer = MetadataTokenIssuer(), limiter: FailureRateLimiter,
        now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.hosts = HostCheck(port: port)
        self.feed = feed
        self.roleName = imdsRoleName(roleName)
        self.region = region
        self.issuer = issuer
        self.limiter = limiter
        self.now = now
        let document: [(String, String)] = [
            ("architecture", "x86_64"),
            ("availabilityZone", region + "a"),
            ("imageId", "ami-00000000000000000"),
            ("instanceId", "i-00000000000000000"),
            ("instanceType", "latchkey.local"),
            ("privateIp", "127.0.0.1"),
            ("region", region),
            ("version", "2017-09-30"),
        ]
        let prefix = "/latest/meta-data/iam/security-credentials"
        listingPaths = [prefix, prefix + "/"]
        credentialsPath = prefix + "/" + self.roleName
        listing = HTTPResponse.text(200, self.roleName).prebuilt()
        identityDocument = HTTPResponse(
            status: 200, contentType: "text/plain", body: Array(jsonObject(document).utf8)
        )
        .prebuilt()
    }

    public func respond(to request: HTTPRequest) -> HTTPResponse {
        guard hosts.allows(request.host) else {
            return limiter.allowFailure() ? forbidden : tooManyFailures
        }
        let path = request.path
        switch request.method {
        case "PUT":
            return putToken(request, path: path)
        case "GET":
            break
        default:
            return methodNotAllowed
        }
        guard issuer.isValid(request.metadataToken, now: now()) else {
            if request.metadataToken != nil, !limiter.allowFailure() { return tooManyFailures }
            return HTTPResponse(status: 401, close: false)
        }
        if path == credentialsPath { return feed.response(.imds) }
        switch path {
        case listingPaths[0], listingPaths[1]:
            return listing
        case "/latest/dynamic/instance-identity/document":
            return identityDocument
        case "/latest/meta-data/placement/region":
            return .text(200, region)
        case "/latest/meta-data/placement/availability-zone":
            return .text(200, region + "a")
        default:
            // Includes `security-credentials-extended/`: SDKs then fall back to the classic path.
            return notFound
        }
    }

    func putToken(_ request: HTTPRequest, path: Substring) -> HTTPResponse {
        guard path.hasSuffix("/api/token") else { return methodNotAllowed }
        // Only the unversioned path issues tokens; a proxied PUT is refused like real IMDS does.
        guard path == "/latest/api/token", request.forwardedFor == nil else { return forbidden }
        guard let text = request.metadataTokenTTL, let ttl = Int(text),
            MetadataTokenIssuer.ttlRange.contains(ttl)
        else { return .text(400, "Bad Request") }
        return HTTPResponse(
            status: 200, contentType: "text/plain",
            headers: [("X-aws-ec2-metadata-token-ttl-seconds", "\(ttl)")],
            body: Array(issuer.issue(ttl: ttl, now: now()).utf8))
    }
}

/// IMDS role names are a path segment: keep the profile name readable but path-safe.
func imdsRoleName(_ profile: String) -> String {
    let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=,.@_-")
    let name = String(profile.map { allowed.contains($0) ? $0 : "-" })
    return name.isEmpty ? "latchkey" : name
}
