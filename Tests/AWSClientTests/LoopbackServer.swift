import Foundation
import Testing

/// A real HTTP server (or forwarding proxy) on 127.0.0.1, run as a Python subprocess that prints
/// its port, then one line per request it receives. It exits when its stdin closes: when the value
/// is released, or when the test process dies (no orphans).
final class LoopbackServer: @unchecked Sendable {
    enum Role: String {
        case origin
        case proxy
    }

    let port: Int
    private let process: Process
    private let output: LineReader
    private let input: Pipe

    /// Starts the server; its start-up blocks, so it runs off the cooperative pool.
    static func start(_ role: Role) async throws -> LoopbackServer {
        try await offThePool { try LoopbackServer(role) }
    }

    private init(_ role: Role) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-u", "-c", serverScript, role.rawValue]
        let pipe = Pipe()
        input = Pipe()
        process.standardOutput = pipe
        process.standardInput = input
        try process.run()
        output = LineReader(pipe.fileHandleForReading)
        let first = output.nextLine() ?? ""
        guard let port = Int(first) else {
            try? input.fileHandleForWriting.close()
            throw ServerFailed(message: "the \(role) server did not start: '\(first)'")
        }
        self.port = port
    }

    deinit {
        // The test runner may ignore SIGTERM (children inherit that), so the server watches stdin.
        try? input.fileHandleForWriting.close()
    }

    func url(_ path: String, host: String = "127.0.0.1") throws -> URL {
        try #require(URL(string: "http://\(host):\(port)\(path)"))
    }

    /// Waits for the server to report the next request ("METHOD PATH").
    func nextRequestLine() async throws -> String? {
        let output = output
        return try await offThePool { output.nextLine() }
    }

    /// A port nothing listens on (bound, then released).
    static func closedPort() async throws -> Int {
        try await offThePool(closedPortBlocking)
    }

    private static func closedPortBlocking() throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return try #require(Int(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }
}

/// Runs blocking work on a thread of its own: blocking the few cooperative threads would stall
/// every other test (and the transport's continuations) running in parallel.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result(catching: work)) }.start()
    }
}

struct ServerFailed: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Reads lines from a pipe, blocking.
private final class LineReader: @unchecked Sendable {
    private let handle: FileHandle
    private var buffer = Data()
    private let lock = NSLock()

    init(_ handle: FileHandle) { self.handle = handle }

    func nextLine() -> String? {
        lock.withLock {
            while true {
                if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = buffer[buffer.startIndex..<newline]
                    buffer = Data(buffer[(newline + 1)...])
                    return String(decoding: line, as: UTF8.self)
                }
                let chunk = handle.availableData
                if chunk.isEmpty { return nil }
                buffer.append(chunk)
            }
        }
    }
}

/// origin: /echo answers 201 with the request as JSON; /status/N answers N; /silent never answers;
/// /redirect answers 302; /big answers 5000 bytes; /last is the previous request as JSON; POST /
/// with Action=GetCallerIdentity answers STS XML.
/// proxy: forwards absolute-form requests and marks answers with `X-Proxied-By`.
private let serverScript = #"""
    import base64, http.client, http.server, json, os, sys, threading, time, urllib.parse

    role = sys.argv[1]
    last = {}

    def exit_when_stdin_closes():
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()

    def report(handler):
        print(handler.command, handler.path, flush=True)

    class Origin(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status, body, content_type="text/plain", extra=()):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in extra:
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def handle_any(self):
            global last
            report(self)
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length) if length else b""
            seen = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": base64.b64encode(body).decode(),
            }
            if self.path == "/last":
                return self.answer(200, json.dumps(last).encode(), "application/json")
            last = seen
            if self.path == "/echo":
                extra = [("X-Echo", "yes"), ("X-Multi", "a"), ("X-Multi", "b")]
                return self.answer(201, json.dumps(seen).encode(), "application/json", extra)
            if self.path.startswith("/status/"):
                status = int(self.path.split("/")[2])
                return self.answer(status, ("status %d" % status).encode())
            if self.path == "/silent":
                time.sleep(3600)
            if self.path == "/redirect":
                return self.answer(302, b"moved", extra=[("Location", "/echo")])
            if self.path == "/big":
                return self.answer(200, b"x" * 5000)
            form = urllib.parse.parse_qs(body.decode())
            if self.path == "/" and form.get("Action") == ["GetCallerIdentity"]:
                xml = (
                    '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                    "<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/doug</Arn>"
                    "<UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account>"
                    "</GetCallerIdentityResult>"
                    "<ResponseMetadata><RequestId>req-loopback</RequestId></ResponseMetadata>"
                    "</GetCallerIdentityResponse>"
                )
                return self.answer(200, xml.encode(), "text/xml")
            self.answer(404, b"no such path")

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def handle_any(self):
            report(self)
            target = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
            # Loopback is never proxied, so tests name the origin "*.invalid"; only the proxy knows it is here.
            host = "127.0.0.1" if target.hostname.endswith(".invalid") else target.hostname
            upstream = http.client.HTTPConnection(host, target.port, timeout=10)
            path = target.path + ("?" + target.query if target.query else "")
            upstream.request(self.command, path, body=body, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
            self.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("X-Proxied-By", "loopback-proxy")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = handle_any

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin if role == "origin" else Proxy)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """#
