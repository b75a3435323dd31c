import Foundation
import Keyring
import Testing

/// aws-vault's file store, written by an independent JWE implementation (Python joserfc) at run time.
@Suite struct AWSVaultImportTests {
    /// Writes aws-vault-shaped items into `folder` with joserfc; each entry is (file name, item JSON).
    static func writeStore(_ folder: String, passphrase: String, items: [(String, String)]) throws {
        let script = """
            import json, sys, warnings
            from joserfc import jwe
            from joserfc.jwk import OctKey
            warnings.simplefilter("ignore")
            folder, passphrase, items = sys.argv[1], sys.argv[2], json.loads(sys.stdin.read())
            key = OctKey.import_key(passphrase.encode())
            for name, item in items:
                header = {"alg": "PBES2-HS256+A128KW", "enc": "A256GCM", "p2c": 8192}
                token = jwe.encrypt_compact(header, item.encode(), key, algorithms=["PBES2-HS256+A128KW", "A256GCM"])
                open(folder + "/" + name, "w").write(token)
            """
        let input = try JSONSerialization.data(withJSONObject: items.map { [$0.0, $0.1] })
        try BackendFixtures.run(
            "/usr/bin/env", ["python3", "-c", script, folder, passphrase],
            stdin: String(decoding: input, as: UTF8.self))
    }

    static func item(_ key: String, accessKeyId: String, secret: String, token: String = "") -> String {
        let value =
            #"{"AccessKeyID":"\#(accessKeyId)","SecretAccessKey":"\#(secret)","SessionToken":"\#(token)","ProviderName":""}"#
        let data = Data(value.utf8).base64EncodedString()
        return
            #"{"Key":"\#(key)","Data":"\#(data)","Label":"aws-vault (\#(key))","Description":"","KeychainNotTrustApplication":true,"KeychainNotSynchronizable":false}"#
    }

    static let session = "sts.GetSessionToken,ZG91Zw,,1900000000"

    /// A long-lived key for doug and one aws-vault session, as file-store entries.
    static let dougAndASession = [
        ("doug", item("doug", accessKeyId: "AKIADOUGEXAMPLE", secret: "doug/secret+key")),
        (session, item(session, accessKeyId: "ASIASESSION", secret: "s", token: "tok")),
    ]

    @Test func importsLongLivedKeysAndSkipsSessions() throws {
        let folder = try TemporaryFolder()
        defer { folder.delete() }
        try Self.writeStore(
            folder.path, passphrase: "vault pass",
            items: Self.dougAndASession + [
                ("zoë", Self.item("zoë", accessKeyId: "AKIAZOEEXAMPLE", secret: "zoe-secret")),
                ("oidc:https:⁄⁄example.awsapps.com⁄start", #"{"Key":"oidc:x","Data":"e30="}"#),
            ])
        let found = try AWSVault.fileStoreCredentials(directory: folder.path, passphrase: "vault pass")
        #expect(
            found == [
                AWSVaultCredential(
                    profile: "doug", accessKeyId: "AKIADOUGEXAMPLE", secretAccessKey: "doug/secret+key"),
                AWSVaultCredential(
                    profile: "zoë", accessKeyId: "AKIAZOEEXAMPLE", secretAccessKey: "zoe-secret"),
            ])
    }

