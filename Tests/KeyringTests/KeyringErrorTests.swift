import Keyring
import Testing

@Suite struct KeyringErrorTests {
    /// Each error names where the problem is and what to do, in one sentence.
    @Test(arguments: [
        (KeyringError.wrongPassphrase(vault: "/v"), ["/v", "passphrase"]),
        (.emptyPassphrase(vault: "/v"), ["/v", "non-empty"]),
        (.corruptVault(file: "/v/vault.json", reason: "r"), ["/v/vault.json", "restore", "(r)"]),
        (.corruptItem(file: "/v/item-a.json", reason: "r"), ["/v/item-a.json", "delete it", "(r)"]),
        (.tamperedItem(file: "/v/item-a.json"), ["/v/item-a.json", "authentication", "delete it"]),
        (.unsupportedVersion(file: "/v/item-a.json", version: 9), ["/v/item-a.json", "9", "upgrade"]),
        (.insecurePermissions(path: "/v", mode: 0o755), ["/v", "755", "chmod 700 /v"]),
        (.wrongOwner(path: "/v", owner: 1000), ["/v", "1000", "chown"]),
        (.lockTimeout(path: "/v/.lock", seconds: 10), ["/v/.lock", "10.0 s", "try again"]),
        (.invalidKey(key: "k", reason: "the key is empty"), ["\"k\"", "the key is empty"]),
        (.io(operation: "read", path: "/v/x", errno: 2), ["read /v/x", "No such file or directory"]),
    ])
    func descriptionsSayWhereAndWhatToDo(error: KeyringError, fragments: [String]) {
        let text = error.description
        for fragment in fragments { #expect(text.contains(fragment), "\(text)") }
        #expect(text.hasSuffix("."))
        #expect(!text.contains("\n"))
    }
}
