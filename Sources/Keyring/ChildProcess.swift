import Foundation

/// Runs a helper program (pass, gpg) with data on stdin only: secrets never reach argv.
struct ChildProcess {
    struct Output {
        var status: Int32
        var stdout: Data
        var stderr: Data
        var stderrText: String { String(decoding: stderr, as: UTF8.self) }
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
    /// would hang forever. A program still running after `timeout` is killed.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String], stdin: Data = Data(),
        timeout: Duration = .seconds(120)
    ) throws -> Output {
        var pipes: [[Int32]] = [[0, 0], [0, 0], [0, 0]]
        for index in pipes.indices where pipe(&pipes[index]) != 0 {
            throw BackendError.system(
                backend: "pass", operation: "create a pipe", message: String(cString: strerror(errno)))
        }
        let (inRead, inWrite) = (pipes[0][0], pipes[0][1])
        let (outRead, outWrite) = (pipes[1][0], pipes[1][1])
        let (errRead, errWrite) = (pipes[2][0], pipes[2][1])
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inRead, 0)
        posix_spawn_file_actions_adddup2(&actions, outWrite, 1)
        posix_spawn_file_actions_adddup2(&actions, errWrite, 2)
        for fd in [inRead, inWrite, outRead, outWrite, errRead, errWrite] {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        for fd in [inRead, outWrite, errWrite] { close(fd) }
        guard spawned == 0 else {
            for fd in [inWrite, outRead, errRead] { close(fd) }
            throw BackendError.system(
                backend: "pass", operation: "start \(executable)", message: String(cString: strerror(spawned))
            )
        }
        for fd in [inWrite, outRead, errRead] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        var pending = [UInt8](stdin)
        var inputOpen = true
        if pending.isEmpty {
            close(inWrite)
            inputOpen = false
        }
        var out: [UInt8] = []
        var err: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        var status: Int32 = 0
        var exited = false
        let deadline = ContinuousClock.now + timeout
        func drain(_ fd: Int32, into target: inout [UInt8]) {
            while true {
                let count = read(fd, &buffer, buffer.count)
                guard count > 0 else { return }
                target.append(contentsOf: buffer[0..<count])
            }
        }
        while !exited {
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
                if pending.isEmpty || (written < 0 && errno != EAGAIN) {
                    close(inWrite)
                    inputOpen = false
                }
            }
            if waitpid(pid, &status, WNOHANG) == pid {
                exited = true
            } else if ContinuousClock.now > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                exited = true
            }
        }
        // What the program wrote before it exited is in the pipes now; no need to wait for EOF.
        drain(outRead, into: &out)
        drain(errRead, into: &err)
        if inputOpen { close(inWrite) }
        close(outRead)
        close(errRead)
        let code: Int32 = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Output(status: code, stdout: Data(out), stderr: Data(err))
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
