#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An error answer from an AWS service (`<ErrorResponse><Error>...`).
public struct AWSServiceError: Error, CustomStringConvertible, Sendable, Equatable {
    public var service: String
    public var operation: String
    public var httpStatus: Int
    public var code: String
    public var message: String
    /// `Sender` or `Receiver` when the service says.
    public var type: String?
    public var requestId: String?

    public init(
        service: String, operation: String, httpStatus: Int, code: String, message: String,
        type: String? = nil,
        requestId: String? = nil
    ) {
        self.service = service
        self.operation = operation
        self.httpStatus = httpStatus
        self.code = code
        self.message = message
        self.type = type
        self.requestId = requestId
    }

    static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
    ]
    static let transientCodes: Set<String> = [
        "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure", "ServiceUnavailable",
        "IDPCommunicationError",
    ]

    public var isThrottling: Bool { Self.throttlingCodes.contains(code) || httpStatus == 429 }

    /// Throttling, transient codes and 5xx are worth another attempt; other 4xx are final.
    public var isRetryable: Bool {
        isThrottling || Self.transientCodes.contains(code) || (500...599).contains(httpStatus)
    }

    public var description: String {
        var text = "\(service.uppercased()) \(operation) failed with \(code) (HTTP \(httpStatus))"
        if !message.isEmpty { text += ": \(message)" }
        if let requestId { text += " [request id \(requestId)]" }
        return text
    }
}

/// Why a connection failed (`AWSClientError.transport`).
public enum TransportFailureReason: Error, CustomStringConvertible, Sendable {
    /// The transport's own text for a failed connection (curl's error message).
    case connection(String)
    /// Any other error the transport threw; kept as it is.
    case other(any Error)

    public var description: String {
        switch self {
        case .connection(let reason): reason
        case .other(let cause): "\(cause)"
        }
    }
}

public enum AWSClientError: Error, CustomStringConvertible, Sendable {
    case service(AWSServiceError)
    /// No answer within the timeout, on every attempt.
    case timeout(service: String, operation: String, endpoint: String, after: Duration, attempts: Int)
    /// The connection failed (DNS, refused, TLS, proxy) on every attempt.
    case transport(
        service: String, operation: String, endpoint: String, reason: TransportFailureReason, attempts: Int)
    /// An answer that is not what the protocol promises (HTML from a proxy, a missing field).
    case invalidResponse(service: String, operation: String, httpStatus: Int, reason: String)

    public var serviceError: AWSServiceError? {
        if case .service(let error) = self { return error }
        return nil
    }

    public var description: String {
        switch self {
        case .service(let error):
            return error.description
        case .timeout(let service, let operation, let endpoint, let after, let attempts):
            return "\(service.uppercased()) \(operation) to \(endpoint) timed out after \(after) "
                + "(\(attempts) attempt\(attempts == 1 ? "" : "s")); check the network, proxy settings and endpoint."
        case .transport(let service, let operation, let endpoint, let reason, let attempts):
            return "\(service.uppercased()) \(operation) could not reach \(endpoint) "
                + "(\(attempts) attempt\(attempts == 1 ? "" : "s")): \(reason); check the network, proxy settings and endpoint."
        case .invalidResponse(let service, let operation, let status, let reason):
            return
                "\(service.uppercased()) \(operation) got an unexpected answer (HTTP \(status)): \(reason); "
                + "if a proxy or captive portal sits in between, check it or the endpoint setting."
        }
    }
}
