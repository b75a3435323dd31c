#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport
import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The controlling terminal (`/dev/tty`), so prompts work while stdout is captured
/// (`credential_process`, `$(latchkey export ...)`).
enum Terminal {
    struct Unavailable: Error, CustomStringConvertible {
        var description: String { "no terminal is attached to ask for it" }
    }

    /// Saved so a Ctrl-C during a hidden prompt gives the terminal its echo back.
    nonisolated(unsafe) static var savedAttributes: termios?
    nonisolated(unsafe) static var ttyDescriptor: Int32 = -1

    static var isAvailable: Bool {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }

    /// Writes a message to the terminal (not stdout, which may be captured).
    static func say(_ text: String) {
        let fd = open("/dev/tty", O_WRONLY | O_NOCTTY | O_CLOEXEC)
        if fd >= 0 {
            write(fd, text, text.utf8.count)
            close(fd)
        } else {
            writeToStandardError(text)
        }
    }

    /// Reads one line from the terminal; with `hidden` nothing typed is echoed.
    static func readLine(prompt: String, hidden: Bool) throws -> String {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw Unavailable() }
        defer { close(fd) }
        write(fd, prompt, prompt.utf8.count)
        var original = termios()
        let isTTY = tcgetattr(fd, &original) == 0
        if hidden, isTTY {
            var quiet = original
            quiet.c_lflag &= ~tcflag_t(ECHO)
            quiet.c_lflag |= tcflag_t(ECHONL)
            savedAttributes = original
            ttyDescriptor = fd
            signal(SIGINT, restoreAndExit)
            signal(SIGTERM, restoreAndExit)
            tcsetattr(fd, TCSAFLUSH, &quiet)
        }
        defer {
            if hidden, isTTY {
                tcsetattr(fd, TCSAFLUSH, &original)
                savedAttributes = nil
                signal(SIGINT, SIG_DFL)
                signal(SIGTERM, SIG_DFL)
            }
        }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1 {
            if byte == 10 || byte == 13 { break }
            bytes.append(byte)
            if bytes.count > 4096 { break }
        }
        let line = String(decoding: bytes, as: UTF8.self)
        bytes.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        return line
    }

    static func confirm(_ question: String) throws -> Bool {
        let answer = try readLine(prompt: "\(question) [y/N] ", hidden: false)
        return ["y", "yes"].contains(answer.trimmingBlanks().lowercased())
    }
}

private func restoreAndExit(_ signalNumber: Int32) {
    if var attributes = Terminal.savedAttributes {
        tcsetattr(Terminal.ttyDescriptor, TCSAFLUSH, &attributes)
        write(Terminal.ttyDescriptor, "\n", 1)
    }
    _exit(128 + signalNumber)
}

/// Asks for MFA codes on the terminal.
struct TerminalMFAPrompt: MFAPrompt {
    var terminal: any TerminalIO

    func mfaCode(serial: String, profile: String) async throws -> String {
        try terminal.readLine(prompt: "Enter MFA code for \(serial): ", hidden: false)
    }
}

/// No one to ask: for questions about dialogs alone.
struct NoTerminal: TerminalIO {
    var isAvailable: Bool { false }
    func say(_ text: String) {}
    func readLine(prompt: String, hidden: Bool) throws -> String {
        throw CLIError("no terminal is attached to ask on.")
    }
}

/// The controlling terminal as the core's `TerminalIO`: what `liveWorld()` hands the use cases.
struct DeviceTerminal: TerminalIO {
    var isAvailable: Bool { Terminal.isAvailable }
    func say(_ text: String) { Terminal.say(text) }
    func readLine(prompt: String, hidden: Bool) throws -> String {
        try Terminal.readLine(prompt: prompt, hidden: hidden)
    }
}
