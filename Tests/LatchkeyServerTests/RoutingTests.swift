import AWSSigV4
import Foundation
import LatchkeyCore
import Testing

@testable import LatchkeyServer

let sessionExpiry = Date(timeIntervalSince1970: 1_800_000_000)
let session = AWSCredentials(
    accessKeyId: "ASIAEXAMPLEEXAMPLE01", secretAccessKey: "secret/with+chars", sessionToken: "token\"quoted",
    expiration: sessionExpiry)

func feed(now: Date = sessionExpiry.addingTimeInterval(-3000)) -> CredentialFeed {
    CredentialFeed(initial: session, refreshBefore: 300, now: { now }, fetch: { session })
}

func json(_ response: HTTPResponse) throws -> [String: String] {
    try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: String] ?? [:]
}

struct ECSRoutingTests {
    let token = String(repeating: "ab", count: 32)

    func handler(roles: RoleFeeds? = nil, limiter: FailureRateLimiter = FailureRateLimiter()) -> ECSHandler {
        ECSHandler(token: token, port: 4000, feed: feed(), roles: roles, limiter: limiter)
    }

    func get(_ path: String, authorization: String?, host: String? = "127.0.0.1:4000") -> HTTPRequest {
        HTTPRequest(method: "GET", target: path, host: host, authorization: authorization)
    }

    @Test func answersTheTokenHolderWithExactlyTheFieldsSDKsRead() throws {
        let response = handler().respond(to: get("/", authorization: token))
        #expect(response.status == 200)
        #expect(response.contentType == "application/json")
        let document = try json(response)
        #expect(
            document == [
                "AccessKeyId": "ASIAEXAMPLEEXAMPLE01", "SecretAccessKey": "secret/with+chars",
                "Token": "token\"quoted", "Expiration": "2027-01-15T08:00:00Z",
            ])
    }

    @Test(arguments: [
        (String?.none, "127.0.0.1:4000"), ("wrong", "127.0.0.1:4000"),
        (String(repeating: "ab", count: 32) + "x", "127.0.0.1:4000"),
        (String(repeating: "ab", count: 32), "evil.example:4000"),
        (String(repeating: "ab", count: 32), "127.0.0.1:4001"),
    ])
    func refusesWithoutDetail(_ authorization: String?, _ host: String) {
        let response = handler().respond(to: get("/", authorization: authorization, host: host))
        #expect(response.status == 403)
        #expect(response.body.isEmpty)
        #expect(response.close)
    }

    @Test func guessingIsCutOffOnceTheBudgetIsSpent() {
        let limited = handler(limiter: FailureRateLimiter(capacity: 2, perSecond: 0.001))
        let statuses = (0..<4).map { _ in limited.respond(to: get("/", authorization: "guess")).status }
        #expect(statuses == [403, 403, 429, 429])
        #expect(limited.respond(to: get("/", authorization: token)).status == 200)
    }

    @Test func otherPathsAndMethods() {
        #expect(handler().respond(to: get("/credentials", authorization: token)).status == 404)
        var put = get("/", authorization: token)
        put.method = "PUT"
        #expect(handler().respond(to: put).status == 405)
        #expect(
            handler().respond(to: get("/role-arn/arn:aws:iam::123456789012:role/x", authorization: token))
                .status == 404)
    }

    @Test func roleArnAssumesEachRoleOnceFromTheSession() async throws {
        let assumed = CallLog()
        let base = feed()
        let roles = RoleFeeds(base: base, refreshBefore: 300) { arn, credentials in
            assumed.record("\(arn) with \(credentials.accessKeyId)")
            return AWSCredentials(
                accessKeyId: "ASIAROLE", secretAccessKey: "s", sessionToken: "t", expiration: sessionExpiry)
        }
        let ecs = handler(roles: roles)
        let arn = "arn:aws:iam::123456789012:role/deploy"
        for path in ["/role-arn/\(arn)", "/role-arn/arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdeploy"] {
            let request = get(path, authorization: token)
            let response = await onOwnThread { ecs.respond(to: request) }
            #expect(response.status == 200)
            #expect(try json(response)["RoleArn"] == arn)
            #expect(try json(response)["AccessKeyId"] == "ASIAROLE")
        }
        #expect(assumed.entries == ["\(arn) with ASIAEXAMPLEEXAMPLE01"])
        #expect(
            ecs.respond(to: get("/role-arn/arn:aws:iam::123:role/short-account", authorization: token)).status
                == 404)
    }

    /// The cause (here naming the MFA device, as the real one does) goes to latchkey's log only:
    /// any local client may ask, and the answer must not describe the account.
    @Test func aFailedRefreshTellsTheClientNothingButTheLogWhy() async throws {
        struct NeedsCode: Error, CustomStringConvertible {
            var description: String {
                "a new session needs an MFA code for arn:aws:iam::123456789012:mfa/doug"
            }
        }
        let logged = Locked<[String]>([])
        let expired = CredentialFeed(
            initial: session, refreshBefore: 300, backoff: .init(initial: 60),
            now: { sessionExpiry.addingTimeInterval(1) },
            log: { line in logged.withLock { $0.append(line) } },
            fetch: { throw NeedsCode() })
        let ecs = ECSHandler(
            token: token, port: 4000, feed: expired, roles: nil, limiter: FailureRateLimiter())
        let request = get("/", authorization: token)
        for _ in 0..<3 {
            let response = await onOwnThread { ecs.respond(to: request) }
            #expect(response.status == 503)
            #expect(try json(response)["code"] == "CredentialsUnavailable")
            #expect(try json(response)["message"]?.contains("latchkey's own output") == true)
            #expect(!response.bodyText.contains("mfa/doug") && !response.bodyText.contains("123456789012"))
            #expect(!response.bodyText.contains("secret/with+chars"))
        }
        // Once per failed attempt (backoff holds the next), not once per request.
        #expect(logged.current.count == 1)
        #expect(logged.current.first?.contains("arn:aws:iam::123456789012:mfa/doug") == true)
    }
}

