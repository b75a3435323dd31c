#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport
import LatchkeyCore

/// How latchkey asks for an MFA code: `--prompt` / `LATCHKEY_PROMPT`, else the terminal when there
/// is one, else a graphical dialog that exists (an IDE or a desktop app calling
/// `credential_process` has no terminal).
enum PromptDriver: String, CaseIterable {
    case terminal, zenity, kdialog, osascript, ykman

    /// With prompts off only a YubiKey (which asks no one) may supply a code; nil makes a needed
    /// code fail at once with the commands that work.
    static func choose(
        _ name: String?, environment: [String: String], terminal: any TerminalIO,
        promptsOff: PromptsOff? = nil
    ) throws -> (any MFAPrompt)? {
        if let name, !name.isEmpty {
            guard let driver = PromptDriver(rawValue: name) else {
                throw CLIError(
                    "unknown prompt driver '\(name)'; choose one of: \(allCases.map(\.rawValue).joined(separator: ", "))."
                )
            }
            // A driver named with no terminal and no dialog still says why it cannot ask.
            if promptsOff == .option || promptsOff == .environment, driver != .ykman { return nil }
            return try driver.make(environment: environment, terminal: terminal)
        }
        if promptsOff != nil { return nil }
        if terminal.isAvailable { return TerminalMFAPrompt(terminal: terminal) }
        return withoutTerminal(nil, environment: environment, terminal: terminal)
    }

    /// Whether a graphical dialog could ask for a code here (a display and a dialog program).
    static func dialogAvailable(environment: [String: String]) -> Bool {
        [PromptDriver.osascript, .zenity, .kdialog].contains {
            (try? $0.make(environment: environment, terminal: NoTerminal())) != nil
        }
    }

    /// For a background refresh, when the terminal belongs to someone else (the command under
    /// `exec`, or nobody): the named driver unless it is the terminal, else a dialog that exists.
    /// `terminal` only hears what the prompt says while it waits (touch the YubiKey).
    static func withoutTerminal(_ name: String?, environment: [String: String], terminal: any TerminalIO)
        -> (any MFAPrompt)?
    {
        if let name, let driver = PromptDriver(rawValue: name), driver != .terminal {
            return try? driver.make(environment: environment, terminal: terminal)
        }
        return [PromptDriver.osascript, .zenity, .kdialog].lazy.compactMap {
            try? $0.make(environment: environment, terminal: terminal)
        }.first
    }

    func make(environment: [String: String], terminal: any TerminalIO) throws -> any MFAPrompt {
        switch self {
        case .terminal:
            guard terminal.isAvailable else {
                throw CLIError("the terminal prompt needs a terminal, and none is attached.")
            }
            return TerminalMFAPrompt(terminal: terminal)
        case .zenity, .kdialog:
            guard nonEmpty(environment["DISPLAY"]) != nil || nonEmpty(environment["WAYLAND_DISPLAY"]) != nil
            else {
                throw CLIError(
                    "\(rawValue) needs a graphical display, and neither DISPLAY nor WAYLAND_DISPLAY is set.")
            }
        case .osascript:
            #if !os(macOS)
                throw CLIError("the osascript prompt exists only on macOS.")
            #endif
        case .ykman: break
        }
        guard findExecutable(rawValue, environment: environment) != nil else {
            throw CLIError(
                "\(rawValue) is not installed (or not in PATH); install it or choose another --prompt.")
        }
        return ProgramPrompt(
            driver: self, environment: environment, terminal: terminal,
            notifier: DesktopNotifier.system(environment: environment))
    }
}

/// Asks through a program: a dialog prints what the person typed; ykman prints the YubiKey's code.
struct ProgramPrompt: MFAPrompt {
    var driver: PromptDriver
    var environment: [String: String]
    /// Where the person hears what latchkey waits for, when it is attached.
    var terminal: any TerminalIO
    /// Says on the desktop what latchkey waits for, when no terminal can say it.
    var notifier: DesktopNotifier?
    var runner: any ProcessRunner = SystemProcessRunner()

    func arguments(serial: String, profile: String) -> [String] {
        let question = "MFA code for \(serial) (latchkey profile \(profile))"
        switch driver {
        case .zenity: return ["zenity", "--entry", "--title=latchkey", "--text=\(question)"]
        case .kdialog: return ["kdialog", "--title", "latchkey", "--inputbox", question]
        case .osascript:
            return [
                "osascript", "-e",
                "text returned of (display dialog \(appleScriptString(question)) default answer \"\" "
                    + "with title \"latchkey\")",
            ]
        case .ykman:
            // The OATH account holding the AWS secret: named after the device by default.
            let account = nonEmpty(environment["LATCHKEY_YKMAN_ACCOUNT"]) ?? serial
            let device = nonEmpty(environment["LATCHKEY_YKMAN_DEVICE"]).map { ["--device", $0] } ?? []
            return ["ykman"] + device + ["oath", "accounts", "code", "--single", account]
        case .terminal: return []
        }
    }

    func mfaCode(serial: String, profile: String) async throws -> String {
        if driver == .ykman { terminal.say("latchkey: touch your YubiKey if it blinks…\n") }
        if let notifier, !terminal.isAvailable {
            let (title, body) = waitingNotification(profile: profile, serial: serial)
            await notifier.send(title, body)
        }
        do {
            return try await runner.output(
                of: arguments(serial: serial, profile: profile), environment: environment,
                timeout: .seconds(300))
        } catch {
            let hint =
                driver == .ykman ? " Is the YubiKey plugged in, and does it hold that OATH account?" : ""
            throw CLIError("the \(driver.rawValue) prompt gave no code: ", cause: error, ".\(hint)")
        }
    }
}

extension ProgramPrompt {
    /// The desktop notification's title and text: the profile and what is awaited, never a code.
    func waitingNotification(profile: String, serial: String) -> (String, String) {
        let title = "latchkey: profile \(profile) is waiting"
        switch driver {
        case .ykman: return (title, "Touch your YubiKey for the MFA code of \(serial) (profile \(profile)).")
        default:
            return (title, "Enter the MFA code for \(serial) in the latchkey dialog (profile \(profile)).")
        }
    }
}

/// A desktop notification (`notify-send`): a credential_process call has no terminal on which to
/// say that a dialog or a YubiKey touch is waiting.
struct DesktopNotifier: Sendable {
    var send: @Sendable (_ title: String, _ body: String) async -> Void

    /// notify-send when it is installed and a desktop session is there to show it; else nil.
    static func system(environment: [String: String]) -> DesktopNotifier? {
        let session = ["DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS"].contains {
            nonEmpty(environment[$0]) != nil
        }
        guard session, let path = findExecutable("notify-send", environment: environment) else {
            return nil
        }
        return DesktopNotifier { title, body in
            // Best effort: a notification that cannot be shown must not stop the prompt.
            _ = try? await SystemProcessRunner().output(
                of: [path, "--app-name=latchkey", title, body], environment: environment,
                timeout: .seconds(5))
        }
    }
}
