import AWSClient
import Foundation

extension ScriptedTransport.Step {
    /// A JSON answer with the given status.
    public static func json(_ body: String, status: Int = 200, headers: [String: String] = [:]) -> Self {
        var headers = headers
        headers["Content-Type"] = headers["Content-Type"] ?? "application/json"
        return .respond(HTTPResponse(status: status, headers: headers, body: Data(body.utf8)))
    }

    /// A plain-text answer (instance metadata).
    public static func text(_ body: String, status: Int = 200) -> Self {
        .respond(HTTPResponse(status: status, headers: ["Content-Type": "text/plain"], body: Data(body.utf8)))
    }
}
