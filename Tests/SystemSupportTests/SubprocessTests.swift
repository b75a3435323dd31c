#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import SystemSupport
import Testing

@Suite struct SubprocessTests {
    /// While a helper is still being fed its stdin (more than a pipe holds, so the write end stays
    /// open), a program started with libc's system() by another thread (as the Secret Service
    /// fixture starts its daemons) holds none of the helper's pipes. With inheritable pipes it
    /// held the stdin write end too, and gpg under pass waited for an EOF that never came (a hang
    /// seen when the keyring tests ran in parallel). Other tests' pipes are not looked at: the
    /// helper names its own three.
    @Test func pipesOfARunningHelperAreNotInheritedByOtherPrograms() async throws {
        let environment = ProcessInfo.processInfo.environment
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let helperPipes = folder.appendingPathComponent("helper")
        let script = """
            a=$(readlink /proc/$$/fd/0); b=$(readlink /proc/$$/fd/1); c=$(readlink /proc/$$/fd/2)
            printf '%s\\n%s\\n%s\\n' "$a" "$b" "$c" > '\(helperPipes.path).tmp'
            mv '\(helperPipes.path).tmp' '\(helperPipes.path)'
            sleep 1; cat >/dev/null
            """
        let feeding = Task.detached {
            try Subprocess.run(
                "/bin/sh", ["-c", script], environment: environment,
                stdin: Data(repeating: 0x61, count: 1 << 20), timeout: .seconds(30))
        }
        var named: [String] = []
        for _ in 0..<100 where named.isEmpty {
            try await Task.sleep(for: .milliseconds(50))
            named =
                (try? String(contentsOf: helperPipes, encoding: .utf8))?.split(separator: "\n").map(
                    String.init)
                ?? []
        }
        #expect(named.count == 3 && named.allSatisfy { $0.hasPrefix("pipe:") })
        let listing = folder.appendingPathComponent("listing")
        #expect(system("ls -l /proc/self/fd >'\(listing.path)' </dev/null 2>/dev/null") == 0)
        let held = try String(contentsOf: listing, encoding: .utf8).split(separator: "\n").compactMap {
            $0.components(separatedBy: " -> ").last
        }
        #expect(Set(held).isDisjoint(with: named), "a program started meanwhile holds \(held)")
        let fed = try await feeding.value
        #expect(fed.status == 0)
    }

    /// Reading stops when the program exits, even while a program it started holds its pipes
    /// (gpg's agent does); what it wrote is all there.
    /// `launch` (a browser): the status of a program that ends within the watch, nil for one
    /// still running, which is left running in its own process group.
    @Test func launchReportsAQuickExitAndLeavesALongRunnerRunning() throws {
        let environment = ProcessInfo.processInfo.environment
        #expect(try Subprocess.launch("/bin/sh", ["-c", "exit 3"], environment: environment) == 3)
        #expect(try Subprocess.launch("/bin/sh", ["-c", "exit 0"], environment: environment) == 0)
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent(
            "launch-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: marker) }
        let started = ContinuousClock.now
        let status = try Subprocess.launch(
            "/bin/sh", ["-c", "sleep 1.5; touch \"$0\"", marker.path], environment: environment,
            watch: .milliseconds(300))
        #expect(status == nil)
        #expect(ContinuousClock.now - started < .seconds(1))
        while !FileManager.default.fileExists(atPath: marker.path),
            ContinuousClock.now - started < .seconds(20)
        {
            usleep(50_000)
        }
        #expect(FileManager.default.fileExists(atPath: marker.path))
        #expect(throws: Subprocess.Failure.notFound("no-such-browser-here")) {
            try Subprocess.launch("no-such-browser-here", environment: environment)
        }
    }

    @Test func readingEndsWhenTheProgramExitsNotWhenItsPipesClose() throws {
        let output = try Subprocess.run(
            "/bin/sh", ["-c", "sleep 30 & echo out; echo err >&2"], environment: ["PATH": "/usr/bin:/bin"],
            timeout: .seconds(20))
        #expect(output.status == 0 && output.stdoutText == "out\n" && output.stderrText == "err\n")
    }

