#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One operation sent with the client's retry policy: the loop every protocol (Query, JSON,
/// metadata services) shares, so retries, timeouts and transport errors behave the same everywhere.
struct ServiceCall: Sendable {
    var service: String
    var operation: String
    var endpoint: URL
    var transport: any HTTPTransport
    var retry: RetryPolicy
    var timeout: Duration

    /// What one answer means: a result, or an error that is worth another attempt.
    enum Outcome<Value> {
        case done(Value)
        case retry(AWSClientError)
    }

    /// Sends `makeRequest()` (rebuilt per attempt, so signatures and tokens are fresh) until
    /// `interpret` returns a result or throws; transport failures are retried.
    func run<Value>(
        _ makeRequest: () async throws -> HTTPRequest,
        interpret: (HTTPResponse, _ attempt: Int) async throws -> Outcome<Value>
    ) async throws -> Value {
        var attempt = 0
        while true {
            attempt += 1
            let failure: AWSClientError
            do {
                let response = try await send(try await makeRequest(), attempt: attempt)
                switch try await interpret(response, attempt) {
                case .done(let value): return value
                case .retry(let error): failure = error
                }
            } catch let error as RetryableTransportFailure {
                failure = error.error
            }
            guard attempt < retry.maxAttempts else { throw failure }
            try await retry.sleep(retry.delay(beforeRetry: attempt))
        }
    }

    private struct RetryableTransportFailure: Error {
        var error: AWSClientError
    }

    private func send(_ request: HTTPRequest, attempt: Int) async throws -> HTTPResponse {
        do {
            return try await transport.send(request, timeout: timeout)
        } catch let error as HTTPTransportError {
            switch error {
            case .timedOut:
                throw RetryableTransportFailure(
                    error: .timeout(
                        service: service, operation: operation, endpoint: endpointDescription, after: timeout,
                        attempts: attempt))
            case .connection(let reason):
                throw RetryableTransportFailure(error: transportError(.connection(reason), attempt))
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as CurlTransportError {
            throw error  // a missing libcurl will not appear on retry; its message says what to install
        } catch {
            throw RetryableTransportFailure(error: transportError(.other(error), attempt))
        }
    }

    private func transportError(_ reason: TransportFailureReason, _ attempt: Int) -> AWSClientError {
        .transport(
            service: service, operation: operation, endpoint: endpointDescription, reason: reason,
            attempts: attempt)
    }

    /// `host[:port]` for messages: never the path or query, which may carry tokens.
    var endpointDescription: String {
        endpoint.host.map { host in endpoint.port.map { "\(host):\($0)" } ?? host } ?? endpoint.absoluteString
    }

    /// The usual rule for an error answer: final (thrown) unless the service error or the status
    /// (429, 5xx) says another attempt may succeed.
    func failure<Value>(_ error: AWSClientError, status: Int) throws -> Outcome<Value> {
        let retryable = error.serviceError?.isRetryable ?? (status == 429 || (500...599).contains(status))
        guard retryable else { throw error }
        return .retry(error)
    }
}
