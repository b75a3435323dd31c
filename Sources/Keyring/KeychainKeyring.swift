// KeychainKeyring: the macOS Keychain through Security.framework (backend "keychain").
// It cannot be built or run on the Linux machines latchkey is developed on: kept small on purpose.
//
// Items are generic passwords of service `latchkey`, account = item key, label for people, and
// the non-secret metadata as JSON in the generic attribute (read by `list()` without the secret).
// Sessions are stored accessible after first unlock without a user-presence prompt, so
// `credential_process` never shows a dialog; long-lived keys are kept to this device only.

#if canImport(Security)
    import Foundation
    import Security

    public actor KeychainKeyring: Keyring {
        public nonisolated var backendName: String { "keychain" }
        public nonisolated let service: String

        public init(service: String = "latchkey") {
            self.service = service
        }

        public func get(_ key: String) async throws -> KeyringItem? {
            var query = base(key)
            query[kSecReturnData as String] = true
            query[kSecReturnAttributes as String] = true
            var result: CFTypeRef?
            let status = SecItemCopyMatching(query as CFDictionary, &result)
            if status == errSecItemNotFound { return nil }
            try check(status, "read \(key)")
            guard let attributes = result as? [String: Any],
                let secret = attributes[kSecValueData as String] as? Data
            else { throw BackendError.corruptItem(backend: backendName, key: key, reason: "no data") }
            return KeyringItem(
                key: key, label: attributes[kSecAttrLabel as String] as? String ?? key,
                metadata: decodeMetadata(attributes[kSecAttrGeneric as String] as? Data), secret: secret)
        }

        public func set(_ item: KeyringItem) async throws {
            let metadata = try JSONEncoder().encode(item.metadata)
            let isSession = item.metadata["kind"] == "session"
            let update: [String: Any] = [
                kSecValueData as String: item.secret, kSecAttrLabel as String: item.label,
                kSecAttrGeneric as String: metadata,
                kSecAttrAccessible as String: isSession
                    ? kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
                    : kSecAttrAccessibleWhenUnlockedThisDeviceOnly,
            ]
            let status = SecItemUpdate(base(item.key) as CFDictionary, update as CFDictionary)
            if status == errSecItemNotFound {
                let added = base(item.key).merging(update) { $1 }
                try check(SecItemAdd(added as CFDictionary, nil), "store \(item.key)")
            } else {
                try check(status, "update \(item.key)")
            }
        }

        @discardableResult
        public func remove(_ key: String) async throws -> Bool {
            let status = SecItemDelete(base(key) as CFDictionary)
            if status == errSecItemNotFound { return false }
            try check(status, "remove \(key)")
            return true
        }

        public func list() async throws -> [KeyringItemInfo] {
            let query: [String: Any] = [
                kSecClass as String: kSecClassGenericPassword, kSecAttrService as String: service,
                kSecMatchLimit as String: kSecMatchLimitAll, kSecReturnAttributes as String: true,
            ]
            var result: CFTypeRef?
            let status = SecItemCopyMatching(query as CFDictionary, &result)
            if status == errSecItemNotFound { return [] }
            try check(status, "list items")
            let rows = result as? [[String: Any]] ?? []
            return rows.compactMap { row in
                guard let key = row[kSecAttrAccount as String] as? String else { return nil }
                return KeyringItemInfo(
                    key: key, label: row[kSecAttrLabel as String] as? String ?? key,
                    metadata: decodeMetadata(row[kSecAttrGeneric as String] as? Data),
                    modified: row[kSecAttrModificationDate as String] as? Date)
            }
            .sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        }

        private func base(_ key: String) -> [String: Any] {
            [
                kSecClass as String: kSecClassGenericPassword, kSecAttrService as String: service,
                kSecAttrAccount as String: key,
            ]
        }

        private func decodeMetadata(_ data: Data?) -> [String: String] {
            data.flatMap { try? JSONDecoder().decode([String: String].self, from: $0) } ?? [:]
        }

        private func check(_ status: OSStatus, _ operation: String) throws {
            guard status != errSecSuccess else { return }
            let message = SecCopyErrorMessageString(status, nil) as String? ?? "OSStatus \(status)"
            throw BackendError.system(backend: backendName, operation: operation, message: message)
        }
    }
#endif
