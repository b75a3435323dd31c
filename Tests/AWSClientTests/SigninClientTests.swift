import AWSClient
import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

/// Splits a URL's query into decoded pairs, in order.
func queryPairs(_ url: URL) -> [(String, String)] {
    (url.query ?? "").split(separator: "&").map { pair in
        let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
        return (
            AWSPercentEncoding.decode(parts[0]), AWSPercentEncoding.decode(parts.count > 1 ? parts[1] : "")
        )
    }
}

func queryValue(_ url: URL, _ name: String) -> String? {
    queryPairs(url).first { $0.0 == name }?.1
}

@Suite("Console sign-in: endpoints and the federation client")
struct SigninClientTests {
    static let session = AWSCredentials(
        accessKeyId: "ASIAROLE", secretAccessKey: "role/secret+key", sessionToken: "role-token/==")

    @Test(arguments: [
        (nil as String?, "https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com", "aws"),
        ("eu-west-1", "https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com", "aws"),
        ("cn-north-1", "https://signin.amazonaws.cn/federation", "https://console.amazonaws.cn", "aws-cn"),
        (
            "cn-northwest-1", "https://signin.amazonaws.cn/federation", "https://console.amazonaws.cn",
            "aws-cn"
        ),
        (
            "us-gov-west-1", "https://signin.amazonaws-us-gov.com/federation",
            "https://console.amazonaws-us-gov.com", "aws-us-gov"
        ),
    ])
    func partitionHosts(region: String?, federation: String, console: String, partition: String) {
        let endpoint = SigninEndpoint.resolve(region: region)
        #expect(endpoint.federation.absoluteString == federation)
        #expect(endpoint.console == console)
        #expect(endpoint.partition == partition)
    }

