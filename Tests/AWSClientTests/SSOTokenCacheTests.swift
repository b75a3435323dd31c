import AWSClient
import Foundation
import LatchkeyTestSupport
import Testing

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
        "latchkey-sources-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func permissions(_ url: URL) throws -> Int {
    try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int)
}

@Suite("SSO token cache (AWS CLI format)")
struct SSOTokenCacheTests {
    @Test(arguments: [
        // The file names the conformance cases ship, and the SHA-1 test vectors of FIPS 180.
        (SSOTokenCache.Key.session("dev"), "34c6fceca75e456f25e7e99531e2425c6c1de443.json"),
        (.session("test-sso"), "d12208e38164f558a1d06c99432ab77dbb346c45.json"),
        (.session("correct-sso"), "29faa2f70ab0f58f60e284d585d95865572f5cbd.json"),
        (.startURL("https://ssotest.awsapps.com/start"), "dace00cba5f8355ec9d274ceb2bcebdfbeed0e12.json"),
        (.session(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709.json"),
        (.session("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d.json"),
        (
            .session("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1.json"
        ),
        (.session(String(repeating: "a", count: 1000)), "291e9a6c66994949b57ba5e650361e98fc36b1ba.json"),
    ])
    func fileNamesAreSHA1Hex(key: SSOTokenCache.Key, name: String) {
        #expect(SSOTokenCache.fileName(for: key) == name)
    }

    @Test(arguments: [
        ("default-token-provider-chain/profile_keys", SSOTokenCache.Key.session("test-sso")),
        ("default-token-provider-chain/profile_keys_case_insensitive", .session("test-sso")),
        ("default-token-provider-chain/profile_name", .session("correct-sso")),
    ])
    func readsTheTokenProviderConformanceCases(folder: String, key: SSOTokenCache.Key) throws {
        let directory = ConformanceData.directory.appendingPathComponent(
            "credential-provider-tests/\(folder)")
        let expected = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: directory.appendingPathComponent("test-case.json")))
                as? [String: Any])
        let ok = try #require((expected["result"] as? [String: Any])?["Ok"] as? [String: String])
        let cache = SSOTokenCache(home: directory.appendingPathComponent("fs/home"))
        let token = try #require(try cache.read(key))
        #expect(token.accessToken == ok["token"])
        #expect(token.expiresAt == Date(timeIntervalSince1970: 3_496_276_605))  // 2080-10-16T03:56:45Z
        #expect(ok["expiration"] == "2080-10-16T03:56:45Z")
        #expect(token.startUrl == "https://ssotest.awsapps.com/start")
    }

    @Test func readsEveryFieldOfACLIToken() throws {
        let home = ConformanceData.directory.appendingPathComponent(
            "credential-provider-tests/profile-provider/sso_credentials/fs/home")
        let token = try #require(try SSOTokenCache(home: home).read(.session("dev")))
        #expect(
            token
                == SSOToken(
                    accessToken: "secret-access-token", expiresAt: Date(timeIntervalSince1970: 7_253_985_945),
                    startUrl: "https://d-abc123.awsapps.com/start", region: "us-east-1",
                    refreshToken: "secret-refresh-token", clientId: "ABCDEFG323242423121312312312312312",
                    clientSecret: "ABCDE123",
                    registrationExpiresAt: Date(timeIntervalSince1970: 7_232_183_597)))
        #expect(!token.description.contains("secret-access-token"))
        #expect(!token.description.contains("secret-refresh-token"))
        #expect(token.canRefresh(at: fixedNow))
    }

    @Test func aMissingFileIsNotSignedIn() throws {
        // sso_no_token_file: the cache holds another name only.
        let home = ConformanceData.directory.appendingPathComponent(
            "credential-provider-tests/default-credential-provider-chain/sso_no_token_file/fs/home")
        let cache = SSOTokenCache(home: home)
        #expect(try cache.read(.startURL("https://ssotest.awsapps.com/start")) == nil)
        #expect(
            cache.fileURL(for: .startURL("https://ssotest.awsapps.com/start")).path
                .hasSuffix("/home/.aws/sso/cache/dace00cba5f8355ec9d274ceb2bcebdfbeed0e12.json"))
    }

    @Test func writeIsPrivateAtomicAndReadsBack() throws {
        let home = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: home) }
        let cache = SSOTokenCache(home: home)
        let token = SSOToken(
            accessToken: "aoa", expiresAt: Date(timeIntervalSince1970: 1_700_028_800),
            startUrl: "https://x/start",
            region: "eu-west-1", refreshToken: "aor", clientId: "cid", clientSecret: "cs",
            registrationExpiresAt: Date(timeIntervalSince1970: 1_707_776_000))
        try cache.write(token, for: .session("my-sso"))
        let file = cache.fileURL(for: .session("my-sso"))
        #expect(try permissions(file) & 0o777 == 0o600)
        #expect(try permissions(cache.directory) & 0o777 == 0o700)
        #expect(try cache.read(.session("my-sso")) == token)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: String])
        #expect(object["expiresAt"] == "2023-11-15T06:13:20Z")
        #expect(object["registrationExpiresAt"] == "2024-02-12T22:13:20Z")
        #expect(object["startUrl"] == "https://x/start")
        // Replacing leaves no temporary files behind.
        var newer = token
        newer.accessToken = "aoa2"
        try cache.write(newer, for: .session("my-sso"))
        #expect(try cache.read(.session("my-sso"))?.accessToken == "aoa2")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: cache.directory.path) == [
                file.lastPathComponent
            ])
        try cache.remove(.session("my-sso"))
        try cache.remove(.session("my-sso"))
        #expect(try cache.read(.session("my-sso")) == nil)
    }

    @Test(arguments: [
        ("{\"expiresAt\":\"2080-10-16T03:56:45Z\"}", "accessToken is missing"),
        ("{\"accessToken\":\"secret-token\"}", "expiresAt is missing"),
        ("{\"accessToken\":\"secret-token\",\"expiresAt\":\"tomorrow\"}", "expiresAt is not an RFC 3339"),
        ("{\"accessToken\":5,\"expiresAt\":\"2080-10-16T03:56:45Z\"}", "accessToken has the wrong type"),
        ("not json secret-token", "not a JSON object"),
    ])
    func malformedFilesAreClearErrors(contents: String, reason: String) throws {
        let home = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: home) }
        let cache = SSOTokenCache(home: home)
        try FileManager.default.createDirectory(at: cache.directory, withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: cache.fileURL(for: .session("s")))
        do {
            _ = try cache.read(.session("s"))
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .malformed)
            #expect(error.reason.contains(reason))
            #expect(error.description.contains(cache.fileURL(for: .session("s")).path))
            #expect(!error.description.contains("secret-token"))
        }
    }

    @Test func expiryAndRefreshWindow() {
        let token = SSOToken(accessToken: "a", expiresAt: fixedNow.addingTimeInterval(600), clientId: "c")
        #expect(!token.isExpired(at: fixedNow))
        #expect(token.needsRefresh(at: fixedNow))  // inside the SDKs' 15-minute window
        #expect(!token.needsRefresh(at: fixedNow.addingTimeInterval(-600)))
        #expect(token.isExpired(at: fixedNow.addingTimeInterval(600)))
        #expect(!token.canRefresh(at: fixedNow))  // no refresh token
        var refreshable = token
        refreshable.refreshToken = "r"
        refreshable.clientSecret = "s"
        refreshable.registrationExpiresAt = fixedNow
        #expect(!refreshable.canRefresh(at: fixedNow))  // the client registration expired
        #expect(refreshable.canRefresh(at: fixedNow.addingTimeInterval(-1)))
    }
}
