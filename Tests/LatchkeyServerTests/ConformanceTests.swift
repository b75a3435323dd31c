import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyServer

/// The container provider's URL rules as SDKs apply them (PROTOCOLS.md (b)), checked against
/// every `ecs-tests.json` case, then applied to the variables our ECS server hands out.
func containerCredentialsURL(_ env: [String: String]) -> Result<String, ClientError> {
    if let relative = env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] {
        return .success("http://169.254.170.2" + relative)
    }
    guard let full = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] else {
        return .failure(ClientError("No environment variables were set to configure ECS provider"))
    }
    guard let url = URLComponents(string: full), let scheme = url.scheme, let host = url.host, !host.isEmpty
    else {
        return .failure(ClientError("URI did not specify a host"))
    }
    let allowedHTTPHosts = [
        "localhost", "169.254.170.2", "169.254.170.23", "fd00:ec2::23", "[fd00:ec2::23]", "::1",
    ]
    guard scheme == "https" || host.hasPrefix("127.") || allowedHTTPHosts.contains(host) else {
        return .failure(ClientError("host is not allowed for http"))
    }
    return .success(full)
}

/// The IMDS endpoint rules (PROTOCOLS.md (c)) for `imds-endpoint-tests.json`.
func metadataTokenURL(_ test: [String: Any]) -> Result<String, ClientError> {
    let env = test["env"] as? [String: String] ?? [:]
    var config: [String: String] = [:]
    if let files = test["fs"] as? [String: String], let name = env["AWS_CONFIG_FILE"], let text = files[name]
    {
        for line in text.split(separator: "\n") where line.contains("=") {
            let parts = line.split(separator: "=", maxSplits: 1).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            config[parts[0]] = parts[1]
        }
    }
    let endpoint =
        test["endpoint_override"] as? String ?? env["AWS_EC2_METADATA_SERVICE_ENDPOINT"]
        ?? config["ec2_metadata_service_endpoint"]
    if let endpoint {
        guard !endpoint.contains(" "), URLComponents(string: endpoint)?.host != nil else {
            return .failure(ClientError("invalid uri character"))
        }
        return .success(String(endpoint.reversed().drop { $0 == "/" }.reversed()) + "/latest/api/token")
    }
    let mode =
        test["mode_override"] as? String ?? env["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"]
        ?? config["ec2_metadata_service_endpoint_mode"] ?? "IPv4"
    switch mode.lowercased() {
    case "ipv4": return .success("http://169.254.169.254/latest/api/token")
    case "ipv6": return .success("http://[fd00:ec2::254]/latest/api/token")
    default: return .failure(ClientError("`\(mode)` is not a valid endpoint mode"))
    }
}

struct ClientError: Error, Equatable {
    var message: String
    init(_ message: String) { self.message = message }
}

func expectMatches(_ result: Result<String, ClientError>, _ test: [String: Any]) {
    let expected = test["result"] as? [String: String] ?? [:]
    let docs = test["docs"] as? String ?? "?"
    switch result {
    case .success(let url):
        #expect(expected["Ok"] == url, "\(docs)")
    case .failure(let error):
        let needle = expected["ErrorContains"] ?? expected["Err"]
        #expect(needle.map { error.message.contains($0) } == true, "\(docs): \(error.message)")
    }
}

struct ConformanceTests {
    @Test func ecsURLRulesMatchEveryCaseAndAcceptOurServer() throws {
        let cases = try ConformanceData.cases("credential-provider-tests/ecs-tests.json")
        #expect(cases.count == 11)
        for test in cases {
            expectMatches(containerCredentialsURL(test["env"] as? [String: String] ?? [:]), test)
        }
        let server = try CredentialServer(
            kind: .ecs, feed: feed(), roleName: "doug", region: "us-east-1", threads: 1)
        defer { server.stop() }
        for variables in [server.clientVariables(), server.clientVariables(tokenFile: "/run/token")] {
            #expect(try containerCredentialsURL(variables).get() == "http://127.0.0.1:\(server.port)/")
        }
        // A relative URI would win over ours: the client environment never carries one.
        let environment = serverClientEnvironment(
            base: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/elsewhere", "AWS_ACCESS_KEY_ID": "AKIA"],
            server: server,
            profile: "doug", region: nil)
        #expect(environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] == nil)
        #expect(environment["AWS_ACCESS_KEY_ID"] == nil)
        #expect(try containerCredentialsURL(environment).get() == server.url)
    }

