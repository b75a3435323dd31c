import AWSClient
import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

func portalError(_ shape: String, status: Int, message: String = "m") -> ScriptedTransport.Step {
    .json("{\"message\":\"\(message)\"}", status: status, headers: ["x-amzn-ErrorType": shape])
}

@Suite("IAM Identity Center portal")
struct SSOPortalClientTests {
    func portal(
        _ transport: ScriptedTransport, sleeper: SleepRecorder = SleepRecorder(), endpoint: URL? = nil
    )
        throws -> SSOPortalClient
    {
        try SSOPortalClient(
            region: "us-east-1", endpoint: endpoint, transport: transport, retry: fastRetry(sleeper))
    }

    @Test func getRoleCredentialsSendsTheBearerTokenAndReadsMilliseconds() async throws {
        let transport = ScriptedTransport([
            .json(
                "{\"roleCredentials\":{\"accessKeyId\":\"ASIASSO\",\"secretAccessKey\":\"SS\",\"sessionToken\":\"ST\","
                    + "\"expiration\":1700003600123}}")
        ])
        let credentials = try await portal(transport).getRoleCredentials(
            accountId: "012345678901", roleName: "Admin Role", accessToken: "access-token-value")
        #expect(credentials.accessKeyId == "ASIASSO")
        #expect(credentials.secretAccessKey == "SS")
        #expect(credentials.sessionToken == "ST")
        #expect(
            credentials.expiration.map { abs($0.timeIntervalSince1970 - 1_700_003_600.123) < 1e-6 } == true)
        let request = try #require(await transport.requests.first)
        #expect(request.method == "GET")
        #expect(
            request.url.absoluteString
                == "https://portal.sso.us-east-1.amazonaws.com/federation/credentials?role_name=Admin%20Role"
                + "&account_id=012345678901")
        #expect(request.headers == ["x-amz-sso_bearer_token": "access-token-value"])
        #expect(request.body.isEmpty)
    }

    @Test(arguments: [
        ("UnauthorizedException", 401), ("ResourceNotFoundException", 404), ("InvalidRequestException", 400),
    ])
    func clientErrorsAreFinalAndLeakNoToken(code: String, status: Int) async throws {
        let transport = ScriptedTransport([
            portalError(code, status: status, message: "Session token not found")
        ])
        await #expect {
            _ = try await portal(transport).getRoleCredentials(
                accountId: "1", roleName: "r", accessToken: "access-token-value")
        } throws: { error in
            guard let service = (error as? AWSClientError)?.serviceError else { return false }
            return service.code == code && service.httpStatus == status
                && service.message == "Session token not found"
                && !String(describing: error).contains("access-token-value")
        }
        #expect(await transport.requests.count == 1)
    }

    @Test(arguments: [
        portalError("TooManyRequestsException", status: 429), .respond(HTTPResponse(status: 503)),
        .fail(HTTPTransportError.connection("reset")),
    ])
    func throttlingAndServerErrorsAreRetried(first: ScriptedTransport.Step) async throws {
        let transport = ScriptedTransport([
            first,
            .json(
                "{\"roleCredentials\":{\"accessKeyId\":\"A\",\"secretAccessKey\":\"S\",\"sessionToken\":\"T\","
                    + "\"expiration\":0}}"),
        ])
        let sleeper = SleepRecorder()
        _ = try await portal(transport, sleeper: sleeper).getRoleCredentials(
            accountId: "1", roleName: "r", accessToken: "t")
        #expect(await transport.requests.count == 2)
        #expect(sleeper.delays == [.milliseconds(100)])
    }

    @Test func listAccountsFollowsNextToken() async throws {
        let transport = ScriptedTransport([
            .json(
                "{\"accountList\":[{\"accountId\":\"111111111111\",\"accountName\":\"dev\",\"emailAddress\":\"d@x\"}],"
                    + "\"nextToken\":\"page 2\"}"),
            .json("{\"accountList\":[{\"accountId\":\"222222222222\"}],\"nextToken\":null}"),
        ])
        let accounts = try await portal(transport).allAccounts(accessToken: "t")
        #expect(
            accounts == [
                SSOAccount(accountId: "111111111111", accountName: "dev", emailAddress: "d@x"),
                SSOAccount(accountId: "222222222222"),
            ])
        let urls = await transport.requests.map(\.url.absoluteString)
        #expect(
            urls == [
                "https://portal.sso.us-east-1.amazonaws.com/assignment/accounts",
                "https://portal.sso.us-east-1.amazonaws.com/assignment/accounts?next_token=page%202",
            ])
    }

    @Test func listAccountRolesPagesAndLimits() async throws {
        let transport = ScriptedTransport([
            .json(
                "{\"roleList\":[{\"roleName\":\"Admin\",\"accountId\":\"111111111111\"}],\"nextToken\":\"n\"}"
            ),
            .json("{\"roleList\":[{\"roleName\":\"ReadOnly\"}]}"),
            .json("{\"roleList\":[],\"nextToken\":\"n2\"}"),
        ])
        let client = try portal(transport)
        let roles = try await client.allAccountRoles(accountId: "111111111111", accessToken: "t")
        #expect(
            roles == [
                SSORole(accountId: "111111111111", roleName: "Admin"),
                SSORole(accountId: "111111111111", roleName: "ReadOnly"),
            ])
        let page = try await client.listAccountRoles(
            accountId: "111111111111", accessToken: "t", nextToken: "x", maxResults: 5)
        #expect(page == SSOPage(items: [], nextToken: "n2"))
        let urls = await transport.requests.map(\.url.absoluteString)
        #expect(
            urls == [
                "https://portal.sso.us-east-1.amazonaws.com/assignment/roles?account_id=111111111111",
                "https://portal.sso.us-east-1.amazonaws.com/assignment/roles?next_token=n&account_id=111111111111",
                "https://portal.sso.us-east-1.amazonaws.com/assignment/roles?max_result=5&next_token=x"
                    + "&account_id=111111111111",
            ])
    }

    @Test func paginationStopsWhenTheServerRepeatsItsToken() async throws {
        let transport = ScriptedTransport(
            Array(
                repeating: .json("{\"accountList\":[{\"accountId\":\"1\"}],\"nextToken\":\"same\"}"), count: 5
            ))
        let accounts = try await portal(transport).allAccounts(accessToken: "t")
        #expect(accounts.count == 2)
        #expect(await transport.requests.count == 2)
    }

    @Test func logoutPostsAndAcceptsAnEmptyBody() async throws {
        let transport = ScriptedTransport([.respond(HTTPResponse(status: 200))])
        try await portal(transport).logout(accessToken: "t")
        let request = try #require(await transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url.path == "/logout")
    }

    @Test(arguments: [
        ("us-east-2", false, false, "https://portal.sso.us-east-2.amazonaws.com"),
        ("us-east-2", true, true, "https://portal.sso-fips.us-east-2.api.aws"),
        ("us-east-2", true, false, "https://portal.sso-fips.us-east-2.amazonaws.com"),
        ("us-east-2", false, true, "https://portal.sso.us-east-2.api.aws"),
        ("us-gov-west-1", true, false, "https://portal.sso.us-gov-west-1.amazonaws.com"),
        ("cn-northwest-1", false, false, "https://portal.sso.cn-northwest-1.amazonaws.com.cn"),
    ])
    func endpoints(region: String, fips: Bool, dualStack: Bool, expected: String) throws {
        let client = try SSOPortalClient(
            region: region, useFIPS: fips, useDualStack: dualStack, transport: ScriptedTransport())
        #expect(client.endpoint.absoluteString == expected)
    }

    @Test func unsupportedVariantsAreErrors() {
        #expect(throws: SSOEndpoint.ResolutionError.unsupported(feature: "dual-stack", partition: "aws-iso"))
        {
            _ = try SSOEndpoint.resolve(prefix: "portal.sso", region: "us-iso-east-1", useDualStack: true)
        }
        #expect(throws: SSOEndpoint.ResolutionError.invalidRegion("us east")) {
            _ = try SSOEndpoint.resolve(prefix: "oidc", region: "us east")
        }
    }

    @Test func endpointOverrideKeepsItsBasePath() async throws {
        let transport = ScriptedTransport([.json("{\"accountList\":[]}")])
        let endpoint = try #require(URL(string: "http://127.0.0.1:8080/sso/"))
        _ = try await portal(transport, endpoint: endpoint).listAccounts(accessToken: "t")
        #expect(
            await transport.requests.map(\.url.absoluteString) == [
                "http://127.0.0.1:8080/sso/assignment/accounts"
            ])
    }
}
