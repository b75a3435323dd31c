import CLatchkeySys

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// This process's environment, read from `environ` once per call (`ProcessInfo.environment`
/// builds the same dictionary behind a lock, at several times the cost on the hot path). A name
/// set twice keeps its first value, as `getenv` finds it; an entry without `=` is skipped.
public func processEnvironment() -> [String: String] {
    #if canImport(Glibc)
        var variables: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.utf8.firstIndex(of: UInt8(ascii: "=")) {
                let name = String(text[..<equals])
                if variables[name] == nil { variables[name] = String(text[text.index(after: equals)...]) }
            }
            entry += 1
        }
        return variables
    #else
        return ProcessInfo.processInfo.environment
    #endif
}

/// latchkey's own secrets (the vault passphrases), never handed to any program it starts.
public let latchkeySecretVariables = ["LATCHKEY_FILE_PASSPHRASE", "AWS_VAULT_FILE_PASSPHRASE"]

/// The environment for programs latchkey starts (helpers, `mfa_process`, `credential_process`,
/// dialogs, the browser, the command of `exec`): the caller's, without latchkey's own secrets.
public func childEnvironment(_ environment: [String: String]) -> [String: String] {
    environment.filter { !latchkeySecretVariables.contains($0.key) }
}

/// Finds a program the way `execvp` does: `name` itself when it has a slash, else the first
/// executable regular file of that name in the environment's PATH (an empty entry is the current
/// folder; no PATH means `/usr/local/bin:/usr/bin:/bin`).
public func findExecutable(_ name: String, environment: [String: String]) -> String? {
    func runnable(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
    }
    if name.contains("/") { return runnable(name) ? name : nil }
    guard !name.isEmpty else { return nil }
    let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for folder in path.split(separator: ":", omittingEmptySubsequences: false) {
        let candidate = (folder.isEmpty ? "." : String(folder)) + "/" + name
        if runnable(candidate) { return candidate }
    }
    return nil
}

/// Runs a program to its end with data on stdin only (secrets never reach argv), collecting its
/// output: the one way latchkey runs helpers (pass, gpg, ykman), `mfa_process`,
/// `credential_process`, dialogs and the browser opener.
///
/// - Every pipe end is close-on-exec, so a program another thread starts at the same moment
///   cannot hold one open.
/// - The program runs in a process group of its own. Reading stops when it exits, not when its
///   pipes close (gpg starts a gpg-agent that inherits them and outlives it); what it wrote
///   before exiting is drained.
/// - A program that outlives `timeout`, or prints more than `outputLimit` bytes on either
///   stream, is killed with its whole group and reaped on every path: no child is left behind,
///   running or as a zombie.
/// - It blocks the calling thread: from async code, call it through `onOwnThread`.
public enum Subprocess {
    public struct Output: Sendable {
        /// The exit status, or 128 + the signal that killed it.
        public var status: Int32
        public var stdout: Data
        public var stderr: Data
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notFound(String)
        case couldNotStart(String, reason: String)
        case timedOut(Duration)
        case tooMuchOutput(limit: Int)
        case system(operation: String, reason: String)

        public var description: String {
            switch self {
            case .notFound(let name): "it was not found (looked for \(name) on PATH)"
            case .couldNotStart(_, let reason): "it could not start: \(reason)"
            case .timedOut(let timeout): "it did not finish within \(timeout) and was stopped"
            case .tooMuchOutput(let limit):
                "it printed more than \(limit % (1 << 20) == 0 ? "\(limit >> 20) MiB" : "\(limit) bytes") and was stopped"
            case .system(let operation, let reason): "could not \(operation): \(reason)"
            }
        }
    }