struct IMDSRoutingTests {
    let clock = ManualSeconds(1_700_000_000)

    func handler() -> IMDSHandler {
        let clock = self.clock
        return IMDSHandler(
            port: 5000, feed: feed(), roleName: "team/doug", region: "eu-west-1",
            limiter: FailureRateLimiter(),
            now: { clock.value })
    }

    func request(_ method: String, _ path: String, token: String? = nil, ttl: String? = nil) -> HTTPRequest {
        HTTPRequest(
            method: method, target: path, host: "localhost:5000", metadataToken: token, metadataTokenTTL: ttl)
    }

    func token(_ imds: IMDSHandler, ttl: String = "21600") -> String {
        imds.respond(to: request("PUT", "/latest/api/token", ttl: ttl)).bodyText
    }

    @Test(arguments: [
        (String?.none, 400), ("0", 400), ("21601", 400), ("-5", 400), ("x", 400), ("1", 200), ("21600", 200),
    ])
    func tokenTTLMustBeInRange(_ ttl: String?, _ status: Int) {
        let response = handler().respond(to: request("PUT", "/latest/api/token", ttl: ttl))
        #expect(response.status == status)
        if status == 200 { #expect(response.header("X-aws-ec2-metadata-token-ttl-seconds") == ttl) }
    }

    @Test func forwardedOrVersionedTokenRequestsAreForbidden() {
        var forwarded = request("PUT", "/latest/api/token", ttl: "60")
        forwarded.forwardedFor = "10.0.0.1"
        #expect(handler().respond(to: forwarded).status == 403)
        #expect(handler().respond(to: request("PUT", "/2021-03-23/api/token", ttl: "60")).status == 403)
    }

    @Test func everyGetNeedsALiveToken() {
        let imds = handler()
        let path = "/latest/meta-data/iam/security-credentials/"
        #expect(imds.respond(to: request("GET", path)).status == 401)
        #expect(imds.respond(to: request("GET", path, token: "bogus")).status == 401)
        let shortLived = token(imds, ttl: "5")
        #expect(imds.respond(to: request("GET", path, token: shortLived)).status == 200)
        clock.value += 5
        #expect(imds.respond(to: request("GET", path, token: shortLived)).status == 401)
    }

    @Test func servesRoleListingCredentialsAndIdentity() throws {
        let imds = handler()
        let live = token(imds)
        let listing = imds.respond(
            to: request("GET", "/latest/meta-data/iam/security-credentials/", token: live))
        #expect(listing.bodyText == "team-doug")
        let credentials = imds.respond(
            to: request("GET", "/latest/meta-data/iam/security-credentials/team-doug", token: live))
        #expect(credentials.contentType == "text/plain")
        let document = try json(credentials)
        #expect(
            Set(document.keys) == [
                "Code", "LastUpdated", "Type", "AccessKeyId", "SecretAccessKey", "Token", "Expiration",
            ])
        #expect(document["Code"] == "Success")
        #expect(document["Type"] == "AWS-HMAC")
        #expect(document["Expiration"] == "2027-01-15T08:00:00Z")
        let identity = imds.respond(
            to: request("GET", "/latest/dynamic/instance-identity/document", token: live))
        #expect(try json(identity)["region"] == "eu-west-1")
        #expect(
            imds.respond(to: request("GET", "/latest/meta-data/placement/region", token: live)).bodyText
                == "eu-west-1")
        for missing in [
            "/latest/meta-data/iam/security-credentials-extended/",
            "/latest/meta-data/iam/security-credentials/other",
            "/latest/user-data",
        ] {
            #expect(imds.respond(to: request("GET", missing, token: live)).status == 404)
        }
    }

    @Test func foreignHostIsRefusedEvenWithAToken() {
        let imds = handler()
        var foreign = request("GET", "/latest/meta-data/iam/security-credentials/", token: token(imds))
        foreign.host = "169.254.169.254"
        #expect(imds.respond(to: foreign).status == 403)
    }
}

/// The event loop calls handlers on threads of its own, and a handler that must wait for a refresh
/// blocks that thread; do the same here rather than block one of Swift Testing's pool threads.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

final class CallLog: @unchecked Sendable {
    private let lock = NSLock()
    private var log: [String] = []
    func record(_ entry: String) {
        lock.lock()
        log.append(entry)
        lock.unlock()
    }
    var entries: [String] {
        lock.lock()
        defer { lock.unlock() }
        return log
    }
}
