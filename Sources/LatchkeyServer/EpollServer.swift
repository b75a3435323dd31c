import CLatchkeyServerSys
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Dispatch
import SystemSupport

#if canImport(Glibc)
    import Glibc
#endif

public struct ServerError: Error, CustomStringConvertible {
    public var description: String
}

/// One event loop per CPU the process may use, at most two: a loop that shares its CPU with
/// another loop makes that loop's connections wait a whole time slice (pinned to one CPU, two
/// loops had a higher p99 and fewer requests/s than one). Two loops already outrun what SDK
/// clients ask of a credential server.
public func defaultLoopCount() -> Int {
    min(2, max(1, Int(latchkey_usable_cpus())))
}

#if os(Linux)
    /// A small HTTP/1.1 server on raw sockets: one listening socket on 127.0.0.1, one epoll
    /// event loop per thread, keep-alive, no request bodies to speak of. A connection stays on
    /// the loop that accepted it.
    ///
    /// Who may connect: only processes of `allowedPeerUID` (latchkey's own uid): the uid that owns
    /// the client's socket is looked up once per accepted connection (one sock_diag round trip)
    /// and any other is closed before a byte is read. How long: a request head must arrive within
    /// `headTimeout` of its first byte (or of the connect), a kept-alive connection may sit idle
    /// for `idleTimeout`, and a full server makes room by closing its longest-idle connection, so
    /// idle or slow sockets cannot lock a real client out.
    public final class EpollServer: @unchecked Sendable {
        public let port: UInt16
        let listener: Int32
        let wake: Int32
        let loops: [EventLoop]
        let parser: HTTPRequestParser
        /// Set once by `start(handler:)` before any loop thread runs.
        private var handler: any RequestHandler = NotStarted()
        let maxConnections: Int
        let connectionCount = Locked(0)
        /// The only uid whose connections are served; nil serves anyone (tests of the loop only).
        let allowedPeerUID: UInt32?
        let headTimeout: UInt64
        let idleTimeout: UInt64
        /// How often a loop with open connections wakes to close the expired ones (ms).
        var sweepInterval: UInt64
        /// Monotonic milliseconds; tests set their own before `start`.
        var clock: @Sendable () -> UInt64 = { latchkey_monotonic_ms() }

        static let listenerTag: UInt64 = 0
        static let wakeTag: UInt64 = 1

        /// Binds 127.0.0.1:`port` (0 picks a free one) and listens; `start()` begins serving.
        /// Timeouts are in seconds.
        public init(
            port: UInt16 = 0, threads: Int = defaultLoopCount(), maxConnections: Int = 512,
            parser: HTTPRequestParser = HTTPRequestParser(), allowedPeerUID: UInt32? = geteuid(),
            headTimeout: Double = 5, idleTimeout: Double = 60
        ) throws {
            self.parser = parser
            self.maxConnections = maxConnections
            self.allowedPeerUID = allowedPeerUID
            self.headTimeout = UInt64(max(0.001, headTimeout) * 1000)
            self.idleTimeout = UInt64(max(0.001, idleTimeout) * 1000)
            sweepInterval = max(10, min(1000, self.headTimeout / 4))
            let fd = socket(
                AF_INET,
                Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { throw ServerError(description: "could not create a socket: \(errorText())") }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian  // loopback only, never 0.0.0.0
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0, listen(fd, 1024) == 0 else {
                let reason = errorText()
                close(fd)
                throw ServerError(
                    description:
                        "could not listen on 127.0.0.1:\(port): \(reason); choose another port with --port.")
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            self.port = UInt16(bigEndian: address.sin_port)
            listener = fd
            wake = latchkey_eventfd()
            loops = (0..<max(1, threads)).map { _ in
                EventLoop(
                    fd: latchkey_epoll_create(), diag: allowedPeerUID == nil ? -1 : latchkey_diag_socket())
            }
            for loop in loops {
                // EPOLLEXCLUSIVE accepts no flags but EPOLLIN/EPOLLOUT (EINVAL otherwise).
                let watched = [
                    Self.watch(
                        loop.fd, fd: listener, events: UInt32(LATCHKEY_EPOLLIN) | exclusiveEvent,
                        tag: Self.listenerTag),
                    Self.watch(loop.fd, fd: wake, events: inEvents, tag: Self.wakeTag),
                ]
                guard loop.fd >= 0, watched == [0, 0] else {
                    throw ServerError(description: "could not set up the event loop: \(errorText()).")
                }
            }
        }

        /// Starts one thread per event loop and returns once every one of them is running.
        public func start(handler: any RequestHandler) {
            self.handler = handler
            let running = DispatchSemaphore(value: 0)
            for loop in loops {
                startThread(named: "latchkey-http") { [self] in
                    // Set from inside: a name given before start was lost (threads showed their
                    // creator's libdispatch name in `top -H`).
                    latchkey_name_thread("latchkey-http")
                    // Short slices (100 µs, not the default of about 1.4 ms): a loop works in
                    // bursts of microseconds, and the yield in `run` then costs it at most that.
                    // With default slices, yielding to CPU-bound neighbours (a compile) cut its
                    // requests/s to 40% of nginx's; with short ones it kept 80%.
                    _ = latchkey_request_slice(100_000)
                    running.signal()
                    self.run(loop)
                }
            }
            for _ in loops { running.wait() }
        }

        /// Stops accepting and wakes every loop so it exits; open connections are dropped.
        public func stop() {
            var value: UInt64 = 1
            _ = write(wake, &value, 8)
        }

        @discardableResult
        static func watch(_ loop: Int32, fd: Int32, events: UInt32, tag: UInt64, modify: Bool = false)
            -> Int32
        {
            latchkey_epoll_watch(loop, fd, events, tag, modify ? 1 : 0)
        }

        func run(_ loop: EventLoop) {
            var events = [latchkey_event](repeating: latchkey_event(), count: 128)
            var nextSweep: UInt64 = 0
            while true {
                // Work already waiting means a busy streak: let the other threads on this CPU run
                // first, which are usually the clients reading the answers just written. Without
                // this, loops and clients on shared cores ran whole time slices in turn and p99
                // was 7 ms; with it, 0.5 to 3 ms (BENCHMARKS.md). When nothing waits, sleep until
                // the next sweep for expired connections, or for good when there are none.
                var count = latchkey_epoll_wait(loop.fd, &events, Int32(events.count), 0)
                if count > 0 {
                    sched_yield()
                } else if count == 0 {
                    let timeout = loop.connections.isEmpty ? -1 : Int32(sweepInterval)
                    count = latchkey_epoll_wait(loop.fd, &events, Int32(events.count), timeout)
                }
                if count < 0 {
                    if errno == EINTR { continue }
                    return
                }
                loop.now = clock()
                for index in 0..<Int(count) {
                    let tag = events[index].tag
                    switch tag {
                    case Self.listenerTag: acceptOne(into: loop)
                    case Self.wakeTag: return
                    default:
                        guard let pointer = UnsafeRawPointer(bitPattern: UInt(tag)) else { continue }
                        let connection = Unmanaged<Connection>.fromOpaque(pointer).takeUnretainedValue()
                        // Closed earlier in this batch (evicted): its event is stale.
                        guard connection.slot >= 0 else { continue }
                        handle(connection, events: events[index].events, loop: loop)
                    }
                }
                if loop.now >= nextSweep {
                    closeExpired(in: loop)
                    nextSweep = loop.now + sweepInterval
                }
                loop.closed.removeAll(keepingCapacity: true)
            }
        }

        /// Takes one pending connection onto the loop that woke for it, as nginx does. The listener
        /// is level-triggered, so a loop wakes again for the next; dealing connections round-robin
        /// instead spread each client's connections over every loop and doubled p99 under `wrk`.
        func acceptOne(into loop: EventLoop) {
            let fd = latchkey_accept(listener)
            guard fd >= 0 else { return }
            // Before a byte is read: another user's process (or a container sharing the host's
            // network under another uid) gets nothing, not even an error page.
            if let allowedPeerUID, latchkey_peer_uid(loop.diag, fd) != Int64(allowedPeerUID) {
                close(fd)
                return
            }
            var admitted = tryAdmit()
            if !admitted, let victim = evictionCandidate(in: loop) {
                finish(victim, loop: loop)
                admitted = tryAdmit()
            }
            guard admitted else {
                close(fd)
                return
            }
            let connection = Connection(fd: fd, capacity: parser.maxHeaderBytes + parser.maxBodyBytes + 1024)
            connection.phase = .head
            connection.since = loop.now
            connection.deadline = loop.now + headTimeout
            connection.slot = loop.connections.count
            loop.connections.append(connection)
            let tag = UInt64(UInt(bitPattern: Unmanaged.passRetained(connection).toOpaque()))
            Self.watch(loop.fd, fd: fd, events: inEvents, tag: tag)
        }

        private func tryAdmit() -> Bool {
            connectionCount.withLock { count in
                guard count < maxConnections else { return false }
                count += 1
                return true
            }
        }

        /// The connection to close for a newcomer when the server is full: the longest-idle one
        /// holding no partial request, else the oldest partial head (a real client sends its head
        /// at once); never one whose answer is still being written.
        func evictionCandidate(in loop: EventLoop) -> Connection? {
            var idle: Connection?
            var partial: Connection?
            for connection in loop.connections where connection.phase != .sending {
                if connection.count == 0 {
                    if idle.map({ connection.since < $0.since }) ?? true { idle = connection }
                } else if partial.map({ connection.since < $0.since }) ?? true {
                    partial = connection
                }
            }
            return idle ?? partial
        }

        /// Closes connections past their deadline (a slow head, a long idle, an unread answer).
        func closeExpired(in loop: EventLoop) {
            var index = 0
            while index < loop.connections.count {
                let connection = loop.connections[index]
                if connection.deadline <= loop.now {
                    finish(connection, loop: loop)  // moves the last connection into `index`
                } else {
                    index += 1
                }
            }
        }

        func handle(_ connection: Connection, events: UInt32, loop: EventLoop) {
            if events & UInt32(LATCHKEY_EPOLLERR | LATCHKEY_EPOLLHUP) != 0 {
                finish(connection, loop: loop)
                return
            }
            if events & UInt32(LATCHKEY_EPOLLOUT) != 0 {
                guard flush(connection, loop: loop) else { return }
            }
            if events & inEvents != 0 {
                let received = connection.receive()
                guard received > 0 || (received < 0 && errno == EAGAIN) else {
                    finish(connection, loop: loop)
                    return
                }
                process(connection)
                guard flush(connection, loop: loop) else { return }
            }
            settleDeadline(connection, now: loop.now)
        }

        /// Starts the clock of the connection's new phase; a phase that goes on keeps its deadline
        /// (a head sent a byte at a time still has `headTimeout` in all).
        func settleDeadline(_ connection: Connection, now: UInt64) {
            let phase: Connection.Phase =
                connection.pendingOutput ? .sending : connection.count > 0 ? .head : .idle
            guard phase != connection.phase || phase == .idle else { return }
            connection.phase = phase
            connection.since = now
            connection.deadline = now + (phase == .idle ? idleTimeout : headTimeout)
        }

        /// Answers every whole request in the buffer (pipelining allowed, answered in order).
        func process(_ connection: Connection) {
            var offset = 0
            while offset < connection.count, !connection.closing {
                let result = connection.buffer.withUnsafeBytes {
                    parser.parse(UnsafeRawBufferPointer(rebasing: $0[offset..<connection.count]))
                }
                switch result {
                case .incomplete:
                    if connection.count == connection.buffer.count {
                        connection.queue(HTTPResponse(status: 431, close: true).wireBytes())
                        connection.closing = true
                    }
                    connection.consume(offset)
                    return
                case .request(let request, let consumed):
                    let response = handler.respond(to: request)
                    connection.queue(response.wireBytes())
                    if response.close || !request.keepAlive { connection.closing = true }
                    offset += consumed
                case .invalid(let status):
                    connection.queue(HTTPResponse(status: status, close: true).wireBytes())
                    connection.closing = true
                }
            }
            connection.consume(offset)
        }

        /// Writes what is queued; false when the connection was closed.
        func flush(_ connection: Connection, loop: EventLoop) -> Bool {
            let result = connection.send()
            if result < 0 {
                finish(connection, loop: loop)
                return false
            }
            let tag = UInt64(UInt(bitPattern: Unmanaged.passUnretained(connection).toOpaque()))
            if connection.pendingOutput {
                if !connection.waitingToWrite {
                    connection.waitingToWrite = true
                    Self.watch(
                        loop.fd, fd: connection.fd, events: UInt32(LATCHKEY_EPOLLOUT), tag: tag, modify: true)
                }
                return true
            }
            if connection.closing {
                finish(connection, loop: loop)
                return false
            }
            if connection.waitingToWrite {
                connection.waitingToWrite = false
                Self.watch(
                    loop.fd, fd: connection.fd, events: inEvents, tag: tag, modify: true)
            }
            return true
        }

        func finish(_ connection: Connection, loop: EventLoop) {
            guard connection.slot >= 0 else { return }
            close(connection.fd)  // also removes it from the epoll set
            let last = loop.connections.removeLast()
            if last !== connection {
                loop.connections[connection.slot] = last
                last.slot = connection.slot
            }
            connection.slot = -1
            connectionCount.withLock { $0 -= 1 }
            // Kept alive until the batch is done: a later event in it may still name this one.
            loop.closed.append(connection)
            Unmanaged.passUnretained(connection).release()
        }
    }

    /// One event loop's state; handed to its thread at start, then touched by that thread only.
    final class EventLoop: @unchecked Sendable {
        let fd: Int32
        /// The sock_diag socket for peer uid lookups (-1: none, /proc/net/tcp is read instead).
        let diag: Int32
        /// Open connections; each knows its index (`slot`) for removal in O(1).
        var connections: [Connection] = []
        /// Closed during the current batch of events, released after it.
        var closed: [Connection] = []
        /// The monotonic time of the latest wake, in milliseconds.
        var now: UInt64 = latchkey_monotonic_ms()

        init(fd: Int32, diag: Int32) {
            self.fd = fd
            self.diag = diag
        }
    }

    /// One client connection's buffers; touched only by the loop it belongs to.
    final class Connection {
        enum Phase { case head, idle, sending }

        let fd: Int32
        var buffer: [UInt8]
        var count = 0
        var output: [UInt8] = []
        var written = 0
        var closing = false
        var waitingToWrite = false
        /// Index in its loop's `connections`; -1 once closed.
        var slot = -1
        var phase = Phase.head
        /// When the current phase began, and when the connection is closed unless it moves on.
        var since: UInt64 = 0
        var deadline: UInt64 = 0

        init(fd: Int32, capacity: Int) {
            self.fd = fd
            buffer = [UInt8](repeating: 0, count: capacity)
            output.reserveCapacity(2048)
        }

        var pendingOutput: Bool { written < output.count }

        /// One read into the free part of the buffer: bytes read, 0 at end of stream, -1 on error.
        func receive() -> Int {
            guard count < buffer.count else { return 1 }  // full: let the parser refuse it
            let space = buffer.count - count
            let read = buffer.withUnsafeMutableBytes { raw in
                Glibc.read(fd, raw.baseAddress.map { $0 + count }, space)
            }
            if read > 0 { count += read }
            return read
        }

        /// Drops the first `used` bytes (answered requests), keeping a partial one.
        func consume(_ used: Int) {
            guard used > 0 else { return }
            let rest = count - used
            if rest > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    guard let base = raw.baseAddress else { return }
                    memmove(base, base + used, rest)
                }
            }
            count = rest
        }

        func queue(_ bytes: [UInt8]) {
            output.append(contentsOf: bytes)
        }

        /// Writes as much as the socket takes: 0 or more, -1 on a broken connection.
        func send() -> Int {
            var total = 0
            while written < output.count {
                let sent = output.withUnsafeBytes { raw in
                    Glibc.send(
                        fd, raw.baseAddress.map { $0 + written }, output.count - written, Int32(MSG_NOSIGNAL))
                }
                if sent < 0 {
                    if errno == EINTR { continue }
                    return errno == EAGAIN ? total : -1
                }
                written += sent
                total += sent
            }
            output.removeAll(keepingCapacity: true)
            written = 0
            return total
        }
    }

    let inEvents = UInt32(LATCHKEY_EPOLLIN | LATCHKEY_EPOLLRDHUP)
    let exclusiveEvent = UInt32(LATCHKEY_EPOLLEXCLUSIVE)  // one loop wakes per new connection

    struct NotStarted: RequestHandler {
        func respond(to request: HTTPRequest) -> HTTPResponse { HTTPResponse(status: 503, close: true) }
    }

    func errorText() -> String { String(cString: strerror(errno)) }
#else
    /// The raw-socket server is written for Linux's epoll; other systems are not supported yet.
    public final class EpollServer: Sendable {
        public let port: UInt16 = 0
        public init(
            port: UInt16 = 0, threads: Int = defaultLoopCount(), maxConnections: Int = 512,
            parser: HTTPRequestParser = HTTPRequestParser(), allowedPeerUID: UInt32? = nil,
            headTimeout: Double = 5, idleTimeout: Double = 60
        ) throws {
            throw ServerError(description: "the credential servers run on Linux only for now.")
        }
        public func start(handler: any RequestHandler) {}
        public func stop() {}
    }
#endif
