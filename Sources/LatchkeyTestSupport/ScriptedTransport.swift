import AWSClient
import Foundation

/// An `HTTPTransport` that answers from a script, in order, and records every request.
///
/// Each `send` consumes one step; running out of steps throws `ScriptedTransport.Exhausted`.
public actor ScriptedTransport: HTTPTransport {
    public enum Step: Sendable {
        case respond(HTTPResponse)
        case fail(any Error & Sendable)
        /// Never answers; the call ends only when its task is cancelled.
        case hang
    }

    public struct Exhausted: Error, CustomStringConvertible {
        public var requestNumber: Int
        public var description: String {
            "ScriptedTransport has no step left for request #\(requestNumber); add more steps to the script."
        }
    }

    private var steps: [Step]
    public private(set) var requests: [HTTPRequest] = []
    public private(set) var timeouts: [Duration] = []

    public init(_ steps: [Step] = []) {
        self.steps = steps.reversed()
    }

    public func enqueue(_ step: Step) {
        steps.insert(step, at: 0)
    }

    public var remainingSteps: Int { steps.count }

    /// Request bodies decoded as UTF-8, for assertions.
    public var bodies: [String] { requests.map { String(decoding: $0.body, as: UTF8.self) } }

    public func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
        requests.append(request)
        timeouts.append(timeout)
        guard let step = steps.popLast() else { throw Exhausted(requestNumber: requests.count) }
        switch step {
        case .respond(let response):
            return response
        case .fail(let error):
            throw error
        case .hang:
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
    }
}

extension ScriptedTransport.Step {
    /// An XML answer with the given status.
    public static func xml(_ body: String, status: Int = 200, headers: [String: String] = [:]) -> Self {
        var headers = headers
        headers["Content-Type"] = headers["Content-Type"] ?? "text/xml"
        return .respond(HTTPResponse(status: status, headers: headers, body: Data(body.utf8)))
    }
}