    @Test func stdinReachesTheProgramAndStatusesAreReported() throws {
        let echoed = try Subprocess.run(
            "cat", environment: ["PATH": "/usr/bin:/bin"], stdin: Data("secret on stdin".utf8))
        #expect(echoed.stdoutText == "secret on stdin")
        let failed = try Subprocess.run("/bin/sh", ["-c", "exit 3"], environment: [:])
        #expect(failed.status == 3)
        let killed = try Subprocess.run("/bin/sh", ["-c", "kill -TERM $$"], environment: [:])
        #expect(killed.status == 128 + SIGTERM)
    }

    @Test func latchkeysSecretsNeverReachTheProgram() throws {
        let output = try Subprocess.run(
            "/usr/bin/env",
            environment: ["LATCHKEY_FILE_PASSPHRASE": "s1", "AWS_VAULT_FILE_PASSPHRASE": "s2", "KEEP": "1"])
        #expect(output.stdoutText.contains("KEEP=1") && !output.stdoutText.contains("PASSPHRASE"))
    }

    /// A program past its deadline or its output cap is killed with everything it started, and
    /// reaped: its process group is empty when `run` returns.
    @Test(arguments: [
        ("timeout", "sleep 30", Subprocess.Failure.timedOut(.seconds(1))),
        ("closes its output and stays", "exec >&- 2>&-; sleep 30", .timedOut(.seconds(1))),
        ("overflow", "yes 0123456789", .tooMuchOutput(limit: 1 << 16)),
    ])
    func theProgramAndItsGroupAreKilled(_ name: String, _ body: String, _ expected: Subprocess.Failure) throws
    {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "group-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pidFile = folder.appendingPathComponent("pid").path
        #expect(throws: expected, "\(name)") {
            try Subprocess.run(
                "/bin/sh", ["-c", "echo $$ > \(pidFile); sleep 30 & \(body)"],
                environment: ["PATH": "/usr/bin:/bin"],
                timeout: .seconds(1), outputLimit: 1 << 16)
        }
        let pid = try #require(
            Int32(String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .newlines)))
        // The group's leader was reaped (no zombie), and the group is gone.
        var status: Int32 = 0
        #expect(waitpid(pid, &status, WNOHANG) == -1 && errno == ECHILD)
        var gone = false
        for _ in 0..<100 where !gone {
            gone = kill(-pid, 0) == -1 && errno == ESRCH
            if !gone { usleep(20_000) }
        }
        #expect(gone, "a process of the group survived")
    }

    @Test func programsAreFoundLikeExecvpDoes() throws {
        #expect(findExecutable("sh", environment: ["PATH": "/nonexistent::/bin"]) == "/bin/sh")
        #expect(findExecutable("/bin", environment: [:]) == nil)
        #expect(findExecutable("no-such-program-here", environment: ["PATH": "/bin"]) == nil)
        #expect(throws: Subprocess.Failure.notFound("no-such-program-here")) {
            try Subprocess.run("no-such-program-here", environment: ["PATH": "/bin"])
        }
    }
}

@Suite struct ProcessEnvironmentTests {
    @Test func readsWhatProcessInfoReads() {
        setenv("LATCHKEY_TEST_ENVIRONMENT", "a=b=c", 1)
        defer { unsetenv("LATCHKEY_TEST_ENVIRONMENT") }
        let environment = processEnvironment()
        #expect(environment["LATCHKEY_TEST_ENVIRONMENT"] == "a=b=c", "only the first = splits")
        // (Not the whole dictionary: another suite in this process may set DBUS_SESSION_BUS_ADDRESS meanwhile.)
        for name in ["PATH", "HOME", "LATCHKEY_TEST_ENVIRONMENT"] {
            #expect(environment[name] == ProcessInfo.processInfo.environment[name], "\(name)")
        }
        #expect(environment["LATCHKEY_NO_SUCH_VARIABLE"] == nil)
    }
}
