import AWSClient
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The browser sign-in of `aws login` (AWS Sign-In for developer tools), producing a `LoginSession`.
///
/// Same device: a one-shot HTTP listener on 127.0.0.1 (random port) receives the browser's redirect,
/// its `state` is checked and the code exchanged with the PKCE verifier and a fresh DPoP key.
/// Cross device (`--remote`): the user pastes the code the AWS confirmation page shows.
public struct SigninFlow: Sendable {
    public var region: String
    public var baseURI: URL
    public var transport: any HTTPTransport
    public var retry: RetryPolicy
    public var now: @Sendable () -> Date
    /// How long the listener waits for the browser (the AWS CLI waits 10 minutes).
    public var callbackTimeout: Duration

    public init(
        region: String, baseURI: URL, transport: any HTTPTransport, retry: RetryPolicy = .standard,
        now: @escaping @Sendable () -> Date, callbackTimeout: Duration = .seconds(600)
    ) {
        self.region = region
        self.baseURI = baseURI
        self.transport = transport
        self.retry = retry
        self.now = now
        self.callbackTimeout = callbackTimeout
    }

    /// Opens the authorize URL with `openBrowser` (which may return before or after the browser is
    /// done) and waits for the redirect to the loopback listener. An error thrown by `openBrowser` ends
    /// the flow: a caller that wants to keep waiting prints the URL instead of throwing.
    public func sameDevice(openBrowser: @escaping @Sendable (URL) async throws -> Void) async throws
        -> LoginSession
    {
        let listener = try LoopbackCallbackListener()
        defer { listener.stop() }
        let authorization = SigninAuthorization.sameDevice(baseURI: baseURI, callbackPort: listener.port)
        let timeout = callbackTimeout
        let code = try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                try await listener.waitForCode(authorization, timeout: timeout)
            }
            group.addTask {
                try await openBrowser(authorization.url)
                return nil
            }
            while let result = try await group.next() {
                // The browser (opener) may still be showing the final page: it is awaited, not cancelled.
                if let code = result { return code }
            }
            throw SigninAuthorizationError.timedOut(seconds: Int(timeout.components.seconds))
        }
        return try await exchange(code, authorization)
    }

    /// Shows the authorize URL through `prompt`, which returns what the user pasted.
    public func crossDevice(prompt: @Sendable (URL) async throws -> String) async throws -> LoginSession {
        let authorization = SigninAuthorization.crossDevice(baseURI: baseURI)
        let code = try authorization.pastedCode(try await prompt(authorization.url))
        return try await exchange(code, authorization)
    }

    private func exchange(_ code: String, _ authorization: SigninAuthorization) async throws -> LoginSession {
        let key = DPoPKey()
        let client = SigninOAuthClient(baseURI: baseURI, transport: transport, retry: retry, now: now)
        let token = try await client.exchangeCode(code, authorization: authorization, key: key)
        return try LoginSession(
            token: token, authorization: authorization, dpopKey: key, region: region, now: now())
    }
}

/// A one-shot HTTP/1.1 listener on 127.0.0.1 for the sign-in redirect (`GET /oauth/callback?...`).
/// Blocking socket calls run on a thread of their own, never on the cooperative pool.
final class LoopbackCallbackListener: @unchecked Sendable {
    let port: Int
    private let lock = Lock()
    private let socket: Int32
    private var stopRequested = false
    private var closed = false

    struct Failure: Error, CustomStringConvertible {
        var step: String
        var code: Int32
        var description: String {
            "The sign-in callback listener on 127.0.0.1 failed to \(step): \(String(cString: strerror(code)))."
        }
    }

