import Foundation
import LatchkeyCore

/// How latchkey asks for an MFA code: `--prompt` / `LATCHKEY_PROMPT`, else the terminal when there
/// is one, else a graphical dialog that exists (an IDE or a desktop app calling
/// `credential_process` has no terminal).
enum PromptDriver: String, CaseIterable {
    case terminal, zenity, kdialog, osascript, ykman

    static func choose(_ name: String?, environment: [String: String]) throws -> (any MFAPrompt)? {
        if let name, !name.isEmpty {
            guard let driver = PromptDriver(rawValue: name) else {
                throw CLIError(
                    "unknown prompt driver '\(name)'; choose one of: \(allCases.map(\.rawValue).joined(separator: ", "))."
                )
            }
            return try driver.make(environment: environment)
        }
        if Terminal.isAvailable { return TerminalMFAPrompt() }
        return withoutTerminal(nil, environment: environment)
    }

    /// For a background refresh, when the terminal belongs to someone else (the command under
    /// `exec`, or nobody): the named driver unless it is the terminal, else a dialog that exists.
    static func withoutTerminal(_ name: String?, environment: [String: String]) -> (any MFAPrompt)? {
        if let name, let driver = PromptDriver(rawValue: name), driver != .terminal {
            return try? driver.make(environment: environment)
        }
        return [PromptDriver.osascript, .zenity, .kdialog].lazy.compactMap {
            try? $0.make(environment: environment)
        }.first
    }

    func make(environment: [String: String]) throws -> any MFAPrompt {
        switch self {
        case .terminal:
            guard Terminal.isAvailable else {
                throw CLIError("the terminal prompt needs a terminal, and none is attached.")
            }
            return TerminalMFAPrompt()
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
        guard (try? resolveExecutable(rawValue, environment: environment)) != nil else {
            throw CLIError(
                "\(rawValue) is not installed (or not in PATH); install it or choose another --prompt.")
        }
        return ProgramPrompt(driver: self, environment: environment)
    }
}

/// Asks through a program: a dialog prints what the person typed; ykman prints the YubiKey's code.
struct ProgramPrompt: MFAPrompt {
    var driver: PromptDriver
    var environment: [String: String]

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
        if driver == .ykman { Terminal.say("latchkey: touch your YubiKey if it blinks…\n") }
        do {
            return try await SystemProcessRunner().output(
                of: arguments(serial: serial, profile: profile), environment: environment,
                timeout: .seconds(300))
        } catch {
            let hint =
                driver == .ykman ? " Is the YubiKey plugged in, and does it hold that OATH account?" : ""
            throw CLIError("the \(driver.rawValue) prompt gave no code: \(error).\(hint)")
        }
    }
}
