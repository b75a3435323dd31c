import ArgumentParser
import Foundation
import LatchkeyCore

struct BackendsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backends",
        abstract: "List the keyring backends, whether each is available here and why not.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Print JSON for scripts.")
    var json = false

    func run() async throws {
        let runtime = try Runtime(options: global)
        let rows = KnownBackend.allCases.map { backend in
            (backend.rawValue, backend.unavailableReason(runtime.backends, environment: runtime.environment))
        }
        if json {
            let objects = rows.map { name, reason -> [String: Any] in
                var object: [String: Any] = [
                    "name": name, "available": reason == nil, "selected": name == runtime.backendName,
                ]
                object["reason"] = reason
                return object
            }
            let data = try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys])
            runtime.print(String(decoding: data, as: UTF8.self))
            return
        }
        for (name, reason) in rows {
            let marker = name == runtime.backendName ? "*" : " "
            runtime.print(
                "\(marker) \(name.padding(toLength: 15, withPad: " ", startingAt: 0)) \(reason.map { "unavailable: \($0)" } ?? "available")"
            )
        }
        runtime.print("(* = the backend used now; choose with --backend or LATCHKEY_BACKEND)")
    }
}
