import CLatchkeyServerSys
import Foundation
import Testing

@testable import LatchkeyServer

#if canImport(Glibc)
    import Glibc
#endif

/// Echoes the path, so tests can tell responses on one connection apart.
struct EchoHandler: RequestHandler {
    func respond(to request: HTTPRequest) -> HTTPResponse {
        .text(200, String(request.path), close: request.target == "/close")
    }
}

/// A blocking loopback client on a plain socket.
struct RawClient {
    let fd: Int32

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw ServerError(description: "connect failed") }
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until `count` responses have arrived or the server closes.
    func read(responses count: Int) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while String(decoding: received, as: UTF8.self).components(separatedBy: "HTTP/1.1 ").count - 1 < count
        {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// True when the server has closed the connection (a reset counts: it closed with input unread).
    func isClosed() -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, 0)
        return n == 0 || (n < 0 && errno == ECONNRESET)
    }

    func close() { _ = Glibc.close(fd) }
}

@Suite(.serialized) struct LoopbackTests {
    @Test func bindsLoopbackOnlyOnAFreePort() throws {
        let server = try EpollServer()
        defer { server.stop() }
        server.start(handler: EchoHandler())
        #expect(server.port > 1024)
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(server.listener, $0, &length) }
        }
        #expect(UInt32(bigEndian: address.sin_addr.s_addr) == 0x7F00_0001)
    }

    @Test func eventLoopThreadsCarryTheirName() throws {
        let server = try EpollServer(threads: 2)
        defer { server.stop() }
        server.start(handler: EchoHandler())  // returns once both loops run, named
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
        let names = tasks.compactMap {
            try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8)
        }
        #expect(names.filter { $0 == "latchkey-http\n" }.count >= 2)
    }

    /// Linux honours a requested slice from 6.12 on, and shows it where it was built with its
    /// debug files (as here).
    @Test(.enabled(if: linuxAtLeast(6, 12) && FileManager.default.fileExists(atPath: "/proc/self/sched")))
    func eventLoopThreadsAskForShortTimeSlices() throws {
        let server = try EpollServer(threads: 2)
        defer { server.stop() }
        server.start(handler: EchoHandler())
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").filter {
            (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8)) == "latchkey-http\n"
        }
        let slices = tasks.compactMap { task -> Int? in
            let text = try? String(contentsOfFile: "/proc/self/task/\(task)/sched", encoding: .utf8)
            let line = text?.split(separator: "\n").first { $0.hasPrefix("se.slice") }
            return line.flatMap { Int($0.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) }
        }
        #expect(slices.count >= 2)
        #expect(slices.allSatisfy { $0 == 100_000 })
    }

    @Test func keepAliveAndPipelinedRequestsAreAnsweredInOrder() throws {
        let server = try EpollServer()
        defer { server.stop() }
        server.start(handler: EchoHandler())
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(client.read(responses: 1).hasSuffix("\r\n\r\n/one"))
        client.send("GET /two HTTP/1.1\r\n\r\nGET /three HTTP/1.1\r\n\r\n")
        let both = client.read(responses: 2)
        #expect(both.contains("/two") && both.hasSuffix("/three"))
        #expect(
            both.range(of: "/two")?.lowerBound ?? both.endIndex < both.range(of: "/three")?.lowerBound
                ?? both.startIndex)
    }

    @Test func aRequestSplitAcrossReadsIsReassembled() throws {
        let server = try EpollServer()
        defer { server.stop() }
        server.start(handler: EchoHandler())
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /sp")
        usleep(20_000)  // lets the server see the first half alone (not a wait for expiry)
        client.send("lit HTTP/1.1\r\n\r\n")
        #expect(client.read(responses: 1).hasSuffix("/split"))
    }

    @Test func oversizedAndMalformedRequestsGetAnErrorAndAreClosed() throws {
        let server = try EpollServer()
        defer { server.stop() }
        server.start(handler: EchoHandler())
        let big = try RawClient(port: server.port)
        defer { big.close() }
        big.send("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 20000))
        #expect(big.read(responses: 1).hasPrefix("HTTP/1.1 431 "))
        #expect(big.isClosed())
        let bad = try RawClient(port: server.port)
        defer { bad.close() }
        bad.send("HELLO\r\n\r\n")
        #expect(bad.read(responses: 1).hasPrefix("HTTP/1.1 400 "))
        #expect(bad.isClosed())
    }

}

/// Whether the running kernel's release is at least major.minor.
func linuxAtLeast(_ major: Int, _ minor: Int) -> Bool {
    var name = utsname()
    guard uname(&name) == 0 else { return false }
    let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
    guard parts.count == 2 else { return false }
    return (parts[0], parts[1]) >= (major, minor)
}

/// Milliseconds a test moves by hand; the loops read it on every wake.
final class ManualMilliseconds: @unchecked Sendable {
    private let lock = NSLock()
    private var current: UInt64 = 1_000_000
    var value: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return current
    }
    func advance(seconds: Double) {
        lock.lock()
        current += UInt64(seconds * 1000)
        lock.unlock()
    }
}

/// Polls (in small steps, at most `limit` seconds) until `condition` holds.
func eventually(within limit: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(limit)
    while Date() < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}

extension RawClient {
    /// True when the server has closed the connection, without waiting for more than a moment.
    func isClosedNow() -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
        return n == 0 || (n < 0 && errno == ECONNRESET)
    }
}

