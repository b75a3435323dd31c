import AWSClient
import AWSSigV4
import Foundation
import Testing

/// The JSON the loopback origin answers on /echo and /last.
private struct SeenRequest: Decodable {
    var method: String
    var path: String
    var headers: [String: String]
    var body: String

    var bodyBytes: Data { Data(base64Encoded: body) ?? Data() }

    init(_ response: HTTPResponse) throws {
        self = try JSONDecoder().decode(SeenRequest.self, from: response.body)
    }
}

private func connectionReason(_ error: any Error) -> String? {
    if case .connection(let reason) = error as? HTTPTransportError { return reason }
    return nil
}

/// Real HTTP over loopback through libcurl (loaded with dlopen), against Python servers.
@Suite("CurlTransport over loopback")
struct CurlTransportTests {
    let transport = CurlTransport(userAgent: "latchkey/test", environment: [:])

    @Test func postArrivesIntactAndTheAnswerComesBack() async throws {
        let server = try await LoopbackServer.start(.origin)
        // Binary body: NUL, high bytes and CRLF must all survive.
        let body = Data([0, 1, 2, 0xff, 0xfe, 13, 10]) + Data("Action=Test&Value=a%20b".utf8)
        let request = HTTPRequest(
            method: "POST", url: try server.url("/echo"),
            headers: [
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "X-Amz-Date": "20231114T221320Z",
                "X-Empty": "",
            ],
            body: body)
        let response = try await transport.send(request, timeout: .seconds(10))

        #expect(response.status == 201)
        #expect(response.headers["x-echo"] == "yes")
        #expect(response.headers["x-multi"] == "a, b")
        #expect(response.headers["content-type"] == "application/json")
        let seen = try SeenRequest(response)
        #expect(seen.method == "POST")
        #expect(seen.path == "/echo")
        #expect(seen.bodyBytes == body)
        #expect(seen.headers["content-type"] == "application/x-www-form-urlencoded; charset=utf-8")
        #expect(seen.headers["x-amz-date"] == "20231114T221320Z")
        #expect(seen.headers["x-empty"] == "")
        #expect(seen.headers["user-agent"] == "latchkey/test")
        #expect(seen.headers["content-length"] == String(body.count))
        #expect(seen.headers["expect"] == nil)
    }

    @Test(arguments: ["GET", "PUT", "DELETE", "PATCH"])
    func methodsAndBodiesArriveAsGiven(method: String) async throws {
        let server = try await LoopbackServer.start(.origin)
        let body = method == "GET" ? Data() : Data("payload for \(method)".utf8)
        let response = try await transport.send(
            HTTPRequest(method: method, url: try server.url("/echo"), body: body), timeout: .seconds(10))
        let seen = try SeenRequest(response)
        #expect(seen.method == method)
        #expect(seen.bodyBytes == body)
    }

    @Test func headAnswersWithoutABody() async throws {
        let server = try await LoopbackServer.start(.origin)
        let response = try await transport.send(
            HTTPRequest(method: "HEAD", url: try server.url("/echo")), timeout: .seconds(10))
        #expect(response.status == 201)
        #expect(response.headers["x-echo"] == "yes")
        #expect(response.body.isEmpty)
    }

    @Test(arguments: [500, 403, 404, 429])
    func errorStatusesAreResponsesNotErrors(status: Int) async throws {
        let server = try await LoopbackServer.start(.origin)
        let response = try await transport.send(
            HTTPRequest(method: "GET", url: try server.url("/status/\(status)")), timeout: .seconds(10))
        #expect(response.status == status)
        #expect(String(decoding: response.body, as: UTF8.self) == "status \(status)")
    }

    @Test func redirectsAreNotFollowed() async throws {
        let server = try await LoopbackServer.start(.origin)
        let response = try await transport.send(
            HTTPRequest(method: "GET", url: try server.url("/redirect")), timeout: .seconds(10))
        #expect(response.status == 302)
        #expect(response.headers["location"] == "/echo")
        #expect(try await server.nextRequestLine() == "GET /redirect")
    }

