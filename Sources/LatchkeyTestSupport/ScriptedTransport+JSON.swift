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

    /// The sign-in service's answer to a code exchange (`POST /v1/token`): a session with the given
    /// access key whose ID token names `arn`, 900 seconds long.
    public static func signinToken(arn: String, accessKeyId: String = "ASIASESSION") -> Self {
        let claims = Data(#"{"sub":"\#(arn)","iat":1800000000}"#.utf8).base64EncodedString()
            .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
        return .json(
            #"{"accessToken":{"accessKeyId":"\#(accessKeyId)","secretAccessKey":"s","sessionToken":"t"},"#
                + #""tokenType":"aws_sigv4","expiresIn":900,"refreshToken":"rt","idToken":"e30.\#(claims).c2ln"}"#
        )
    }
}
