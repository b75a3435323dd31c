import AWSClient
import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

@Suite("Retries, timeouts and errors")
struct RetryAndErrorTests {
    func getSessionToken(_ sts: STSClient) async throws -> AWSCredentials {
        try await sts.getSessionToken(
            durationSeconds: nil, serialNumber: "arn:aws:iam::1:mfa/d", tokenCode: "987654")
    }

    @Test(arguments: [
        "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
    ])
    func throttlingTwiceThenSuccess(code: String) async throws {
        let transport = ScriptedTransport([
            .xml(errorXML(code), status: 400), .xml(errorXML(code), status: 400), .xml(sessionTokenXML()),
        ])
        let sleeper = SleepRecorder()
        let credentials = try await getSessionToken(try makeSTS(transport, sleeper: sleeper))
        #expect(credentials.accessKeyId == "ASIAEXAMPLE")
        #expect(await transport.requests.count == 3)
        #expect(sleeper.delays == [.milliseconds(100), .milliseconds(200)])
    }

    @Test(arguments: [500, 502, 503, 504, 429])
    func serverErrorThenSuccess(status: Int) async throws {
        let transport = ScriptedTransport([
            .xml(errorXML("InternalFailure"), status: status), .xml(sessionTokenXML()),
        ])
        let sleeper = SleepRecorder()
        _ = try await getSessionToken(try makeSTS(transport, sleeper: sleeper))
        #expect(await transport.requests.count == 2)
        #expect(sleeper.delays.count == 1)
    }