    @Test(arguments: [
        (nil as String?, nil as String?, "https://console.aws.amazon.com/console/home"),
        (nil, "eu-west-1", "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"),
        ("/ec2/home", "eu-west-1", "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1"),
        (
            "s3/buckets?tab=all", "us-east-1",
            "https://us-east-1.console.aws.amazon.com/s3/buckets?tab=all&region=us-east-1"
        ),
        (
            "ec2/home?region=us-west-2", "eu-west-1",
            "https://eu-west-1.console.aws.amazon.com/ec2/home?region=us-west-2"
        ),
        (nil, "cn-north-1", "https://console.amazonaws.cn/console/home?region=cn-north-1"),
        ("iam/home", "us-gov-east-1", "https://console.amazonaws-us-gov.com/iam/home?region=us-gov-east-1"),
    ])
    func destinations(path: String?, region: String?, expected: String) {
        #expect(
            SigninEndpoint.resolve(region: region).destination(path: path, region: region).absoluteString
                == expected)
    }

    @Test(arguments: [
        ("us-east-1", "https://123456789012.signin.aws.amazon.com/console"),
        ("cn-north-1", "https://123456789012.signin.amazonaws.cn/console"),
        ("us-gov-west-1", "https://123456789012.signin.amazonaws-us-gov.com/console"),
    ])
    func accountSigninPages(region: String, expected: String) {
        #expect(
            SigninEndpoint.resolve(region: region).accountSigninPage(accountId: "123456789012").absoluteString
                == expected)
    }

    @Test func anOverrideReplacesOnlyTheFederationEndpoint() throws {
        let bare = SigninEndpoint.resolve(
            region: "cn-north-1", override: URL(string: "http://127.0.0.1:5000"))
        #expect(bare.federation.absoluteString == "http://127.0.0.1:5000/federation")
        #expect(bare.console == "https://console.amazonaws.cn")
        let full = SigninEndpoint.resolve(
            region: nil, override: URL(string: "http://127.0.0.1:5000/custom/fed"))
        #expect(full.federation.absoluteString == "http://127.0.0.1:5000/custom/fed")
    }

    @Test func getSigninTokenSendsTheSessionJSONAndDuration() async throws {
        let transport = ScriptedTransport([.json(#"{"SigninToken":"TOKEN-1"}"#)])
        let client = SigninClient(
            endpoint: try #require(URL(string: "https://signin.aws.amazon.com/federation")),
            transport: transport)
        let token = try await client.getSigninToken(credentials: Self.session, sessionDuration: 7200)
        #expect(token == "TOKEN-1")
        let request = try #require(await transport.requests.first)
        #expect(request.method == "GET")
        #expect(request.url.host == "signin.aws.amazon.com" && request.url.path == "/federation")
        #expect(queryValue(request.url, "Action") == "getSigninToken")
        #expect(queryValue(request.url, "SessionDuration") == "7200")
        let json = try #require(queryValue(request.url, "Session"))
        let decoded = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String]
        #expect(
            decoded == [
                "sessionId": "ASIAROLE", "sessionKey": "role/secret+key", "sessionToken": "role-token/==",
            ])
        #expect(request.headers["Authorization"] == nil)
    }

    @Test func noDurationMeansNoSessionDurationParameter() async throws {
        let transport = ScriptedTransport([.json(#"{"SigninToken":"T"}"#)])
        let client = SigninClient(
            endpoint: try #require(URL(string: "https://signin.aws.amazon.com/federation")),
            transport: transport)
        _ = try await client.getSigninToken(credentials: Self.session, sessionDuration: nil)
        let request = try #require(await transport.requests.first)
        #expect(queryPairs(request.url).map(\.0) == ["Action", "Session"])
    }

    @Test func aRefusalIsAnErrorWithoutSecrets() async throws {
        let transport = ScriptedTransport([
            .text("Session key role/secret+key is invalid", status: 400),
            .text("SessionDuration is not allowed for federated users", status: 400),
        ])
        let client = SigninClient(
            endpoint: try #require(URL(string: "https://signin.aws.amazon.com/federation")),
            transport: transport,
            retry: .none)
        do {
            _ = try await client.getSigninToken(credentials: Self.session, sessionDuration: nil)
            Issue.record("expected an error")
        } catch let error as AWSClientError {
            #expect(error.serviceError?.httpStatus == 400)
            #expect(!"\(error)".contains("role/secret+key") && !"\(error)".contains("role-token"))
        }
        do {
            _ = try await client.getSigninToken(credentials: Self.session, sessionDuration: nil)
            Issue.record("expected an error")
        } catch let error as AWSClientError {
            #expect("\(error)".contains("SessionDuration is not allowed"))
        }
    }

    @Test func serverErrorsAreRetried() async throws {
        let transport = ScriptedTransport([.text("busy", status: 503), .json(#"{"SigninToken":"T2"}"#)])
        let client = SigninClient(
            endpoint: try #require(URL(string: "https://signin.aws.amazon.com/federation")),
            transport: transport,
            retry: RetryPolicy(maxAttempts: 3, sleep: { _ in }))
        #expect(try await client.getSigninToken(credentials: Self.session, sessionDuration: nil) == "T2")
        #expect(await transport.requests.count == 2)
    }

    @Test func loginURLCarriesIssuerDestinationAndToken() throws {
        let client = SigninClient(
            endpoint: try #require(URL(string: "https://signin.amazonaws.cn/federation")),
            transport: ScriptedTransport())
        let destination = try #require(URL(string: "https://console.amazonaws.cn/ec2/home?region=cn-north-1"))
        let url = client.loginURL(
            signinToken: "tok/en+", destination: destination, issuer: "https://console.amazonaws.cn/")
        #expect(url.host == "signin.amazonaws.cn" && url.path == "/federation")
        #expect(queryPairs(url).map(\.0) == ["Action", "Issuer", "Destination", "SigninToken"])
        #expect(queryValue(url, "Action") == "login")
        #expect(queryValue(url, "Destination") == destination.absoluteString)
        #expect(queryValue(url, "SigninToken") == "tok/en+")
        #expect(queryValue(url, "Issuer") == "https://console.amazonaws.cn/")
    }
}
