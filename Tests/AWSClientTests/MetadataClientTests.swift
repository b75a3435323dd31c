import AWSClient
import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

/// One case of `imds-config/imds-endpoint-tests.json`.
struct IMDSEndpointCase: CustomStringConvertible, Sendable {
    var docs: String
    var environment: [String: String]
    var profile: [String: String]
    var endpointOverride: String?
    var modeOverride: String?
    var ok: String?
    var error: String?
    var description: String { docs }

    static func all() throws -> [IMDSEndpointCase] {
        let data = try ConformanceData.data("credential-provider-tests/imds-config/imds-endpoint-tests.json")
        let root = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return ((root?["tests"] as? [[String: Any]]) ?? []).map { test in
            let environment = (test["env"] as? [String: String]) ?? [:]
            // The only files are tiny `[default]` configs named by AWS_CONFIG_FILE: read their key = value lines.
            var profile: [String: String] = [:]
            if let name = environment["AWS_CONFIG_FILE"], let text = (test["fs"] as? [String: String])?[name]
            {
                for line in text.split(separator: "\n") where line.contains("=") {
                    let parts = line.split(separator: "=", maxSplits: 1).map {
                        $0.trimmingCharacters(in: .whitespaces)
                    }
                    profile[parts[0]] = parts[1]
                }
            }
            let result = test["result"] as? [String: String]
            return IMDSEndpointCase(
                docs: test["docs"] as? String ?? "", environment: environment, profile: profile,
                endpointOverride: test["endpoint_override"] as? String,
                modeOverride: test["mode_override"] as? String,
                ok: result?["Ok"], error: result?["Err"])
        }
    }
}

/// One case of `ecs-tests.json`.
struct ContainerURICase: CustomStringConvertible, Sendable {
    var docs: String
    var environment: [String: String]
    var ok: String?
    var error: String?
    var description: String { docs }

    static func all() throws -> [ContainerURICase] {
        let data = try ConformanceData.data("credential-provider-tests/ecs-tests.json")
        let root = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return ((root?["tests"] as? [[String: Any]]) ?? []).map { test in
            let result = test["result"] as? [String: String]
            return ContainerURICase(
                docs: test["docs"] as? String ?? "", environment: (test["env"] as? [String: String]) ?? [:],
                ok: result?["Ok"], error: result?["ErrorContains"])
        }
    }
}

let imdsDocument = """
    {
      "Code" : "Success",
      "LastUpdated" : "2023-11-14T22:00:00Z",
      "Type" : "AWS-HMAC",
      "AccessKeyId" : "ASIAIMDS",
      "SecretAccessKey" : "imds-secret",
      "Token" : "imds-token",
      "Expiration" : "2023-11-15T04:13:20Z"
    }
    """

@Suite("Instance metadata (IMDSv2)")
struct IMDSClientTests {
    @Test(arguments: try IMDSEndpointCase.all())
    func endpointResolutionConformance(test: IMDSEndpointCase) throws {
        #expect(test.ok != nil || test.error != nil)
        let resolve = { () throws(IMDSError) -> URL in
            try IMDSClient.resolveEndpoint(
                environment: test.environment, profileEndpoint: test.profile["ec2_metadata_service_endpoint"],
                profileMode: test.profile["ec2_metadata_service_endpoint_mode"],
                endpointOverride: test.endpointOverride.flatMap { URL(string: $0) },
                modeOverride: test.modeOverride.flatMap { IMDSClient.EndpointMode(configValue: $0) })
        }
        if let ok = test.ok {
            // The suite gives the token URL; the client builds it from the endpoint.
            let client = IMDSClient(endpoint: try resolve(), transport: ScriptedTransport())
            #expect(client.endpoint.absoluteString + IMDSClient.tokenPath == ok)
        } else {
            do {
                _ = try resolve()
                Issue.record("expected an error")
            } catch {
                // The mode messages are worded as in the suite; "invalid uri character" is Rust's parser's own.
                if let message = test.error, message.contains("valid endpoint mode") {
                    #expect(error.description.contains(message))
                } else {
                    #expect(error == IMDSError.invalidEndpoint("not a uri"))
                }
            }
        }
    }

    @Test(arguments: [("True", true), ("true", true), ("false", false), ("", false)])
    func disabledVariable(value: String, disabled: Bool) {
        #expect(IMDSClient.isDisabled(environment: ["AWS_EC2_METADATA_DISABLED": value]) == disabled)
    }

    func client(_ transport: ScriptedTransport, sleeper: SleepRecorder = SleepRecorder()) throws -> IMDSClient
    {
        IMDSClient(
            endpoint: try #require(URL(string: "http://127.0.0.1:9999/")), transport: transport,
            retry: fastRetry(sleeper, attempts: 4))
    }

