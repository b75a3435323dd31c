import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport
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
            let objects = rows.map { name, reason -> JSONValue in
                var object: [String: JSONValue] = [
                    "name": .string(name), "available": .bool(reason == nil),
                    "selected": .bool(name == runtime.backendName),
                ]
                object["reason"] = reason.map { .string($0) }
                return .object(object)
            }
            let data = try JSONValue.array(objects).encoded()
            runtime.print(String(decoding: data, as: UTF8.self))
            return
        }
        for (name, reason) in rows {
            let marker = name == runtime.backendName ? "*" : " "
            runtime.print(
                "\(marker) \(name.padded(to: 15)) \(reason.map { "unavailable: \($0)" } ?? "available")"
            )
        }
        runtime.print("(* = the backend used now; choose with --backend or LATCHKEY_BACKEND)")
    }
}