    /// - Parameters:
    ///   - program: a path, or a name looked up on the environment's PATH.
    ///   - arguments: the arguments after the program's name.
    ///   - environment: given to the program without latchkey's secrets (`childEnvironment`).
    public static func run(
        _ program: String, _ arguments: [String] = [], environment: [String: String], stdin: Data = Data(),
        timeout: Duration = .seconds(120), outputLimit: Int = 1 << 20
    ) throws(Failure) -> Output {
        guard let path = findExecutable(program, environment: environment) else { throw .notFound(program) }
        let input = try pipe()
        let output = try pipe()
        let errors = try pipe()
        var parentEnds = [input.write, output.read, errors.read]
        defer { parentEnds.forEach { if $0 >= 0 { close($0) } } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on 0, 1 and 2 only; every other end closes at exec.
        posix_spawn_file_actions_adddup2(&actions, input.read, 0)
        posix_spawn_file_actions_adddup2(&actions, output.write, 1)
        posix_spawn_file_actions_adddup2(&actions, errors.write, 2)
        let spawned = spawn(path, argv: [program] + arguments, environment: environment, actions: &actions)
        [input.read, output.write, errors.write].forEach { close($0) }
        guard case .success(let pid) = spawned else { throw .couldNotStart(path, reason: spawned.reason) }

        var reader = Reader(
            input: input.write, output: output.read, errors: errors.read, stdin: [UInt8](stdin))
        let deadline = ContinuousClock.now + timeout
        var status: Int32?
        var failure: Failure?
        while status == nil {
            reader.step(waitingMilliseconds: 50)
            // The input end is closed by the reader once written; forget it here too.
            if reader.inputClosed { parentEnds[0] = -1 }
            if reader.received > outputLimit {
                failure = .tooMuchOutput(limit: outputLimit)
            } else if ContinuousClock.now >= deadline {
                failure = .timedOut(timeout)
            }
            if failure != nil {
                kill(-pid, SIGKILL)
                status = reap(pid, blocking: true)
            } else {
                status = reap(pid, blocking: false)
            }
        }
        if let failure { throw failure }
        // What the program wrote before it exited is in the pipes now; no need to wait for EOF.
        reader.drain()
        if reader.received > outputLimit { throw .tooMuchOutput(limit: outputLimit) }
        return Output(status: status ?? 255, stdout: Data(reader.out), stderr: Data(reader.err))
    }

    /// Starts a program that may keep running after latchkey exits (a browser starting its
    /// first window) and watches it for `watch`: its exit status if it ended by then (a browser
    /// handing the page to its running instance), else nil, and it is left running in a process
    /// group of its own with stdin, stdout and stderr on /dev/null.
    public static func launch(
        _ program: String, _ arguments: [String] = [], environment: [String: String],
        watch: Duration = .seconds(2)
    ) throws(Failure) -> Int32? {
        guard let path = findExecutable(program, environment: environment) else { throw .notFound(program) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let spawned = spawn(path, argv: [program] + arguments, environment: environment, actions: &actions)
        guard case .success(let pid) = spawned else { throw .couldNotStart(path, reason: spawned.reason) }
        let deadline = ContinuousClock.now + watch
        while ContinuousClock.now < deadline {
            if let status = reap(pid, blocking: false) { return status }
            usleep(20_000)
        }
        return reap(pid, blocking: false)
    }

    private enum Spawned {
        case success(pid_t)
        case failure(Int32)
        var reason: String {
            if case .failure(let code) = self { return String(cString: strerror(code)) }
            return ""
        }
    }

    /// posix_spawn with what every program latchkey starts gets: a process group of its own,
    /// every signal unblocked and at its default action (whatever this process blocks or ignores,
    /// a server forwarding signals or a test runner, is not the program's), and the environment
    /// without latchkey's secrets.
    private static func spawn(
        _ path: String, argv arguments: [String], environment: [String: String],
        actions: inout posix_spawn_file_actions_t
    ) -> Spawned {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var signals = sigset_t()
        sigemptyset(&signals)
        posix_spawnattr_setsigmask(&attributes, &signals)
        sigfillset(&signals)
        posix_spawnattr_setsigdefault(&attributes, &signals)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = childEnvironment(environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        return code == 0 ? .success(pid) : .failure(code)
    }

    private static func pipe() throws(Failure) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        let result = latchkey_pipe_cloexec(&ends)
        guard result == 0 else {
            throw .system(operation: "make a pipe", reason: String(cString: strerror(-result)))
        }
        return (ends[0], ends[1])
    }

    /// The exit status (128 + signal when killed), or nil while the program runs.
    private static func reap(_ pid: pid_t, blocking: Bool) -> Int32? {
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            if reaped == 0 { return nil }
            if reaped < 0 {
                if errno == EINTR { continue }
                return 255  // not our child any more: nothing left to wait for
            }
            let signal = status & 0x7f
            return signal == 0 ? (status >> 8) & 0xff : 128 + signal
        }
    }

    /// Moves bytes between the program's pipes and memory without blocking.
    private struct Reader {
        let input: Int32
        let output: Int32
        let errors: Int32
        var pending: [UInt8]
        var inputClosed = false
        var out: [UInt8] = []
        var err: [UInt8] = []
        private var buffer = [UInt8](repeating: 0, count: 16384)
        var received: Int { max(out.count, err.count) }

        init(input: Int32, output: Int32, errors: Int32, stdin: [UInt8]) {
            (self.input, self.output, self.errors, pending) = (input, output, errors, stdin)
            for fd in [input, output, errors] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
            // A program that never reads its input must not make latchkey wait: nothing to send
            // means EOF at once.
            if pending.isEmpty { closeInput() }
        }

        mutating func step(waitingMilliseconds: Int32) {
            var fds = [
                pollfd(fd: output, events: Int16(POLLIN), revents: 0),
                pollfd(fd: errors, events: Int16(POLLIN), revents: 0),
            ]
            if !inputClosed { fds.append(pollfd(fd: input, events: Int16(POLLOUT), revents: 0)) }
            _ = poll(&fds, nfds_t(fds.count), waitingMilliseconds)
            drain()
            if !inputClosed, fds[2].revents != 0 {
                let written = pending.withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
                if written > 0 { pending.removeFirst(written) }
                if pending.isEmpty || (written < 0 && errno != EAGAIN && errno != EINTR) { closeInput() }
            }
        }

        mutating func drain() {
            out += Self.available(on: output, buffer: &buffer)
            err += Self.available(on: errors, buffer: &buffer)
        }

        /// What the pipe holds now (at most 64 MiB a call: the caller's cap is checked between calls).
        private static func available(on fd: Int32, buffer: inout [UInt8]) -> [UInt8] {
            var bytes: [UInt8] = []
            while bytes.count <= 1 << 26 {
                let count = read(fd, &buffer, buffer.count)
                guard count > 0 else { break }
                bytes.append(contentsOf: buffer[0..<count])
            }
            return bytes
        }

        private mutating func closeInput() {
            close(input)
            inputClosed = true
        }
    }
}