    @Test func tokenThenRoleThenCredentials() async throws {
        let transport = ScriptedTransport([.text("session-token"), .text("app-role\n"), .text(imdsDocument)])
        let result = try await client(transport).credentials()
        #expect(
            result
                == IMDSCredentials(
                    credentials: AWSCredentials(
                        accessKeyId: "ASIAIMDS", secretAccessKey: "imds-secret", sessionToken: "imds-token",
                        expiration: Date(timeIntervalSince1970: 1_700_021_600)),
                    roleName: "app-role", lastUpdated: Date(timeIntervalSince1970: 1_699_999_200)))
        let requests = await transport.requests
        #expect(requests.map(\.method) == ["PUT", "GET", "GET"])
        #expect(
            requests.map(\.url.absoluteString) == [
                "http://127.0.0.1:9999/latest/api/token",
                "http://127.0.0.1:9999/latest/meta-data/iam/security-credentials/",
                "http://127.0.0.1:9999/latest/meta-data/iam/security-credentials/app-role",
            ])
        #expect(requests[0].headers == ["x-aws-ec2-metadata-token-ttl-seconds": "21600"])
        #expect(requests[1].headers == ["x-aws-ec2-metadata-token": "session-token"])
        #expect(requests[2].headers == ["x-aws-ec2-metadata-token": "session-token"])
        #expect(await transport.timeouts == [.seconds(1), .seconds(1), .seconds(1)])
    }

    @Test func anExpiredTokenIsFetchedAgainOnce() async throws {
        let transport = ScriptedTransport([
            .text("old"), .text("", status: 401), .text("new"), .text("app-role"), .text(imdsDocument),
        ])
        let result = try await client(transport).credentials()
        #expect(result.credentials.accessKeyId == "ASIAIMDS")
        #expect(await transport.requests.last?.headers["x-aws-ec2-metadata-token"] == "new")

        let rejecting = ScriptedTransport([
            .text("a"), .text("", status: 401), .text("b"), .text("", status: 401),
        ])
        await #expect(throws: IMDSError.tokenRejected) { _ = try await client(rejecting).credentials() }
    }

    @Test(arguments: [
        (
            [ScriptedTransport.Step.text("", status: 403)],
            IMDSError.tokenForbidden(endpoint: "127.0.0.1:9999")
        ),
        ([.text("t"), .text("not found", status: 404)], .noInstanceRole),
        ([.text("t"), .text("")], .noInstanceRole),
        ([.text("t"), .text("r"), .text("", status: 404)], .roleNotFound("r")),
        (
            [.text("t"), .text("r"), .text("{\"Code\":\"AssumeRoleUnauthorizedAccess\"}")],
            .unsuccessful(code: "AssumeRoleUnauthorizedAccess", roleName: "r")
        ),
    ])
    func failuresAreNamed(steps: [ScriptedTransport.Step], expected: IMDSError) async throws {
        let transport = ScriptedTransport(steps)
        await #expect(throws: expected) { _ = try await client(transport).credentials() }
        #expect(await transport.remainingSteps == 0)
        #expect(!expected.description.isEmpty)
    }

    @Test func serverErrorsAndTimeoutsAreRetried() async throws {
        let transport = ScriptedTransport([
            .text("", status: 503), .fail(HTTPTransportError.timedOut), .text("t"), .text("", status: 500),
            .text("r"), .text(imdsDocument),
        ])
        let sleeper = SleepRecorder()
        _ = try await client(transport, sleeper: sleeper).credentials()
        #expect(sleeper.delays.count == 3)
        #expect(await transport.requests.count == 6)
    }

    @Test func aDocumentMissingFieldsIsAnInvalidResponse() async throws {
        let transport = ScriptedTransport([
            .text("t"), .text("r"),
            .text("{\"Code\":\"Success\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}"),
        ])
        await #expect {
            _ = try await client(transport).credentials()
        } throws: { error in
            guard case .invalidResponse(_, "GetCredentials", 200, let reason) = error as? AWSClientError
            else {
                return false
            }
            return reason.contains("Token")
        }
    }
}