    @Test func aServerThatNeverAnswersTimesOutWithinTheBound() async throws {
        let server = try await LoopbackServer.start(.origin)
        let clock = ContinuousClock()
        let started = clock.now
        await #expect(throws: HTTPTransportError.timedOut) {
            try await transport.send(
                HTTPRequest(method: "POST", url: try server.url("/silent"), body: Data("x".utf8)),
                timeout: .milliseconds(400))
        }
        let elapsed = clock.now - started
        #expect(elapsed >= .milliseconds(400))
        #expect(elapsed < .seconds(10))  // generous: it proves the call ends, not how fast
    }

    @Test func aRefusedPortIsAConnectionFailure() async throws {
        let port = try await LoopbackServer.closedPort()
        let url = try #require(URL(string: "http://127.0.0.1:\(port)/"))
        let secretBody = Data("Action=GetSessionToken&TokenCode=SECRET-BODY-123456".utf8)
        do {
            _ = try await transport.send(
                HTTPRequest(method: "POST", url: url, body: secretBody), timeout: .seconds(10))
            Issue.record("a closed port answered")
        } catch {
            let reason = try #require(connectionReason(error), "expected .connection, got \(error)")
            #expect(reason.contains("refused"))
            #expect(!String(describing: error).contains("SECRET-BODY"))
        }
    }

    @Test func anUnresolvableHostIsAConnectionFailure() async throws {
        // RFC 6761: .invalid never resolves.
        let url = try #require(URL(string: "http://latchkey-test.invalid/"))
        do {
            _ = try await transport.send(HTTPRequest(method: "GET", url: url), timeout: .seconds(20))
            Issue.record("an .invalid host answered")
        } catch {
            let reason = try #require(connectionReason(error), "expected .connection, got \(error)")
            #expect(reason.contains("could not be resolved"))
            #expect(reason.contains("latchkey-test.invalid"))
        }
    }

    @Test func tlsToAPlainHTTPServerFailsTheHandshake() async throws {
        let server = try await LoopbackServer.start(.origin)
        let url = try #require(URL(string: "https://127.0.0.1:\(server.port)/echo"))
        do {
            _ = try await transport.send(HTTPRequest(method: "GET", url: url), timeout: .seconds(10))
            Issue.record("TLS to a plain HTTP server succeeded")
        } catch {
            let reason = try #require(connectionReason(error), "expected .connection, got \(error)")
            #expect(reason.contains("TLS handshake failed"))
        }
    }

    @Test func onlyHTTPAndHTTPSAreAllowed() async throws {
        let url = try #require(URL(string: "file:///etc/passwd"))
        do {
            _ = try await transport.send(HTTPRequest(method: "GET", url: url), timeout: .seconds(5))
            Issue.record("a file: URL was read")
        } catch {
            let reason = try #require(connectionReason(error), "expected .connection, got \(error)")
            #expect(reason.contains("not http or https"))
        }
    }

    @Test func anAnswerOverTheCapFails() async throws {
        let server = try await LoopbackServer.start(.origin)
        let small = CurlTransport(environment: [:], maxResponseBytes: 1000)
        do {
            _ = try await small.send(
                HTTPRequest(method: "GET", url: try server.url("/big")), timeout: .seconds(10))
            Issue.record("a 5000-byte answer passed a 1000-byte cap")
        } catch {
            let reason = try #require(connectionReason(error), "expected .connection, got \(error)")
            #expect(reason.contains("too large"))
        }
        // At the cap's size it passes.
        let exact = CurlTransport(environment: [:], maxResponseBytes: 5000)
        let response = try await exact.send(
            HTTPRequest(method: "GET", url: try server.url("/big")), timeout: .seconds(10))
        #expect(response.body.count == 5000)
    }

    @Test(arguments: [
        (["X-Bad": "a\r\nX-Injected: 1"], "'X-Bad' has a line break"),
        (["X-Bad": "a\nX-Injected: 1"], "'X-Bad' has a line break"),
        (["X-Bad\r\nX-Injected": "1"], "not a single token"),
        (["X-Bad: X-Injected": "1"], "not a single token"),
        (["": "1"], "not a single token"),
    ])
    func aHeaderThatWouldSmuggleAnotherIsRefusedBeforeSending(headers: [String: String], expected: String)
        async throws
    {
        let server = try await LoopbackServer.start(.origin)
        let request = HTTPRequest(method: "GET", url: try server.url("/echo"), headers: headers)
        do {
            _ = try await transport.send(request, timeout: .seconds(5))
            Issue.record("a header with a line break was sent")
        } catch {
            let reason = try #require(connectionReason(error))
            #expect(reason.contains(expected))
            #expect(!reason.contains("Injected"))
        }
        // Nothing reached the server: the next request it sees is this one.
        _ = try await transport.send(
            HTTPRequest(method: "GET", url: try server.url("/status/204")), timeout: .seconds(5))
        #expect(try await server.nextRequestLine() == "GET /status/204")
    }

    @Test func cancellingTheTaskAbortsTheTransfer() async throws {
        let server = try await LoopbackServer.start(.origin)
        let url = try server.url("/silent")
        let transport = transport
        let task = Task {
            try await transport.send(HTTPRequest(method: "GET", url: url), timeout: .seconds(60))
        }
        // Cancel once the server holds the request, so the abort happens mid-transfer.
        #expect(try await server.nextRequestLine() == "GET /silent")
        let clock = ContinuousClock()
        let started = clock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(clock.now - started < .seconds(5))
    }
}

