import AWSClient
import Foundation
import LatchkeyTestSupport
import Testing

func jsonObject(_ data: Data) throws -> [String: AnyHashable] {
    try #require(try JSONSerialization.jsonObject(with: data) as? [String: AnyHashable])
}

/// Records the polling loop's sleeps and moves a manual clock by each one.
final class PollClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = fixedNow
    private var recorded: [Duration] = []
    var sleeps: [Duration] { lock.withLock { recorded } }
    var now: Date { lock.withLock { current } }
    func sleep(_ duration: Duration) {
        lock.withLock {
            recorded.append(duration)
            current += TimeInterval(duration.components.seconds)
        }
    }
}

func oidcError(_ shape: String, _ oauth: String, status: Int = 400) -> ScriptedTransport.Step {
    .json(
        "{\"error\":\"\(oauth)\",\"error_description\":null}", status: status,
        headers: ["x-amzn-ErrorType": "\(shape):http://internal.amazon.com/coral/com.amazonaws.ssooidc/"])
}

let tokenJSON = """
    {"accessToken":"aoa-access","tokenType":"Bearer","expiresIn":28800,"refreshToken":"aor-refresh"}
    """

@Suite("IAM Identity Center OIDC")
struct SSOOIDCClientTests {
    func oidc(_ transport: ScriptedTransport, sleeper: SleepRecorder = SleepRecorder()) throws
        -> SSOOIDCClient
    {
        try SSOOIDCClient(region: "eu-west-1", transport: transport, retry: fastRetry(sleeper))
    }

    @Test func registerClientPostsJSONAndReadsTheRegistration() async throws {
        let transport = ScriptedTransport([
            .json(
                "{\"clientId\":\"cid\",\"clientSecret\":\"client-secret-value\",\"clientIdIssuedAt\":1700000000,"
                    + "\"clientSecretExpiresAt\":1707776000}")
        ])
        let client = try oidc(transport)
        #expect(client.endpoint.absoluteString == "https://oidc.eu-west-1.amazonaws.com")
        let registration = try await client.registerClient(
            clientName: "latchkey", scopes: ["sso:account:access"])
        #expect(registration.clientId == "cid")
        #expect(registration.clientSecret == "client-secret-value")
        #expect(registration.clientSecretExpiresAt == Date(timeIntervalSince1970: 1_707_776_000))
        #expect(!registration.description.contains("client-secret-value"))
        let request = try #require(await transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url.absoluteString == "https://oidc.eu-west-1.amazonaws.com/client/register")
        #expect(request.headers == ["Content-Type": "application/json"])
        #expect(
            String(decoding: request.body, as: UTF8.self)
                == #"{"clientName":"latchkey","clientType":"public","scopes":["sso:account:access"]}"#)
    }

