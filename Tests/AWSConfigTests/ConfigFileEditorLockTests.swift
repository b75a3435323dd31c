import Foundation
import Testing

@testable import AWSConfig

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite struct ConfigFileEditorLockTests {
    /// Runs `work(i)` for every i on its own thread, all at once; returns the errors thrown.
    private func onThreads(_ count: Int, _ work: @escaping @Sendable (Int) throws -> Void) -> [String] {
        let group = DispatchGroup()
        let errors = ErrorList()
        for index in 0..<count {
            group.enter()
            Thread.detachNewThread {
                do { try work(index) } catch { errors.append("\(error)") }
                group.leave()
            }
        }
        #expect(group.wait(timeout: .now() + 60) == .success, "the edits did not finish: a deadlock")
        return errors.all
    }

    @Test func concurrentEditsOfOneFileAllLand() throws {
        let folder = try TemporaryFolder()
        let path = folder.url("aws/config")
        try folder.write("# mine\n[profile base]\nregion = eu-west-1\n", to: "aws/config")
        let writers = 24
        // Each thread adds its own profile, sets a key in it and in the shared one, and removes one.
        let errors = onThreads(writers) { index in
            try ConfigFileEditor.ensureProfile("p\(index)", inConfigAt: path)
            try ConfigFileEditor.setProperty(
                "region", to: "r\(index)", profile: "p\(index)", inConfigAt: path)
            try ConfigFileEditor.setProperty("k\(index)", to: "v\(index)", profile: "base", inConfigAt: path)
            try ConfigFileEditor.setProperty("gone\(index)", to: "x", profile: "base", inConfigAt: path)
            let removed = try ConfigFileEditor.removeProperty(
                "gone\(index)", profile: "base", inConfigAt: path)
            #expect(removed)
        }
        #expect(errors == [])
        let text = try folder.read("aws/config")
        let config = try AWSSharedConfig.parse(configText: text, credentialsText: nil, configPath: path)
        for index in 0..<writers {
            #expect(config.profiles["p\(index)"]?["region"] == "r\(index)", "lost update for p\(index)")
            #expect(config.profiles["base"]?["k\(index)"] == "v\(index)", "lost key k\(index)")
            #expect(config.profiles["base"]?["gone\(index)"] == nil)
        }
        #expect(text.hasPrefix("# mine\n[profile base]\nregion = eu-west-1\n"))
        // Only the file and its backup remain: no temporary file and no lock file.
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.url("aws")).sorted()
        #expect(names == ["config", "config.latchkey-backup"])
    }

    @Test func concurrentEditsOfAFileNotYetThereAllLand() throws {
        let folder = try TemporaryFolder()
        let path = folder.url("new/aws/config")
        let errors = onThreads(16) { index in
            let added = try ConfigFileEditor.ensureProfile("p\(index)", inConfigAt: path)
            #expect(added)
        }
        #expect(errors == [])
        let text = try folder.read("new/aws/config")
        let config = try AWSSharedConfig.parse(configText: text, credentialsText: nil, configPath: path)
        #expect(Set(config.profiles.keys) == Set((0..<16).map { "p\($0)" }))
    }

    @Test func aHeldLockMakesEditsWaitThenFailWithAClearError() throws {
        let folder = try TemporaryFolder()
        try folder.write("[profile dev]\n", to: "config")
        let path = folder.url("config")
        // Close-on-exec, like latchkey's own: a program another test starts meanwhile would
        // otherwise inherit the descriptor and hold the lock after `close` below.
        let holder = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try #require(holder >= 0)
        try #require(flock(holder, LOCK_EX) == 0)

        #expect {
            try ConfigFileEditor.setProperty(
                "region", to: "x", profile: "dev", inConfigAt: path, lockTimeout: .milliseconds(100))
        } throws: { error in
            let description = "\(error)"
            return description.hasPrefix(path + ": another process") && description.contains("try again")
        }
        #expect(throws: ConfigError.self) {
            try ConfigFileEditor.ensureProfile("new", inConfigAt: path, lockTimeout: .milliseconds(100))
        }
        #expect(throws: ConfigError.self) {
            try ConfigFileEditor.removeProperty(
                "region", profile: "dev", inConfigAt: path, lockTimeout: .milliseconds(100))
        }
        #expect(try folder.read("config") == "[profile dev]\n")

        close(holder)  // a lock dies with its holder's descriptor, as with a killed process
        try ConfigFileEditor.setProperty(
            "region", to: "x", profile: "dev", inConfigAt: path, lockTimeout: .milliseconds(100))
        #expect(try folder.read("config") == "[profile dev]\nregion = x\n")
    }

    @Test func temporariesOfAKilledWriterAreRemovedByTheNextEdit() throws {
        let folder = try TemporaryFolder()
        try folder.write("[profile dev]\n", to: "config")
        // What a writer killed between creating its temporary file and renaming it leaves.
        try folder.write("[profile dev]\nregi", to: ".config.latchkey-a1B2c3")
        try folder.write("[prof", to: ".config.latchkey-backup.latchkey-Zz9Yy8")
        try folder.write("keep", to: ".config.latchkey-notmine")
        #expect(try !ConfigFileEditor.ensureProfile("dev", inConfigAt: folder.url("config")))
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names == [".config.latchkey-notmine", "config"])
    }

    @Test func removingFromAMissingFolderCreatesNothing() throws {
        let folder = try TemporaryFolder()
        #expect(
            try !ConfigFileEditor.removeProperty("k", profile: "p", inConfigAt: folder.url("none/config")))
        #expect(!folder.exists("none"))
    }
}

/// Error descriptions collected from several threads.
private final class ErrorList: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []

    func append(_ item: String) { lock.withLock { items.append(item) } }
    var all: [String] { lock.withLock { items } }
}
