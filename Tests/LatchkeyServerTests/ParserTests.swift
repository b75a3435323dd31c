import Testing

@testable import LatchkeyServer

struct ParserTests {
    let parser = HTTPRequestParser()

    func parse(_ text: String) -> HTTPRequestParser.Result {
        parser.parse(Array(text.utf8))
    }

    @Test func parsesTheHeadersTheServersUse() throws {
        let text =
            "GET /latest/meta-data/iam/security-credentials/?x=1 HTTP/1.1\r\nHOST: 127.0.0.1:80\r\n"
            + "authorization:  tok \r\nX-aws-ec2-metadata-token: m\r\nx-aws-ec2-metadata-token-ttl-seconds: 60\r\n"
            + "X-Forwarded-For: 1.2.3.4\r\nAccept: */*\r\n\r\nGET / HTTP/1.1\r\n"
        guard case .request(let request, let consumed) = parse(text) else {
            Issue.record("not parsed")
            return
        }
        #expect(request.method == "GET")
        #expect(request.path == "/latest/meta-data/iam/security-credentials/")
        #expect(request.host == "127.0.0.1:80")
        #expect(request.authorization == "tok")
        #expect(request.metadataToken == "m")
        #expect(request.metadataTokenTTL == "60")
        #expect(request.forwardedFor == "1.2.3.4")
        #expect(request.keepAlive)
        // The pipelined second request is left in the buffer.
        #expect(consumed == text.utf8.count - "GET / HTTP/1.1\r\n".utf8.count)
    }

    @Test(arguments: [
        "", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: a\r\n",
        "PUT / HTTP/1.1\r\nContent-Length: 3\r\n\r\nab",
    ])
    func waitsForTheRestOfARequest(_ text: String) {
        #expect(parse(text) == .incomplete)
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),  // two Hosts: ambiguous
        ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),  // space before the colon
        ("GET / HTTP/1.1\r\nno colon\r\n\r\n", 400),
        ("GET http://evil/ HTTP/1.1\r\n\r\n", 400),  // absolute form is a proxy request
        ("GET / HTTP/2.0\r\n\r\n", 505),
        ("GET  / HTTP/1.1\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", 413),
        ("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413),
    ])
    func refusesMalformedOrOversizedRequests(_ text: String, _ status: Int) {
        #expect(parse(text) == .invalid(status: status))
    }

    /// Requests that two HTTP readers could split differently (request smuggling): a proxy or
    /// SDK in front might see another request than the server does.
    @Test(arguments: [
        "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 0\r\n\r\nx",  // the last one won
        "POST / HTTP/1.1\r\nContent-Length: 0\r\ncontent-length: 0\r\n\r\n",  // even when equal
        "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\nx",  // Int("+1") is 1
        "POST / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\nx",
        "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\nX-Forwarded-For: 1.2.3.4\r\n\r\n",  // bare LF inside the head
        "GET / HTTP/1.1\nHost: a\r\n\r\n",  // bare LF after the request line
        "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",  // bare CR
        "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n",  // CR CR LF
        "GET / HTTP/1.1\r\nHost: a\r\n X-Folded: b\r\n\r\n",  // obsolete line folding
    ])
    func refusesAmbiguousFraming(_ text: String) {
        #expect(parse(text) == .invalid(status: 400))
    }

    @Test func oneContentLengthOfDigitsStillFramesTheBody() {
        let text = "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n"
        guard case .request(_, let consumed) = parse(text) else {
            Issue.record("not parsed")
            return
        }
        #expect(consumed == text.utf8.count - "GET / HTTP/1.1\r\n".utf8.count)
    }

    @Test func refusesHeadsLongerThanTheLimit() {
        let big = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 9000)
        #expect(parse(big) == .invalid(status: 431))
        #expect(parse(big + "\r\n\r\n") == .invalid(status: 431))
    }

    @Test func connectionCloseAndHTTP10EndKeepAlive() throws {
        guard case .request(let closing, _) = parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"),
            case .request(let old, _) = parse("GET / HTTP/1.0\r\n\r\n")
        else {
            Issue.record("not parsed")
            return
        }
        #expect(!closing.keepAlive)
        #expect(!old.keepAlive)
    }

    @Test func responsesSerializeWithLengthAndClose() {
        let response = HTTPResponse(
            status: 200, contentType: "text/plain", headers: [("X-A", "1")], body: Array("hi".utf8),
            close: true)
        #expect(
            String(decoding: response.wireBytes(), as: UTF8.self)
                == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
        )
        #expect(response.prebuilt().wireBytes() == response.wireBytes())
    }
}