    @Test(arguments: [
        "AccessDenied", "ValidationError", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken",
    ])
    func clientErrorsAreNotRetried(code: String) async throws {
        let transport = ScriptedTransport([
            .xml(errorXML(code, message: "no"), status: 403), .xml(sessionTokenXML()),
        ])
        let sleeper = SleepRecorder()
        await #expect {
            _ = try await getSessionToken(try makeSTS(transport, sleeper: sleeper))
        } throws: { error in
            (error as? AWSClientError)?.serviceError?.code == code
        }
        #expect(await transport.requests.count == 1)
        #expect(sleeper.delays.isEmpty)
    }

    @Test func maxAttemptsAreHonouredAndDelaysGrowUpToTheCap() async throws {
        let transport = ScriptedTransport(
            Array(repeating: .xml(errorXML("ServiceUnavailable"), status: 503), count: 6))
        let sleeper = SleepRecorder()
        await #expect {
            _ = try await getSessionToken(try makeSTS(transport, attempts: 6, sleeper: sleeper))
        } throws: { error in
            (error as? AWSClientError)?.serviceError?.httpStatus == 503
        }
        #expect(await transport.requests.count == 6)
        // 100, 200, 400, 800 ms, then capped at the 1 s maximum backoff.
        #expect(
            sleeper.delays == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1),
            ])
    }

    @Test func fullJitterScalesTheDelay() {
        let policy = RetryPolicy(baseDelay: .milliseconds(100), maxBackoff: .seconds(20), random: { 0.25 })
        #expect(policy.delay(beforeRetry: 1) == .milliseconds(25))
        #expect(policy.delay(beforeRetry: 3) == .milliseconds(100))
        #expect(RetryPolicy.standard.maxAttempts == 3)
        #expect(RetryPolicy(maxAttempts: 0).maxAttempts == 1)
    }

    @Test func timeoutsAreRetriedThenReported() async throws {
        let transport = ScriptedTransport(Array(repeating: .fail(HTTPTransportError.timedOut), count: 3))
        await #expect {
            _ = try await getSessionToken(try makeSTS(transport))
        } throws: { error in
            guard
                case .timeout(_, "GetSessionToken", "sts.eu-west-1.amazonaws.com", .seconds(7), 3) = error
                    as? AWSClientError
            else { return false }
            return error.localizedDescription.isEmpty == false
        }
        #expect(await transport.timeouts == Array(repeating: .seconds(7), count: 3))
    }

    @Test func connectionErrorThenSuccess() async throws {
        let transport = ScriptedTransport([
            .fail(HTTPTransportError.connection("refused")), .xml(sessionTokenXML()),
        ])
        _ = try await getSessionToken(try makeSTS(transport))
        #expect(await transport.requests.count == 2)
    }

    @Test func hangingTransportIsCancellable() async throws {
        let transport = ScriptedTransport([.hang])
        let sts = try makeSTS(transport)
        let task = Task { try await getSessionToken(sts) }
        while await transport.requests.isEmpty { await Task.yield() }
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
    }

    @Test(arguments: [
        "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>MFA failed</Message></Error>"
            + "<RequestId>r-1</RequestId></ErrorResponse>",
        "<ErrorResponse><Errors><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>MFA failed</Message>"
            + "</Error></Errors><RequestId>r-1</RequestId></ErrorResponse>",
        "<Response><Errors><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>MFA failed</Message></Error>"
            + "</Errors><RequestID>r-1</RequestID></Response>",
    ])
    func everyErrorShapeIsRead(body: String) async throws {
        let transport = ScriptedTransport([.xml(body, status: 403)])
        await #expect {
            _ = try await getSessionToken(try makeSTS(transport))
        } throws: { error in
            (error as? AWSClientError)?.serviceError
                == AWSServiceError(
                    service: "sts", operation: "GetSessionToken", httpStatus: 403, code: "AccessDenied",
                    message: "MFA failed", type: "Sender", requestId: "r-1")
        }
    }

    @Test func proxyHTMLIsAClearErrorWithTheStatus() async throws {
        let html = HTTPResponse(
            status: 502, headers: ["Content-Type": "text/html"],
            body: Data("<html><body>Bad Gateway</body></html>".utf8))
        let transport = ScriptedTransport(Array(repeating: .respond(html), count: 3))
        do {
            _ = try await getSessionToken(try makeSTS(transport))
            Issue.record("expected an error")
        } catch let error as AWSClientError {
            guard case .invalidResponse(_, "GetSessionToken", 502, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(error.description.contains("HTTP 502"))
            #expect(error.description.contains("text/html"))
        }
        #expect(await transport.requests.count == 3)  // 5xx is retried even when the body is not AWS XML
    }

    @Test func descriptionsNameTheOperationAndLeakNothing() async throws {
        let transport = ScriptedTransport([
            .xml(
                errorXML(
                    "AccessDenied",
                    message: "MultiFactorAuthentication failed with invalid MFA one time pass code."),
                status: 403),
            .fail(HTTPTransportError.connection("refused")), .fail(HTTPTransportError.connection("refused")),
            .fail(HTTPTransportError.connection("refused")),
        ])
        let sts = try makeSTS(transport)
        var descriptions: [String] = []
        for _ in 0..<2 {
            do { _ = try await getSessionToken(sts) } catch { descriptions.append(String(describing: error)) }
        }
        #expect(descriptions.count == 2)
        #expect(descriptions[0].contains("GetSessionToken"))
        #expect(descriptions[0].contains("AccessDenied"))
        #expect(descriptions[0].contains("invalid MFA one time pass code"))
        #expect(descriptions[1].contains("could not reach sts.eu-west-1.amazonaws.com"))
        for description in descriptions {
            #expect(!description.contains("987654"))  // the MFA code from the request body
            #expect(!description.contains(userKeys.secretAccessKey))
            #expect(!description.contains("Action="))
        }
    }

    @Test func aTransportFailureKeepsItsCause() async throws {
        struct Odd: Error, CustomStringConvertible { var description: String { "an odd failure" } }
        let transport = ScriptedTransport([.fail(Odd()), .fail(Odd()), .fail(Odd())])
        let error = await #expect(throws: AWSClientError.self) {
            _ = try await getSessionToken(try makeSTS(transport))
        }
        guard let error, case .transport(_, _, _, .other(let cause), 3) = error else {
            Issue.record("expected a transport failure, got \(String(describing: error))")
            return
        }
        #expect(cause is Odd)
        #expect(error.description.contains("(3 attempts): an odd failure; check the network"))

        let refused = ScriptedTransport(
            Array(repeating: .fail(HTTPTransportError.connection("refused")), count: 3))
        let curl = await #expect(throws: AWSClientError.self) {
            _ = try await getSessionToken(try makeSTS(refused))
        }
        guard let curl, case .transport(_, _, _, .connection("refused"), _) = curl else {
            Issue.record("expected curl's text, got \(String(describing: curl))")
            return
        }
    }

    @Test func throttlingAndRetryableFlags() {
        func error(_ code: String, _ status: Int) -> AWSServiceError {
            AWSServiceError(service: "sts", operation: "X", httpStatus: status, code: code, message: "")
        }
        #expect(error("Throttling", 400).isThrottling)
        #expect(error("Throttling", 400).isRetryable)
        #expect(error("Anything", 429).isThrottling)
        #expect(error("InternalError", 500).isRetryable)
        #expect(!error("AccessDenied", 403).isRetryable)
        #expect(!error("ValidationError", 400).isThrottling)
    }
}