@Suite("CurlTransport proxies")
struct CurlTransportProxyTests {
    @Test func httpProxyFromTheEnvironmentDictionaryIsUsed() async throws {
        let origin = try await LoopbackServer.start(.origin)
        let proxy = try await LoopbackServer.start(.proxy)
        let transport = CurlTransport(environment: ["http_proxy": "http://127.0.0.1:\(proxy.port)"])
        let response = try await transport.send(
            HTTPRequest(
                method: "POST", url: try origin.url("/echo", host: "origin.invalid"),
                body: Data("through".utf8)),
            timeout: .seconds(10))
        #expect(response.status == 201)
        #expect(response.headers["x-proxied-by"] == "loopback-proxy")
        #expect(try SeenRequest(response).bodyBytes == Data("through".utf8))
        #expect(try await proxy.nextRequestLine() == "POST http://origin.invalid:\(origin.port)/echo")
    }

    /// A host NO_PROXY names is reached directly: "origin.invalid" does not resolve, so the request
    /// fails with a connection error instead of arriving through the proxy.
    @Test(arguments: ["origin.invalid", ".invalid", "*", "example.com, invalid.", "10.0.0.0/8,invalid"])
    func noProxyBypassesTheProxy(noProxy: String) async throws {
        let origin = try await LoopbackServer.start(.origin)
        let proxy = try await LoopbackServer.start(.proxy)
        let transport = CurlTransport(
            environment: ["http_proxy": "http://127.0.0.1:\(proxy.port)", "NO_PROXY": noProxy])
        await #expect(throws: HTTPTransportError.self) {
            _ = try await transport.send(
                HTTPRequest(method: "GET", url: try origin.url("/echo", host: "origin.invalid")),
                timeout: .seconds(10))
        }
    }

    /// Loopback and the container/IMDS addresses never go through a proxy, NO_PROXY or not.
    @Test(arguments: ["127.0.0.1", "localhost"])
    func loopbackIsNeverProxied(host: String) async throws {
        let origin = try await LoopbackServer.start(.origin)
        let proxy = try await LoopbackServer.start(.proxy)
        let transport = CurlTransport(
            environment: [
                "http_proxy": "http://127.0.0.1:\(proxy.port)", "all_proxy": "http://127.0.0.1:\(proxy.port)",
            ])
        let response = try await transport.send(
            HTTPRequest(method: "GET", url: try origin.url("/echo", host: host)), timeout: .seconds(10))
        #expect(response.status == 201)
        #expect(response.headers["x-proxied-by"] == nil)
    }

    @Test func upperCaseHTTPProxyIsIgnoredLikeCurlDoes() async throws {
        let origin = try await LoopbackServer.start(.origin)
        let proxy = try await LoopbackServer.start(.proxy)
        let transport = CurlTransport(environment: ["HTTP_PROXY": "http://127.0.0.1:\(proxy.port)"])
        // Reached directly, "origin.invalid" does not resolve; through the proxy it would answer.
        await #expect(throws: HTTPTransportError.self) {
            _ = try await transport.send(
                HTTPRequest(method: "GET", url: try origin.url("/echo", host: "origin.invalid")),
                timeout: .seconds(10))
        }
    }

    @Test func anUnresolvableProxyFailsWithoutShowingItsPassword() async throws {
        let origin = try await LoopbackServer.start(.origin)
        let transport = CurlTransport(
            environment: ["http_proxy": "http://user:hunter2-proxy-pw@latchkey-proxy.invalid:3128"])
        do {
            _ = try await transport.send(
                HTTPRequest(method: "GET", url: try origin.url("/echo", host: "origin.invalid")),
                timeout: .seconds(20))
            Issue.record("an unresolvable proxy answered")
        } catch {
            let reason = try #require(connectionReason(error), "expected .connection, got \(error)")
            #expect(reason.contains("proxy"))
            #expect(!String(describing: error).contains("hunter2"))
        }
    }
}

