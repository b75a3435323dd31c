import CLatchkeySys
import Foundation

/// latchkey's own secrets (the vault passphrases), never handed to any program it starts.
public let latchkeySecretVariables = ["LATCHKEY_FILE_PASSPHRASE", "AWS_VAULT_FILE_PASSPHRASE"]

/// The environment for programs latchkey starts (helpers, `mfa_process`, `credential_process`,
/// dialogs, the browser): the caller's, without latchkey's own secrets.
public func childEnvironment(_ environment: [String: String]) -> [String: String] {
    environment.filter { !latchkeySecretVariables.contains($0.key) }
}

/// Runs a helper program (pass, gpg, ykman) with data on stdin only: secrets never reach argv.
public struct ChildProcess {
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: Data
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// The executable's full path: `name` itself when it has a slash, else the first match on PATH.
    static func locate(_ name: String, environment: [String: String]) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":") where !folder.isEmpty {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs the program to its exit. Output is read until the program exits, not until its pipes
    /// close: gpg starts a gpg-agent that inherits them and outlives it, and waiting for EOF
    /// would hang forever. A program still running after `timeout` is killed. (Foundation's
    /// `Process` is kept: it reaps its own children, and a second reaper would race it.)
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String], stdin: Data = Data(),
        timeout: Duration = .seconds(120)
    ) throws -> Output {
        // Every pipe end is close-on-exec: a program another thread starts at the same moment (a
        // test's D-Bus daemon, a browser) must not inherit the write end of the program's stdin,
        // or gpg waits for an EOF that never comes. Foundation's `Pipe` is not close-on-exec.
        let input = try closeOnExecPipe()
        let output = try closeOnExecPipe()
        let errors = try closeOnExecPipe()
        let (inWrite, outRead, errRead) = (input.write, output.read, errors.read)
        var childEnds = [input.read, output.write, errors.write]
        func closeChildEnds() {
            for fd in childEnds { close(fd) }
            childEnds = []
        }
        var inputOpen = true
        defer {
            closeChildEnds()
            if inputOpen { close(inWrite) }
            close(outRead)
            close(errRead)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = childEnvironment(environment)
        // Foundation dup2()s these onto the child's 0, 1 and 2, which clears close-on-exec there.
        process.standardInput = FileHandle(fileDescriptor: input.read, closeOnDealloc: false)
        process.standardOutput = FileHandle(fileDescriptor: output.write, closeOnDealloc: false)
        process.standardError = FileHandle(fileDescriptor: errors.write, closeOnDealloc: false)
        try process.run()
        closeChildEnds()
        for fd in [inWrite, outRead, errRead] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        var pending = [UInt8](stdin)
        var out: [UInt8] = []
        var err: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        func drain(_ fd: Int32, into target: inout [UInt8]) {
            while true {
                let count = read(fd, &buffer, buffer.count)
                guard count > 0 else { return }
                target.append(contentsOf: buffer[0..<count])
            }
        }
        func closeInput() {
            close(inWrite)
            inputOpen = false
        }
        if pending.isEmpty { closeInput() }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            var fds = [
                pollfd(fd: outRead, events: Int16(POLLIN), revents: 0),
                pollfd(fd: errRead, events: Int16(POLLIN), revents: 0),
            ]
            if inputOpen { fds.append(pollfd(fd: inWrite, events: Int16(POLLOUT), revents: 0)) }
            _ = poll(&fds, nfds_t(fds.count), 50)
            drain(outRead, into: &out)
            drain(errRead, into: &err)
            if inputOpen, fds.count == 3, fds[2].revents != 0 {
                let written = pending.withUnsafeBytes { write(inWrite, $0.baseAddress, $0.count) }
                if written > 0 { pending.removeFirst(written) }
                if pending.isEmpty || (written < 0 && errno != EAGAIN) { closeInput() }
            }
            if ContinuousClock.now > deadline {
                kill(process.processIdentifier, SIGKILL)
                break
            }
        }
        process.waitUntilExit()
        // What the program wrote before it exited is in the pipes now; no need to wait for EOF.
        drain(outRead, into: &out)
        drain(errRead, into: &err)
        if inputOpen { closeInput() }
        let status =
            process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
        return Output(status: status, stdout: Data(out), stderr: Data(err))
    }

    /// pipe2(O_CLOEXEC).
    static func closeOnExecPipe() throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        let result = latchkey_pipe_cloexec(&ends)
        guard result == 0 else {
            throw BackendError.system(
                backend: "helper", operation: "make a pipe", message: String(cString: strerror(-result)))
        }
        return (ends[0], ends[1])
    }
}

extension Data {
    /// Base64 with the URL alphabet and no padding (safe in file and entry names).
    var base64URL: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(
            of: "/", with: "_"
        )
        .replacingOccurrences(of: "=", with: "")
    }

    init?(base64URL text: String) {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        self.init(base64Encoded: standard)
    }
}