@Suite("Container credentials (ECS / EKS Pod Identity)")
struct ContainerCredentialsTests {
    @Test(arguments: try ContainerURICase.all())
    func uriResolutionConformance(test: ContainerURICase) throws {
        if let ok = test.ok {
            let configuration = try #require(
                try ContainerCredentialsClient.configuration(environment: test.environment))
            #expect(configuration.url.absoluteString == ok)
        } else if test.environment.isEmpty {
            // "all fields unset": the provider is simply not configured.
            #expect(try ContainerCredentialsClient.configuration(environment: test.environment) == nil)
        } else {
            do {
                _ = try ContainerCredentialsClient.configuration(environment: test.environment)
                Issue.record("expected an error")
            } catch {
                #expect(error.description.contains(test.error ?? ""))
            }
        }
    }

    @Test(arguments: [
        ("http://127.0.0.1:8080/creds", true), ("http://127.1.2.3/creds", true), ("http://[::1]:80/c", true),
        ("http://localhost/c", true), ("http://169.254.170.23/v1/credentials", true),
        ("http://example.com/creds", false), ("http://169.254.169.254/creds", false),
        ("http://128.0.0.1/c", false),
        ("http://127.0.0.1.example.com/c", false), ("https://example.com/creds", true),
    ])
    func plainHTTPIsOnlyForLocalHosts(uri: String, allowed: Bool) throws {
        let environment = ["AWS_CONTAINER_CREDENTIALS_FULL_URI": uri]
        if allowed {
            #expect(
                try ContainerCredentialsClient.configuration(environment: environment)?.url.absoluteString
                    == uri)
        } else {
            #expect(throws: ContainerCredentialsError.self) {
                _ = try ContainerCredentialsClient.configuration(environment: environment)
            }
        }
    }

    @Test func theTokenFileWinsOverTheVariable() throws {
        let configuration = try ContainerCredentialsClient.configuration(environment: [
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1/c",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "from-variable",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/var/run/token",
        ])
        #expect(configuration?.authorization == .tokenFile("/var/run/token"))
    }

    let ecsJSON = """
        {"RoleArn":"arn:aws:iam::123456789012:role/task","AccessKeyId":"ASIAECS","SecretAccessKey":"ecs-secret",
         "Token":"ecs-token","AccountId":"123456789012","Expiration":"2023-11-15T04:13:20Z"}
        """

    @Test func getsCredentialsWithTheTokenFromTheFileOnEveryRequest() async throws {
        let transport = ScriptedTransport([.json(ecsJSON), .json(ecsJSON)])
        let reads = SleepRecorder()  // counts the reads
        let client = ContainerCredentialsClient(
            configuration: .init(
                url: try #require(URL(string: "http://169.254.170.23/v1/credentials")),
                authorization: .tokenFile("/token.jwt")),
            transport: transport,
            readFile: { path in
                reads.sleep(.seconds(1))
                return Data("file-token-\(path == "/token.jwt")\n".utf8)
            })
        let result = try await client.credentials()
        _ = try await client.credentials()
        #expect(
            result
                == ContainerCredentials(
                    credentials: AWSCredentials(
                        accessKeyId: "ASIAECS", secretAccessKey: "ecs-secret", sessionToken: "ecs-token",
                        expiration: Date(timeIntervalSince1970: 1_700_021_600)),
                    accountId: "123456789012", roleArn: "arn:aws:iam::123456789012:role/task"))
        #expect(reads.delays.count == 2)
        let request = try #require(await transport.requests.first)
        #expect(request.method == "GET")
        #expect(request.url.absoluteString == "http://169.254.170.23/v1/credentials")
        #expect(request.headers == ["Accept": "application/json", "Authorization": "file-token-true"])
    }

    @Test func tokenProblemsAreErrorsBeforeAnyRequest() async throws {
        let url = try #require(URL(string: "http://127.0.0.1/c"))
        let transport = ScriptedTransport()
        let missing = ContainerCredentialsClient(
            configuration: .init(url: url, authorization: .tokenFile("/nonexistent/latchkey-token")),
            transport: transport)
        await #expect(
            throws: ContainerCredentialsError.tokenFileUnreadable(
                path: "/nonexistent/latchkey-token", reason: "no such file")
        ) { _ = try await missing.credentials() }
        let injected = ContainerCredentialsClient(
            configuration: .init(url: url, authorization: .token("abc\r\nX-Evil: 1")), transport: transport)
        await #expect(
            throws: ContainerCredentialsError.tokenHasLineBreak(source: "AWS_CONTAINER_AUTHORIZATION_TOKEN")
        ) {
            _ = try await injected.credentials()
        }
        #expect(await transport.requests.isEmpty)
    }

    @Test func errorAnswersAreReadAndServerErrorsRetried() async throws {
        let url = try #require(URL(string: "http://127.0.0.1/c"))
        let transport = ScriptedTransport([
            .json("{\"code\":\"InternalError\",\"message\":\"agent busy\"}", status: 500), .json(ecsJSON),
            .json("{\"code\":\"AccessDenied\",\"message\":\"bad token\"}", status: 403),
        ])
        let sleeper = SleepRecorder()
        let client = ContainerCredentialsClient(
            configuration: .init(url: url, authorization: .token("secret-container-token")),
            transport: transport,
            retry: fastRetry(sleeper))
        _ = try await client.credentials()
        #expect(sleeper.delays.count == 1)
        await #expect {
            _ = try await client.credentials()
        } throws: { error in
            let service = (error as? AWSClientError)?.serviceError
            return service?.code == "AccessDenied" && service?.message == "bad token"
                && !String(describing: error).contains("secret-container-token")
        }
        #expect(await transport.requests.count == 3)
        #expect(
            !ContainerCredentialsClient.Authorization.token("secret-container-token").description.contains(
                "secret"))
    }
}