@Suite(.serialized) struct ConnectionLimitTests {
    /// A server with a hand-moved clock, sweeping for expired connections every 5 ms.
    func server(maxConnections: Int = 512, clock: ManualMilliseconds) throws -> EpollServer {
        let server = try EpollServer(
            threads: 1, maxConnections: maxConnections, headTimeout: 5, idleTimeout: 60)
        server.clock = { clock.value }
        server.sweepInterval = 5
        server.start(handler: EchoHandler())
        return server
    }

    @Test func aHalfSentHeadIsClosedAfterTheHeadDeadline() throws {
        let clock = ManualMilliseconds()
        let server = try server(clock: clock)
        defer { server.stop() }
        let slow = try RawClient(port: server.port)
        defer { slow.close() }
        slow.send("GET /slow HTTP/1.1\r\nHost: x\r\n")
        let fine = try RawClient(port: server.port)
        defer { fine.close() }
        fine.send("GET /fine HTTP/1.1\r\n\r\n")
        #expect(fine.read(responses: 1).hasSuffix("/fine"))
        usleep(20_000)  // lets the server read the partial head (not a wait for expiry)
        clock.advance(seconds: 3)
        slow.send("X-More: 1\r\n")  // trickling bytes does not buy more time
        usleep(20_000)
        #expect(!slow.isClosedNow())
        clock.advance(seconds: 2.5)
        #expect(eventually { slow.isClosedNow() })
        // A kept-alive idle connection has a minute, not the head's five seconds.
        #expect(!fine.isClosedNow())
        fine.send("GET /again HTTP/1.1\r\n\r\n")
        #expect(fine.read(responses: 1).hasSuffix("/again"))
    }

    @Test func aSilentConnectionIsClosedAfterTheHeadDeadlineAndAnIdleOneAfterAMinute() throws {
        let clock = ManualMilliseconds()
        let server = try server(clock: clock)
        defer { server.stop() }
        let silent = try RawClient(port: server.port)
        defer { silent.close() }
        let idle = try RawClient(port: server.port)
        defer { idle.close() }
        idle.send("GET /one HTTP/1.1\r\n\r\n")
        #expect(idle.read(responses: 1).hasSuffix("/one"))
        clock.advance(seconds: 6)
        #expect(eventually { silent.isClosedNow() })
        #expect(!idle.isClosedNow())
        clock.advance(seconds: 55)
        #expect(eventually { idle.isClosedNow() })
    }

    @Test func aFullServerClosesItsLongestIdleConnectionForANewcomer() throws {
        let clock = ManualMilliseconds()
        let server = try server(maxConnections: 3, clock: clock)
        defer { server.stop() }
        var clients: [RawClient] = []
        defer { clients.forEach { $0.close() } }
        for name in ["a", "b", "c"] {
            let client = try RawClient(port: server.port)
            client.send("GET /\(name) HTTP/1.1\r\n\r\n")
            #expect(client.read(responses: 1).hasSuffix("/\(name)"))
            clients.append(client)
            clock.advance(seconds: 1)
        }
        let newcomer = try RawClient(port: server.port)
        defer { newcomer.close() }
        newcomer.send("GET /new HTTP/1.1\r\n\r\n")
        #expect(newcomer.read(responses: 1).hasSuffix("/new"))
        #expect(clients[0].isClosed())
        clients[1].send("GET /b2 HTTP/1.1\r\n\r\n")
        #expect(clients[1].read(responses: 1).hasSuffix("/b2"))
    }

    @Test func manyIdleSocketsDoNotLockOutARealClient() throws {
        let clock = ManualMilliseconds()
        let server = try server(maxConnections: 16, clock: clock)
        defer { server.stop() }
        let idle = try (0..<40).map { _ in try RawClient(port: server.port) }
        defer { idle.forEach { $0.close() } }
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /me HTTP/1.1\r\n\r\n")
        #expect(client.read(responses: 1).hasSuffix("/me"))
    }
}

@Suite(.serialized) struct PeerUIDTests {
    @Test func theUIDOfALoopbackPeerIsFoundBothWays() throws {
        let server = try EpollServer(threads: 1)
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        defer { client.close() }
        // The server's side of the connection, accepted here by hand (the loop never started).
        var accepted: Int32 = -1
        #expect(
            eventually {
                accepted = latchkey_accept(server.listener)
                return accepted >= 0
            })
        defer { _ = Glibc.close(accepted) }
        let diag = latchkey_diag_socket()
        defer { _ = Glibc.close(diag) }
        #expect(diag >= 0)
        #expect(latchkey_peer_uid(diag, accepted) == Int64(geteuid()))
        #expect(latchkey_peer_uid(-1, accepted) == Int64(geteuid()))  // from /proc/net/tcp
    }

    @Test func aConnectionFromAnotherUIDIsClosedUnread() throws {
        // We are the "other" uid here: the server is told to serve someone else only.
        let server = try EpollServer(threads: 1, allowedPeerUID: geteuid() &+ 1)
        defer { server.stop() }
        server.start(handler: EchoHandler())
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /secret HTTP/1.1\r\n\r\n")
        #expect(client.read(responses: 1) == "")
        #expect(client.isClosed())
    }

    @Test func aConnectionFromOurOwnUIDIsServed() throws {
        let server = try EpollServer(threads: 1)  // the default: our own uid only
        defer { server.stop() }
        server.start(handler: EchoHandler())
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /mine HTTP/1.1\r\n\r\n")
        #expect(client.read(responses: 1).hasSuffix("/mine"))
    }
}