    init() throws {
        #if canImport(Glibc) || canImport(Musl)
            let kind = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #else
            let kind = SOCK_STREAM
        #endif
        let descriptor = posixSocket(AF_INET, kind)
        guard descriptor >= 0 else { throw Failure(step: "create a socket", code: errno) }
        var address = sockaddr_in()
        #if canImport(Darwin)
            address.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)
        #endif
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else {
            let code = errno
            _ = posixClose(descriptor)
            throw Failure(step: "listen", code: code)
        }
        var actual = sockaddr_in()
        var actualLength = length
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getsockname(descriptor, $0, &actualLength)
            }
        }
        socket = descriptor
        port = Int(UInt16(bigEndian: actual.sin_port))
    }

    deinit { closeSocket() }

    /// Asks the serving thread to stop (within one poll slice); it closes the socket itself, so a
    /// descriptor is never closed while another thread polls it.
    func stop() {
        lock.withLock { stopRequested = true }
    }

    private var isStopped: Bool { lock.withLock { stopRequested } }

    private func closeSocket() {
        lock.withLock {
            guard !closed else { return }
            closed = true
            _ = posixClose(socket)
        }
    }

    /// Answers requests until one carries the code (or an error) for `authorization`.
    func waitForCode(_ authorization: SigninAuthorization, timeout: Duration) async throws -> String {
        try await withTaskCancellationHandler {
            try await onOwnThread(named: "latchkey-signin") {
                try self.serve(authorization, timeout: timeout)
            }
        } onCancel: {
            stop()
        }
    }

    private func serve(_ authorization: SigninAuthorization, timeout: Duration) throws -> String {
        defer { closeSocket() }
        let deadline = ContinuousClock.now + timeout
        let seconds = Int(timeout.components.seconds)
        while true {
            if isStopped { throw CancellationError() }
            guard ContinuousClock.now < deadline else {
                throw SigninAuthorizationError.timedOut(seconds: seconds)
            }
            var ready = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let polled = poll(&ready, 1, 200)  // short slices so stop() and the deadline are noticed
            if polled <= 0 { continue }
            let client = accept(socket, nil, nil)
            if client < 0 { continue }
            defer { _ = posixClose(client) }
            var receiveTimeout = timeval(tv_sec: 5, tv_usec: 0)
            _ = setsockopt(
                client, SOL_SOCKET, SO_RCVTIMEO, &receiveTimeout, socklen_t(MemoryLayout<timeval>.size))
            #if canImport(Darwin)
                var one: Int32 = 1
                _ = setsockopt(client, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
            #endif
            guard let target = Self.readRequestTarget(client) else { continue }
            let components = URLComponents(string: "http://127.0.0.1" + target)
            guard components?.path == "/oauth/callback" else {
                Self.respond(client, status: "404 Not Found", text: "Not found.")
                continue
            }
            let outcome: SigninAuthorization.Callback
            do {
                outcome = try authorization.callback(query: components?.queryItems ?? [])
            } catch {
                Self.respond(
                    client, status: "400 Bad Request",
                    text: "This sign-in answer belongs to a different request. Return to the terminal.")
                throw error
            }
            switch outcome {
            case .code(let code):
                Self.respond(
                    client, status: "200 OK",
                    text: "Signed in. You can close this tab and return to the terminal.")
                return code
            case .error(let error, let description):
                Self.respond(
                    client, status: "200 OK", text: "The sign-in was not completed. Return to the terminal.")
                throw SigninAuthorizationError.denied(error: error, description: description)
            case .ignore:
                Self.respond(client, status: "200 OK", text: "Waiting for the sign-in to finish.")
            }
        }
    }

    /// The request target of `GET <target> HTTP/1.1`, read up to the end of the headers (8 KiB at most).
    private static func readRequestTarget(_ client: Int32) -> String? {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 2048)
        while data.count < 8192 {
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            data += buffer[0..<count]
            if String(decoding: data, as: UTF8.self).contains("\r\n\r\n") { break }
        }
        let text = String(decoding: data, as: UTF8.self)
        guard let line = text.split(separator: "\r\n", maxSplits: 1).first else { return nil }
        let parts = line.split(separator: " ")
        guard parts.count == 3, parts[0] == "GET", parts[1].hasPrefix("/") else { return nil }
        return String(parts[1])
    }

    private static func respond(_ client: Int32, status: String, text: String) {
        let body =
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>latchkey</title></head>"
            + "<body><p id=\"latchkey-result\">\(text)</p></body></html>"
        let response =
            "HTTP/1.1 \(status)\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Cache-Control: no-store\r\nConnection: close\r\n\r\n" + body
        var bytes = Array(response.utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeMutableBytes {
                posixSend(client, $0.baseAddress.map { $0 + offset }, $0.count - offset)
            }
            if sent <= 0 { return }
            offset += sent
        }
    }
}

// Thin wrappers: the platform modules differ, and `close`/`socket` clash with members above.
private func posixSocket(_ domain: Int32, _ kind: Int32) -> Int32 {
    #if canImport(Glibc)
        Glibc.socket(domain, kind, 0)
    #elseif canImport(Musl)
        Musl.socket(domain, kind, 0)
    #else
        Darwin.socket(domain, kind, 0)
    #endif
}

private func posixClose(_ descriptor: Int32) -> Int32 {
    #if canImport(Glibc)
        Glibc.close(descriptor)
    #elseif canImport(Musl)
        Musl.close(descriptor)
    #else
        Darwin.close(descriptor)
    #endif
}

private func posixSend(_ descriptor: Int32, _ pointer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    #if os(Linux)
        send(descriptor, pointer, count, Int32(MSG_NOSIGNAL))
    #else
        send(descriptor, pointer, count, 0)  // SO_NOSIGPIPE is set on the connection
    #endif
}