@Suite("CurlTransport with STSClient")
struct CurlTransportSTSTests {
    @Test func getCallerIdentityEndToEnd() async throws {
        let server = try await LoopbackServer.start(.origin)
        let endpoint = try server.url("")
        let keys = AWSCredentials(
            accessKeyId: "AKIDLOOPBACK", secretAccessKey: "loopback-secret", sessionToken: "loopback-token")
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let transport = CurlTransport(userAgent: "latchkey/test", environment: [:])
        let sts = try STSClient(
            credentials: keys, region: "eu-west-1", endpoint: endpoint, transport: transport, now: { now })

        let identity = try await sts.getCallerIdentity()
        #expect(
            identity
                == CallerIdentity(
                    account: "123456789012", arn: "arn:aws:iam::123456789012:user/doug", userId: "AIDAEXAMPLE"
                ))

        // What arrived is what was signed: an independent signature over the received request matches.
        let seen = try SeenRequest(
            try await transport.send(
                HTTPRequest(method: "GET", url: try server.url("/last")), timeout: .seconds(10)))
        #expect(seen.method == "POST")
        #expect(
            String(decoding: seen.bodyBytes, as: UTF8.self) == "Action=GetCallerIdentity&Version=2011-06-15")
        #expect(seen.headers["x-amz-security-token"] == "loopback-token")
        let host = try #require(seen.headers["host"])
        #expect(host == "127.0.0.1:\(server.port)")
        let expected = SigV4Signer(credentials: keys, region: "eu-west-1", service: "sts").sign(
            method: "POST", path: "/",
            headers: [("Host", host), ("Content-Type", seen.headers["content-type"] ?? "")],
            payload: .bytes(seen.bodyBytes), date: now)
        #expect(seen.headers["authorization"] == expected.authorization)
    }
}

@Suite("CurlTransport helpers")
struct CurlTransportHelperTests {
    @Test func headersOfTheFinalResponseOnly() {
        let raw =
            "HTTP/1.1 200 Connection established\r\nVia: proxy\r\n\r\n"
            + "HTTP/1.1 100 Continue\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nX-Amzn-RequestId: r1\r\nSet: a\r\nSet: b\r\n"
            + "X-Folded: one\r\n  two\r\nX-Spaces:   padded  \r\n\r\n"
        #expect(
            CurlTransport.parseHeaders(raw) == [
                "content-type": "text/xml", "x-amzn-requestid": "r1", "set": "a, b", "x-folded": "one two",
                "x-spaces": "padded",
            ])
    }

    @Test(arguments: [
        (Duration.seconds(7), 7000),
        (.milliseconds(1), 1),
        (.microseconds(1), 1),
        (.microseconds(1500), 2),
        (.zero, 1),
        (.seconds(-3), 1),
    ])
    func timeoutsInWholeMillisecondsNeverZero(duration: Duration, expected: Int) {
        #expect(CurlTransport.milliseconds(duration) == expected)
    }

    @Test func unavailableLibcurlSaysWhatToInstall() {
        let text = CurlTransportError.libcurlUnavailable(
            detail: "libcurl.so.4: cannot open shared object file"
        )
        .description
        #expect(
            text.hasPrefix("latchkey needs libcurl to call AWS: install it (Debian: apt install libcurl4)"))
        #expect(text.contains("libcurl.so.4: cannot open shared object file"))
    }

    /// Stands in for a machine without libcurl, which cannot be arranged inside this process.
    private struct NoLibcurl: HTTPTransport {
        func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
            throw CurlTransportError.libcurlUnavailable(
                detail: "libcurl.so.4: cannot open shared object file")
        }
    }

    @Test func aMissingLibcurlIsReportedAtOnceNotRetried() async throws {
        let sleeper = SleepRecorder()
        let sts = try STSClient(
            credentials: userKeys, region: "eu-west-1", transport: NoLibcurl(),
            retry: RetryPolicy(
                maxAttempts: 3, baseDelay: .milliseconds(100), maxBackoff: .seconds(1),
                sleep: { sleeper.sleep($0) },
                random: { 1 }),
            now: { fixedNow })
        await #expect(
            throws: CurlTransportError.libcurlUnavailable(
                detail: "libcurl.so.4: cannot open shared object file")
        ) {
            try await sts.getCallerIdentity()
        }
        #expect(sleeper.delays.isEmpty)
    }

    @Test func defaultTransportOnLinuxIsCurl() {
        #if canImport(Darwin)
            #expect(defaultHTTPTransport(userAgent: "latchkey/test") is URLSessionTransport)
        #else
            #expect(defaultHTTPTransport(userAgent: "latchkey/test", environment: [:]) is CurlTransport)
        #endif
    }
}