    @Test func startDeviceAuthorization() async throws {
        let transport = ScriptedTransport([
            .json(
                "{\"deviceCode\":\"dev-code\",\"userCode\":\"ABCD-EFGH\",\"verificationUri\":\"https://device.sso/\","
                    + "\"verificationUriComplete\":\"https://device.sso/?user_code=ABCD-EFGH\",\"expiresIn\":600,"
                    + "\"interval\":1}")
        ])
        let authorization = try await oidc(transport).startDeviceAuthorization(
            clientId: "cid", clientSecret: "cs", startUrl: "https://d-123.awsapps.com/start")
        #expect(
            authorization
                == SSODeviceAuthorization(
                    deviceCode: "dev-code", userCode: "ABCD-EFGH", verificationUri: "https://device.sso/",
                    verificationUriComplete: "https://device.sso/?user_code=ABCD-EFGH", expiresIn: 600,
                    interval: 1))
        #expect(!authorization.description.contains("dev-code"))
        let request = try #require(await transport.requests.first)
        #expect(request.url.path == "/device_authorization")
        #expect(
            try jsonObject(request.body)
                == ["clientId": "cid", "clientSecret": "cs", "startUrl": "https://d-123.awsapps.com/start"])
    }

    @Test(
        arguments: [
            (
                SSOTokenGrant.deviceCode("dc"),
                [
                    "clientId": "cid", "clientSecret": "cs",
                    "grantType": "urn:ietf:params:oauth:grant-type:device_code",
                    "deviceCode": "dc",
                ]
            ),
            (
                SSOTokenGrant.refreshToken("rt"),
                [
                    "clientId": "cid", "clientSecret": "cs", "grantType": "refresh_token",
                    "refreshToken": "rt",
                ]
            ),
        ] as [(SSOTokenGrant, [String: String])])
    func createTokenForEachGrant(grant: SSOTokenGrant, body: [String: String]) async throws {
        let transport = ScriptedTransport([.json(tokenJSON)])
        let token = try await oidc(transport).createToken(clientId: "cid", clientSecret: "cs", grant: grant)
        #expect(
            token
                == SSOAccessToken(
                    accessToken: "aoa-access", tokenType: "Bearer", expiresIn: 28800,
                    refreshToken: "aor-refresh"))
        #expect(!token.description.contains("aoa-access") && !token.description.contains("aor-refresh"))
        let request = try #require(await transport.requests.first)
        #expect(request.url.absoluteString == "https://oidc.eu-west-1.amazonaws.com/token")
        #expect(try jsonObject(request.body) == body.mapValues { AnyHashable($0) })
    }

    @Test(arguments: [
        // The x-amzn-errortype header (how AWS answers), a smithy __type body, and a bare OAuth error body.
        oidcError("InvalidGrantException", "invalid_grant"),
        .json("{\"__type\":\"com.amazonaws.ssooidc#InvalidGrantException\",\"message\":\"m\"}", status: 400),
        .json("{\"error\":\"invalid_grant\",\"error_description\":\"Invalid refresh token\"}", status: 400),
    ])
    func everyErrorShapeGivesTheModelCode(step: ScriptedTransport.Step) async throws {
        let transport = ScriptedTransport([step, .json(tokenJSON)])
        await #expect {
            _ = try await oidc(transport).createToken(
                clientId: "cid", clientSecret: "client-secret-value",
                grant: .refreshToken("dead-refresh-token"))
        } throws: { error in
            guard let service = (error as? AWSClientError)?.serviceError else { return false }
            let text = String(describing: error)
            return service.code == "InvalidGrantException" && service.service == "sso-oidc"
                && service.operation == "CreateToken" && service.httpStatus == 400
                && !text.contains("dead-refresh-token") && !text.contains("client-secret-value")
        }
        #expect(await transport.requests.count == 1)
    }

    @Test func serverErrorsAreRetriedAndNonJSONIsAClearError() async throws {
        let transport = ScriptedTransport([
            oidcError("InternalServerException", "server_error", status: 500), .json(tokenJSON),
            .respond(
                HTTPResponse(status: 200, headers: ["Content-Type": "text/html"], body: Data("<html>".utf8))),
            .json("{\"tokenType\":\"Bearer\"}"),
        ])
        let sleeper = SleepRecorder()
        let client = try oidc(transport, sleeper: sleeper)
        _ = try await client.createToken(clientId: "c", clientSecret: "s", grant: .refreshToken("r"))
        #expect(sleeper.delays.count == 1)
        for expected in ["expected JSON", "accessToken is missing"] {
            await #expect {
                _ = try await client.createToken(clientId: "c", clientSecret: "s", grant: .refreshToken("r"))
            } throws: { error in
                guard case .invalidResponse(_, "CreateToken", 200, let reason) = error as? AWSClientError
                else {
                    return false
                }
                return reason.contains(expected)
            }
        }
    }

    @Test func endpointVariantsAndOverride() throws {
        let transport = ScriptedTransport()
        #expect(
            try SSOOIDCClient(region: "us-east-1", useFIPS: true, transport: transport).endpoint
                .absoluteString
                == "https://oidc-fips.us-east-1.amazonaws.com")
        #expect(
            try SSOOIDCClient(region: "us-east-2", useFIPS: true, useDualStack: true, transport: transport)
                .endpoint
                .absoluteString == "https://oidc-fips.us-east-2.api.aws")
        #expect(
            try SSOOIDCClient(region: "cn-north-1", transport: transport).endpoint.absoluteString
                == "https://oidc.cn-north-1.amazonaws.com.cn")
        let local = try #require(URL(string: "http://127.0.0.1:4566"))
        #expect(
            try SSOOIDCClient(region: "eu-west-1", endpoint: local, transport: transport).endpoint == local)
        #expect(throws: SSOEndpoint.ResolutionError.missingRegion) {
            _ = try SSOOIDCClient(region: "", transport: transport)
        }
    }

    // MARK: The device-flow polling loop

    let authorization = SSODeviceAuthorization(
        deviceCode: "device-code-secret", userCode: "ABCD-EFGH", verificationUri: "https://device.sso/",
        expiresIn: 600, interval: 5)

    @Test func pollingWaitsTheIntervalAndSlowDownAddsFiveSeconds() async throws {
        let transport = ScriptedTransport([
            oidcError("AuthorizationPendingException", "authorization_pending"),
            oidcError("SlowDownException", "slow_down"),
            oidcError("AuthorizationPendingException", "authorization_pending"),
            .json(tokenJSON),
        ])
        let clock = PollClock()
        let token = try await oidc(transport).pollForToken(
            clientId: "cid", clientSecret: "cs", authorization: authorization, startedAt: fixedNow,
            now: { clock.now }, sleep: { clock.sleep($0) })
        #expect(token.accessToken == "aoa-access")
        #expect(clock.sleeps == [.seconds(5), .seconds(5), .seconds(10), .seconds(10)])
        #expect(await transport.requests.count == 4)
        for body in await transport.requests.map(\.body) {
            #expect(try jsonObject(body)["deviceCode"] == AnyHashable("device-code-secret"))
        }
    }

    @Test func pollingStopsAtTheDeadlineWithoutAnotherRequest() async throws {
        let transport = ScriptedTransport(
            Array(repeating: oidcError("AuthorizationPendingException", "authorization_pending"), count: 200))
        let clock = PollClock()
        let short = SSODeviceAuthorization(
            deviceCode: "d", userCode: "u", verificationUri: "https://device.sso/", expiresIn: 12,
            interval: nil)
        await #expect(throws: SSODeviceAuthorizationError.expired(afterSeconds: 12)) {
            _ = try await oidc(transport).pollForToken(
                clientId: "c", clientSecret: "s", authorization: short, startedAt: fixedNow,
                now: { clock.now },
                sleep: { clock.sleep($0) })
        }
        // No interval given: RFC 8628's 5 s; polls at +5 and +10, then +15 would pass the 12 s deadline.
        #expect(clock.sleeps == [.seconds(5), .seconds(5)])
        #expect(await transport.requests.count == 2)
    }

    @Test(arguments: [
        (oidcError("AccessDeniedException", "access_denied"), SSODeviceAuthorizationError.denied),
        (
            oidcError("ExpiredTokenException", "expired_token"),
            SSODeviceAuthorizationError.expired(afterSeconds: 600)
        ),
    ])
    func pollingEndsOnDenialOrExpiry(step: ScriptedTransport.Step, expected: SSODeviceAuthorizationError)
        async throws
    {
        let transport = ScriptedTransport([
            oidcError("AuthorizationPendingException", "authorization_pending"), step,
        ])
        let clock = PollClock()
        await #expect(throws: expected) {
            _ = try await oidc(transport).pollForToken(
                clientId: "c", clientSecret: "s", authorization: authorization, startedAt: fixedNow,
                now: { clock.now }, sleep: { clock.sleep($0) })
        }
        #expect(await transport.requests.count == 2)
        #expect(!expected.description.isEmpty)
    }

    @Test func otherErrorsEndThePollingAsThemselves() async throws {
        let transport = ScriptedTransport([oidcError("InvalidClientException", "invalid_client", status: 401)]
        )
        let clock = PollClock()
        await #expect {
            _ = try await oidc(transport).pollForToken(
                clientId: "c", clientSecret: "s", authorization: authorization, startedAt: fixedNow,
                now: { clock.now }, sleep: { clock.sleep($0) })
        } throws: { error in
            (error as? AWSClientError)?.serviceError?.code == "InvalidClientException"
        }
    }
}