    @Test func imdsEndpointRulesMatchEveryCaseAndReachOurTokenPath() throws {
        let cases = try ConformanceData.cases(
            "credential-provider-tests/imds-config/imds-endpoint-tests.json")
        #expect(cases.count == 14)
        for test in cases { expectMatches(metadataTokenURL(test), test) }

        let handler = IMDSHandler(
            port: 6000, feed: feed(), roleName: "doug", region: "us-east-1", limiter: .init())
        let variables = ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:6000/"]
        let tokenURL = try metadataTokenURL(["env": variables]).get()
        #expect(tokenURL == "http://127.0.0.1:6000/latest/api/token")
        let path = String(tokenURL.dropFirst("http://127.0.0.1:6000".count))
        let response = handler.respond(
            to: HTTPRequest(method: "PUT", target: path, host: "127.0.0.1:6000", metadataTokenTTL: "21600"))
        #expect(response.status == 200)
    }

    /// Replays the requests SDKs made in the recorded IMDS and ECS traffic against our handlers
    /// and compares status, content type and the JSON fields the SDKs read.
    /// Skipped recordings, and why: `imds_token_fail` (IMDS switched off: 403 on PUT) and
    /// `imds_no_iam_role` (an instance without a role) are states our server is never in;
    /// `ecs_assume_role`, `imds_assume_role`, `eks_*`, `imds_default_chain_retries/error` test the
    /// client's chaining and retries, not what the server answers.
    @Test(arguments: ["imds_default_chain_success", "ecs_credentials"])
    func recordedTrafficGetsTheSameKindOfAnswers(_ name: String) throws {
        let traffic = try ConformanceData.object(
            "credential-provider-tests/default-credential-provider-chain/\(name)/http-traffic.json")
        let events = traffic["events"] as? [[String: Any]] ?? []
        var exchanges: [(request: [String: Any], status: Int, contentType: String?, body: String)] = []
        for event in events {
            let action = event["action"] as? [String: Any] ?? [:]
            if let request = (action["Request"] as? [String: Any])?["request"] as? [String: Any] {
                exchanges.append((request, 0, nil, ""))
            } else if let response = ((action["Response"] as? [String: Any])?["response"] as? [String: Any])?[
                "Ok"]
                as? [String: Any], !exchanges.isEmpty
            {
                exchanges[exchanges.count - 1].status = response["status"] as? Int ?? 0
                let headers = response["headers"] as? [String: [String]] ?? [:]
                exchanges[exchanges.count - 1].contentType = headers["content-type"]?.first
            } else if let data = action["Data"] as? [String: Any], data["direction"] as? String == "Response",
                !exchanges.isEmpty
            {
                exchanges[exchanges.count - 1].body += (data["data"] as? [String: String])?["Utf8"] ?? ""
            }
        }
        #expect(!exchanges.isEmpty)

        let ecsToken = randomHexToken()
        let ecs = ECSHandler(token: ecsToken, port: 80, feed: feed(), roles: nil, limiter: .init())
        let imds = IMDSHandler(
            port: 80, feed: feed(), roleName: "imds-assume-role-test", region: "us-east-1", limiter: .init())
        var metadataToken: String?
        for exchange in exchanges {
            let uri = URLComponents(string: exchange.request["uri"] as? String ?? "")
            let headers = exchange.request["headers"] as? [String: [String]] ?? [:]
            var request = HTTPRequest(
                method: exchange.request["method"] as? String ?? "", target: uri?.path ?? "",
                host: "127.0.0.1:80")
            request.metadataTokenTTL = headers["x-aws-ec2-metadata-token-ttl-seconds"]?.first
            let response: HTTPResponse
            if name.hasPrefix("ecs") {
                // Our server lives at `/` of the FULL_URI we hand out, with the token we chose.
                request.target = "/"
                request.authorization = ecsToken
                response = ecs.respond(to: request)
            } else {
                if headers["x-aws-ec2-metadata-token"] != nil { request.metadataToken = metadataToken }
                response = imds.respond(to: request)
                if request.method == "PUT" { metadataToken = response.bodyText }
            }
            #expect(response.status == exchange.status, "\(request.method) \(request.target)")
            #expect(response.contentType == exchange.contentType, "\(request.method) \(request.target)")
            if let recorded = try? JSONSerialization.jsonObject(with: Data(exchange.body.utf8))
                as? [String: Any]
            {
                let ours =
                    try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:]
                // RoleArn and AccountId are optional extras of real ECS; everything else must be there.
                let required = Set(recorded.keys).subtracting(["RoleArn", "AccountId"])
                #expect(required.isSubset(of: Set(ours.keys)), "\(required.subtracting(ours.keys))")
            } else if exchange.request["method"] as? String == "GET" {
                #expect(response.bodyText == exchange.body)
            }
        }
    }
}