    @Test func wrongPassphraseIsAClearErrorWithoutSecrets() throws {
        let folder = try TemporaryFolder()
        defer { folder.delete() }
        try Self.writeStore(
            folder.path, passphrase: "vault pass",
            items: [("doug", Self.item("doug", accessKeyId: "AKIADOUGEXAMPLE", secret: "doug/secret+key"))])
        let error = try #require(throws: AWSVaultImportError.self) {
            try AWSVault.fileStoreCredentials(directory: folder.path, passphrase: "not it")
        }
        #expect(error == .wrongPassphrase(file: folder.path + "/doug"))
        #expect(error.description.contains("AWS_VAULT_FILE_PASSPHRASE"))
        #expect(!error.description.contains("not it"))
    }

    @Test func missingFolderAndNonJWEFiles() throws {
        #expect(throws: AWSVaultImportError.folderMissing(path: "/nonexistent/awsvault")) {
            try AWSVault.fileStoreCredentials(directory: "/nonexistent/awsvault", passphrase: "x")
        }
        #expect(throws: AWSVaultImportError.notJWE(file: "f")) {
            try JWE.decrypt("a.b.c", passphrase: "x", file: "f")
        }
    }

    /// RFC 3394 section 4.1: 128 bits of key data wrapped with a 128-bit KEK.
    @Test func aesKeyUnwrapRFC3394Vector() throws {
        func hex(_ text: String) -> Data {
            Data(
                stride(from: 0, to: text.count, by: 2).map {
                    UInt8(text.dropFirst($0).prefix(2), radix: 16) ?? 0
                })
        }
        let kek = hex("000102030405060708090A0B0C0D0E0F")
        let wrapped = hex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")
        #expect(try JWE.unwrapForTests(wrapped, kek: kek) == hex("00112233445566778899AABBCCDDEEFF"))
        var tampered = wrapped
        tampered[0] ^= 1
        #expect(throws: (any Error).self) { try JWE.unwrapForTests(tampered, kek: kek) }
    }

    /// The item JSON aws-vault v7 leaves in pass entries and Secret Service secrets (keyring.Item,
    /// Data = base64 of aws-sdk-go-v2 aws.Credentials); a session's Data is STS Credentials.
    @Test func awsVaultV7ItemLayout() throws {
        let keyPair = Data(
            #"{"AccessKeyID":"AKIADOUGEXAMPLE","SecretAccessKey":"doug/secret+key","SessionToken":"","Source":"","CanExpire":false,"Expires":"0001-01-01T00:00:00Z"}"#
                .utf8
        ).base64EncodedString()
        let item = Data(
            #"{"Key":"doug","Data":"\#(keyPair)","Label":"aws-vault (doug)","Description":"","KeychainNotTrustApplication":true,"KeychainNotSynchronizable":false}"#
                .utf8)
        #expect(
            AWSVault.credential(itemJSON: item, fallbackName: "other")
                == AWSVaultCredential(
                    profile: "doug", accessKeyId: "AKIADOUGEXAMPLE", secretAccessKey: "doug/secret+key"))
        let sessionData = Data(
            #"{"AccessKeyId":"ASIAEXAMPLE","Expiration":"2030-03-17T17:46:40Z","SecretAccessKey":"s","SessionToken":"t"}"#
                .utf8
        ).base64EncodedString()
        let session = Data(
            #"{"Key":"sts.GetSessionToken,ZG91Zw,,1900000000","Data":"\#(sessionData)","Label":"aws-vault session for doug","Description":"aws-vault session"}"#
                .utf8)
        #expect(AWSVault.credential(itemJSON: session, fallbackName: "doug") == nil)
    }

    @Test func fileStoreReportsSkippedItems() throws {
        let folder = try TemporaryFolder()
        defer { folder.delete() }
        try Self.writeStore(
            folder.path, passphrase: "vault pass",
            items: Self.dougAndASession + [("notakey", #"{"Key":"notakey","Data":"e30="}"#)])
        var skipped: [String] = []
        let found = try AWSVault.fileStoreCredentials(directory: folder.path, passphrase: "vault pass") {
            skipped.append($0)
        }
        #expect(found.map(\.profile) == ["doug"])
        #expect(skipped == ["notakey", Self.session])
    }

    @Test(arguments: [
        ("doug", false), ("sts.GetSessionToken,ZG91Zw,,1700000000", true),
        ("sts.AssumeRole,ZG91Zw,YXJu,1700000000", true), ("session,ZG91Zw,,1700000000", true),
        ("session:doug:arn:1700000000", true), ("doug session (1700000000)", true), ("oidc:https://x", true),
        ("team,prod", false),
    ])
    func sessionNames(name: String, isSession: Bool) {
        #expect(AWSVault.isSessionOrTokenName(name) == isSession)
    }
}
