import AWSClient
import AWSSigV4
import Crypto
import Foundation
import LatchkeyTestSupport
import Testing

func jsonDictionary(_ data: Data) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

/// The three base64url parts of a compact JWS, decoded.
func jwsParts(_ token: String) throws -> (header: [String: Any], claims: [String: Any], signature: Data) {
    let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    try #require(parts.count == 3)
    func decode(_ text: String) throws -> Data {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard += "=" }
        return try #require(Data(base64Encoded: standard))
    }
    return (
        try jsonDictionary(try decode(parts[0])), try jsonDictionary(try decode(parts[1])),
        try decode(parts[2])
    )
}

/// A lowercase canonical UUID version 4, as botocore and the AWS CLI write them.
func isUUIDv4(_ text: String) -> Bool {
    text.wholeMatch(of: #/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/#) != nil
}

let signinTokenJSON = """
    {"accessToken":{"accessKeyId":"ASIASIGNIN1","secretAccessKey":"signin-secret-do-not-print",\
    "sessionToken":"signin-session-token-do-not-print"},"tokenType":"aws_sigv4","expiresIn":900,\
    "refreshToken":"refresh-token-do-not-print-2"}
    """

func signinError(_ shape: String, _ error: String, status: Int, message: String = "msg")
    -> ScriptedTransport.Step
{
    .json(
        #"{"error":"\#(error)","message":"\#(message)"}"#, status: status,
        headers: ["x-amzn-ErrorType": shape])
}

func signinClient(
    _ transport: ScriptedTransport, base: String = "https://us-east-1.signin.aws.amazon.com",
    sleeper: SleepRecorder = SleepRecorder(), now: Date = fixedNow
) throws -> SigninOAuthClient {
    SigninOAuthClient(
        baseURI: try #require(URL(string: base)), transport: transport, retry: fastRetry(sleeper),
        now: { now })
}

func sampleSession(key: DPoPKey = DPoPKey(), expiration: Date = fixedNow.addingTimeInterval(900))
    -> LoginSession
{
    LoginSession(
        credentials: AWSCredentials(
            accessKeyId: "ASIASESSION1", secretAccessKey: "session-secret-do-not-print",
            sessionToken: "session-token-do-not-print", expiration: expiration),
        refreshToken: "refresh-token-do-not-print-1", dpopKey: key,
        clientId: SigninOAuthClientKind.sameDevice.clientId,
        identityArn: "arn:aws:iam::123456789012:user/conformance-test", region: "us-east-1",
        issuedAt: fixedNow,
        idToken:
            "eyJhbGciOiJub25lIn0.eyJzdWIiOiAiYXJuOmF3czppYW06OjEyMzQ1Njc4OTAxMjp1c2VyL2NvbmZvcm1hbmNlLXRlc3QifQ."
    )
}

@Suite("AWS Sign-In OAuth (aws login)")
struct SigninOAuthTests {
    // MARK: botocore conformance

    @Test func refreshRequestMatchesBotocoresCapture() async throws {
        let capture = try jsonDictionary(try ConformanceData.data("aws-login/botocore-refresh-capture.json"))
        let captured = try #require(capture["captured_request"] as? [String: Any])
        let capturedHeaders = try #require(captured["headers"] as? [[String]])
        func header(_ name: String) -> String? {
            capturedHeaders.first { $0.first?.lowercased() == name.lowercased() }?.last
        }
        let capturedBody = try jsonDictionary(Data(try #require(captured["body"] as? String).utf8))
        let responseBody = try JSONSerialization.data(withJSONObject: try #require(captured["response_body"]))
        let endpoint = try #require(capture["endpoint"] as? String)

        let transport = ScriptedTransport([.json(String(decoding: responseBody, as: UTF8.self))])
        let client = try signinClient(transport, base: endpoint)
        let token = try await client.refresh(
            clientId: try #require(capturedBody["clientId"] as? String),
            refreshToken: try #require(capturedBody["refreshToken"] as? String), key: DPoPKey())

        let request = try #require(await transport.requests.first)
        #expect(request.method == captured["method"] as? String)
        #expect(request.url.path == captured["path"] as? String)
        #expect(request.url.query == nil)
        #expect("\(request.url.host ?? ""):\(request.url.port ?? 0)" == header("Host"))
        // Every header latchkey sends is one botocore sends; no signature of any kind.
        #expect(request.headers["Content-Type"] == header("Content-Type"))
        for name in request.headers.keys { #expect(header(name) != nil, "botocore sends no \(name) header") }
        #expect(
            !request.headers.keys.contains {
                $0.lowercased() == "authorization" || $0.lowercased().hasPrefix("x-amz")
            })
        // The body: the same members with the same values (order and spacing are JSON's business).
        let body = try jsonDictionary(request.body)
        #expect(NSDictionary(dictionary: body).isEqual(to: capturedBody))
        // The DPoP proof: same header and claim members; fixed values equal; random ones well-formed.
        let ours = try jwsParts(try #require(request.headers["DPoP"]))
        let theirs = try jwsParts(try #require(header("DPoP")))
        #expect(Set(ours.header.keys) == Set(theirs.header.keys))
        #expect(ours.header["typ"] as? String == theirs.header["typ"] as? String)
        #expect(ours.header["alg"] as? String == theirs.header["alg"] as? String)
        let ourJWK = try #require(ours.header["jwk"] as? [String: String])
        let theirJWK = try #require(theirs.header["jwk"] as? [String: String])
        #expect(Set(ourJWK.keys) == Set(theirJWK.keys))
        #expect(ourJWK["kty"] == theirJWK["kty"] && ourJWK["crv"] == theirJWK["crv"])
        #expect(Set(ours.claims.keys) == Set(theirs.claims.keys))
        #expect(ours.claims["htm"] as? String == theirs.claims["htm"] as? String)
        #expect(ours.claims["htu"] as? String == theirs.claims["htu"] as? String)
        #expect((ours.claims["iat"] as? Int) == Int(fixedNow.timeIntervalSince1970))
        #expect(isUUIDv4(try #require(ours.claims["jti"] as? String)))
        #expect(ours.signature.count == theirs.signature.count)
        // The answer.
        let answer = try #require(captured["response_body"] as? [String: Any])
        let access = try #require(answer["accessToken"] as? [String: String])
        #expect(token.credentials.accessKeyId == access["accessKeyId"])
        #expect(token.credentials.secretAccessKey == access["secretAccessKey"])
        #expect(token.credentials.sessionToken == access["sessionToken"])
        #expect(token.credentials.expiration == fixedNow.addingTimeInterval(900))
        #expect(token.refreshToken == answer["refreshToken"] as? String)
        #expect(token.idToken == nil)
    }

    @Test func cacheFileHasTheCapturesShapeAndName() throws {
        let capture = try jsonDictionary(try ConformanceData.data("aws-login/botocore-refresh-capture.json"))
        let scenario = try #require(
            (capture["scenarios"] as? [String: Any])?["expired_refreshes"] as? [String: Any])
        let cacheAfter = try #require(scenario["cache_after"] as? [String: Any])
        let session = sampleSession()
        #expect(
            LoginSession.cacheFileName(loginSession: session.identityArn) == scenario["cache_file_name"]
                as? String)

        let written = try jsonDictionary(try session.cacheFileData())
        #expect(Set(written.keys) == Set(cacheAfter.keys))
        let access = try #require(written["accessToken"] as? [String: String])
        let capturedAccess = try #require(cacheAfter["accessToken"] as? [String: String])
        #expect(Set(access.keys) == Set(capturedAccess.keys))
        #expect(access["accountId"] == capturedAccess["accountId"])
        #expect(access["expiresAt"] == "2023-11-14T22:28:20Z")
        #expect(written["tokenType"] as? String == cacheAfter["tokenType"] as? String)
        #expect(written["clientId"] as? String == cacheAfter["clientId"] as? String)
        let pem = try #require(written["dpopKey"] as? String)
        #expect(
            pem.hasPrefix("-----BEGIN EC PRIVATE KEY-----\n")
                && pem.hasSuffix("-----END EC PRIVATE KEY-----\n"))
        #expect(pem.split(separator: "\n").allSatisfy { $0.count <= 64 })

        // And back: the capture's file (its redacted key replaced by a real one) reads as a session.
        var file = cacheAfter
        file["dpopKey"] = pem
        let read = try LoginSession(
            cacheFile: try JSONSerialization.data(withJSONObject: file),
            loginSession: "arn:aws:iam::123456789012:user/conformance-test\n", region: "eu-west-1",
            signedInAt: fixedNow)
        #expect(read.credentials.accessKeyId == capturedAccess["accessKeyId"])
        #expect(read.credentials.secretAccessKey == capturedAccess["secretAccessKey"])
        #expect(read.credentials.sessionToken == capturedAccess["sessionToken"])
        // 2026-12-01T22:27:25Z
        #expect(read.credentials.expiration == Date(timeIntervalSince1970: 1_796_164_045))
        #expect(read.refreshToken == cacheAfter["refreshToken"] as? String)
        #expect(read.clientId == cacheAfter["clientId"] as? String)
        #expect(read.idToken == cacheAfter["idToken"] as? String)
        #expect(read.dpopKey == session.dpopKey)
        #expect(read.identityArn == "arn:aws:iam::123456789012:user/conformance-test")
        #expect(read.accountId == "123456789012" && read.region == "eu-west-1" && read.issuedAt == fixedNow)
        // Round trip of latchkey's own file.
        let again = try LoginSession(
            cacheFile: try session.cacheFileData(), loginSession: session.identityArn, region: "us-east-1",
            signedInAt: fixedNow)
        #expect(again == session)
    }

    @Test func cacheFileNameVectors() {
        #expect(
            LoginSession.cacheFileName(loginSession: "arn:aws:iam::0123456789012:user/Admin")
                == "36db1d138ff460920374e4c3d8e01f53f9f73537e89c88d639f68393df0e2726.json")
        #expect(
            LoginSession.cacheFileName(loginSession: "arn:aws:sts::012345678910:assumed-role/Admin/admin")
                == "4b0ba8f99f075c0633e122fd73346ce203a3faf18ea0310eb2d29df1bab2e255.json")
    }

    @Test func cacheFileReadingKeepsUnknownMembersAndAcceptsOtherSDKsForms() throws {
        let key = DPoPKey()
        let pkcs8 = try key.privateKey().pemRepresentation  // "BEGIN PRIVATE KEY": botocore/awscrt accept it
        let file = """
            {"accessToken":{"accessKeyId":"ASIAX","secretAccessKey":"s","sessionToken":"t",\
            "expiresAt":"2026-12-01T22:27:25.123Z"},"clientId":"arn:aws:signin:::devtools/cross-device",\
            "refreshToken":"r","identityToken":"","dpopKey":\(String(decoding: try JSONEncoder().encode(pkcs8), as: UTF8.self)),\
            "signInRegion":"eu-central-1","futureField":{"a":1}}
            """
        let session = try LoginSession(
            cacheFile: Data(file.utf8), loginSession: "arn:aws:sts::111122223333:assumed-role/Admin/alice",
            region: "us-east-1", signedInAt: fixedNow)
        #expect(session.dpopKey == key && session.idToken == nil && session.accountId == "111122223333")
        #expect(session.region == "eu-central-1" && session.userName == "alice")
        #expect(session.expiration == Date(timeIntervalSince1970: 1_796_164_045.123))
        let rewritten = try jsonDictionary(try session.cacheFileData(updating: Data(file.utf8)))
        #expect((rewritten["futureField"] as? [String: Int]) == ["a": 1])
        #expect((rewritten["dpopKey"] as? String)?.hasPrefix("-----BEGIN EC PRIVATE KEY-----") == true)
    }

    @Test func cacheFileIssueTimeComesFromTheIDToken() throws {
        var object = try jsonDictionary(try sampleSession().cacheFileData())
        let claims = Data(#"{"sub":"arn:aws:iam::123456789012:user/conformance-test","iat":1699990000}"#.utf8)
            .base64EncodedString().replacingOccurrences(of: "=", with: "")
        object["idToken"] = "e30.\(claims).c2ln"
        let session = try LoginSession(
            cacheFile: try JSONSerialization.data(withJSONObject: object),
            loginSession: "arn:aws:iam::123456789012:user/conformance-test", region: "us-east-1",
            signedInAt: fixedNow)
        #expect(session.issuedAt == Date(timeIntervalSince1970: 1_699_990_000))
        #expect(session.sessionExpiry == Date(timeIntervalSince1970: 1_699_990_000 + 43_200))
    }

    @Test(arguments: [
        ("accessToken", "the field accessToken is missing"),
        ("refreshToken", "the field refreshToken is missing"),
        ("dpopKey", "the field dpopKey is missing"), ("clientId", "the field clientId is missing"),
    ])
    func cacheFileWithoutARequiredField(field: String, reason: String) throws {
        var object = try jsonDictionary(try sampleSession().cacheFileData())
        object[field] = nil
        #expect(throws: LoginSessionError.malformed(source: "AWS CLI login cache file", reason: reason)) {
            try LoginSession(
                cacheFile: try JSONSerialization.data(withJSONObject: object), loginSession: "arn",
                region: "us-east-1", signedInAt: fixedNow)
        }
    }

    // MARK: PKCE, authorize URL, endpoints

    @Test func pkceMatchesRFC7636AppendixB() throws {
        let pkce = try PKCE(verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        #expect(pkce.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        #expect(PKCE.method == "SHA-256")
        #expect(!pkce.description.contains("dBjftJeZ4CVP"))
        #expect(throws: PKCE.InvalidVerifier.self) { try PKCE(verifier: String(repeating: "a", count: 42)) }
        #expect(throws: PKCE.InvalidVerifier.self) {
            try PKCE(verifier: String(repeating: "a", count: 42) + "+")
        }
        let generated = PKCE.generate()
        #expect(generated.verifier.count == 64 && generated.challenge.count == 43)
        #expect(generated.verifier != PKCE.generate().verifier)
        _ = try PKCE(verifier: generated.verifier)
    }

    @Test func authorizeURLsForBothClients() throws {
        let base = try SigninOAuthEndpoint.baseURI(region: "us-east-1")
        let pkce = try PKCE(verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        let state = "6f0c1d8e-3a5b-4c2d-9e1f-0a1b2c3d4e5f"
        let same = SigninAuthorization.sameDevice(
            baseURI: base, callbackPort: 49152, state: state, pkce: pkce)
        #expect(
            same.url.absoluteString
                == "https://us-east-1.signin.aws.amazon.com/v1/authorize?response_type=code"
                + "&client_id=arn%3Aaws%3Asignin%3A%3A%3Adevtools%2Fsame-device&state=\(state)"
                + "&code_challenge_method=SHA-256&scope=openid"
                + "&redirect_uri=http%3A%2F%2F127.0.0.1%3A49152%2Foauth%2Fcallback"
                + "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        let remote = SigninAuthorization.crossDevice(baseURI: base, state: state, pkce: pkce)
        #expect(remote.redirectURI == "https://us-east-1.signin.aws.amazon.com/v1/sessions/confirmation")
        #expect(
            remote.url.absoluteString.contains("client_id=arn%3Aaws%3Asignin%3A%3A%3Adevtools%2Fcross-device")
        )
        #expect(
            remote.url.absoluteString.contains(
                "redirect_uri=https%3A%2F%2Fus-east-1.signin.aws.amazon.com%2Fv1%2Fsessions%2Fconfirmation"))
        #expect(isUUIDv4(SigninAuthorization.sameDevice(baseURI: base, callbackPort: 1).state))
    }

    @Test(arguments: [
        ("us-east-1", false, false, "https://us-east-1.signin.aws.amazon.com"),
        ("eu-west-3", false, false, "https://eu-west-3.signin.aws.amazon.com"),
        ("cn-north-1", false, false, "https://cn-north-1.signin.amazonaws.cn"),
        ("us-gov-west-1", false, false, "https://us-gov-west-1.signin.amazonaws-us-gov.com"),
        ("us-east-1", true, false, "https://signin-fips.us-east-1.amazonaws.com"),
        ("us-east-1", false, true, "https://signin.us-east-1.api.aws"),
        ("us-east-1", true, true, "https://signin-fips.us-east-1.api.aws"),
        ("us-gov-west-1", true, false, "https://signin-fips.us-gov-west-1.amazonaws.com"),
        ("us-iso-east-1", false, false, "https://signin.us-iso-east-1.c2s.ic.gov"),
    ])
    func baseURIFollowsTheRuleSet(region: String, fips: Bool, dualStack: Bool, expected: String) throws {
        #expect(
            try SigninOAuthEndpoint.baseURI(region: region, useFIPS: fips, useDualStack: dualStack)
                .absoluteString
                == expected)
    }

    @Test func configuredEndpointKeepsSchemeHostAndPort() throws {
        let custom = try #require(URL(string: "http://127.0.0.1:35029/some/path?x=1"))
        let base = try SigninOAuthEndpoint.baseURI(region: nil, customEndpoint: custom)
        #expect(base.absoluteString == "http://127.0.0.1:35029")
        let client = SigninOAuthClient(baseURI: base, transport: ScriptedTransport(), now: { fixedNow })
        #expect(client.tokenURL.absoluteString == "http://127.0.0.1:35029/v1/token")
        #expect(throws: SigninOAuthEndpoint.ResolutionError.fipsWithCustomEndpoint) {
            try SigninOAuthEndpoint.baseURI(region: "us-east-1", useFIPS: true, customEndpoint: custom)
        }
        #expect(throws: SigninOAuthEndpoint.ResolutionError.dualStackWithCustomEndpoint) {
            try SigninOAuthEndpoint.baseURI(region: "us-east-1", useDualStack: true, customEndpoint: custom)
        }
        #expect(throws: SigninOAuthEndpoint.ResolutionError.missingRegion) {
            try SigninOAuthEndpoint.baseURI(region: nil)
        }
        #expect(
            throws: SigninOAuthEndpoint.ResolutionError.unsupported(
                feature: "dual-stack", partition: "aws-iso")
        ) {
            try SigninOAuthEndpoint.baseURI(region: "us-iso-east-1", useDualStack: true)
        }
    }

    @Test func callbackAndPastedCodeCheckState() throws {
        let base = try SigninOAuthEndpoint.baseURI(region: "us-east-1")
        let login = SigninAuthorization.crossDevice(baseURI: base, state: "s-1")
        #expect(
            try login.callback(query: [.init(name: "code", value: "c"), .init(name: "state", value: "s-1")])
                == .code("c"))
        #expect(try login.callback(query: [.init(name: "code", value: "c")]) == .ignore)
        #expect(try login.callback(query: []) == .ignore)
        #expect(
            try login.callback(query: [.init(name: "error", value: "access_denied")])
                == .error("access_denied", description: nil))
        #expect(throws: SigninAuthorizationError.stateMismatch) {
            try login.callback(query: [.init(name: "code", value: "c"), .init(name: "state", value: "other")])
        }
        let pasted = Data("state=s-1&code=abc%2Fdef".utf8).base64EncodedString()
        #expect(try login.pastedCode("  \(pasted)\n") == "abc/def")
        #expect(throws: SigninAuthorizationError.pastedCodeOfAnotherSignIn) {
            try login.pastedCode(Data("state=s-2&code=abc".utf8).base64EncodedString())
        }
        #expect(throws: SigninAuthorizationError.malformedPastedCode) {
            try login.pastedCode("not base64 at all!")
        }
        #expect(throws: SigninAuthorizationError.malformedPastedCode) {
            try login.pastedCode(Data("state=s-1".utf8).base64EncodedString())
        }
    }

    // MARK: token endpoint

    @Test func exchangeSendsTheCodeVerifierAndReadsTheIDToken() async throws {
        let idToken =
            "eyJhbGciOiJFUzI1NiJ9."
            + Data(#"{"sub":"arn:aws:iam::123456789012:user/ada","iat":1700000000}"#.utf8)
            .base64EncodedString()
            .replacingOccurrences(of: "=", with: "") + ".c2ln"
        let answer = signinTokenJSON.dropLast() + #","idToken":"\#(idToken)"}"#
        let transport = ScriptedTransport([.json(String(answer))])
        let client = try signinClient(transport)
        let base = try SigninOAuthEndpoint.baseURI(region: "us-east-1")
        let authorization = SigninAuthorization.sameDevice(baseURI: base, callbackPort: 8080, state: "st")
        let key = DPoPKey()
        let token = try await client.exchangeCode("the-code", authorization: authorization, key: key)
        let request = try #require(await transport.requests.first)
        #expect(request.url.absoluteString == "https://us-east-1.signin.aws.amazon.com/v1/token")
        let body = try jsonDictionary(request.body)
        #expect(
            NSDictionary(dictionary: body).isEqual(to: [
                "clientId": "arn:aws:signin:::devtools/same-device", "grantType": "authorization_code",
                "code": "the-code", "codeVerifier": authorization.pkce.verifier,
                "redirectUri": "http://127.0.0.1:8080/oauth/callback",
            ]))
        let session = try LoginSession(
            token: token, authorization: authorization, dpopKey: key, region: "us-east-1", now: fixedNow)
        #expect(session.identityArn == "arn:aws:iam::123456789012:user/ada")
        #expect(session.accountId == "123456789012" && session.userName == "ada")
        #expect(session.sessionExpiry == fixedNow.addingTimeInterval(12 * 3600))
        #expect(throws: LoginSessionError.missingIdentity) {
            try LoginSession(
                token: SigninOAuthToken(credentials: token.credentials, expiresIn: 900, refreshToken: "r"),
                authorization: authorization, dpopKey: key, region: "us-east-1", now: fixedNow)
        }
    }

    @Test func eachAttemptGetsAFreshProofAndServerErrorsAreRetried() async throws {
        let transport = ScriptedTransport([
            signinError("InternalServerException", "server_error", status: 500),
            signinError("TooManyRequestsError", "INVALID_REQUEST", status: 429), .json(signinTokenJSON),
        ])
        let sleeper = SleepRecorder()
        let session = try await signinClient(transport, sleeper: sleeper).refresh(sampleSession())
        #expect(session.refreshToken == "refresh-token-do-not-print-2")
        #expect(session.credentials.accessKeyId == "ASIASIGNIN1")
        #expect(session.issuedAt == fixedNow && session.clientId == sampleSession().clientId)
        let proofs = await transport.requests.compactMap { $0.headers["DPoP"] }
        let jtis = try proofs.map { try #require(try jwsParts($0).claims["jti"] as? String) }
        #expect(Set(jtis).count == 3)
        #expect(sleeper.delays.count == 2)
    }

    @Test func throttlingOnEveryAttemptBecomesThrottled() async throws {
        let transport = ScriptedTransport(
            Array(
                repeating: signinError(
                    "TooManyRequestsError", "INVALID_REQUEST", status: 429, message: "slow"), count: 3))
        await #expect(throws: SigninTokenError.throttled(message: "slow")) {
            try await signinClient(transport).refresh(sampleSession())
        }
        #expect(await transport.requests.count == 3)
    }

    @Test(arguments: [
        (
            "AccessDeniedException", "TOKEN_EXPIRED", 401, SigninTokenError.tokenExpired(message: "msg"),
            "expired"
        ),
        (
            "AccessDeniedException", "USER_CREDENTIALS_CHANGED", 403,
            SigninTokenError.userCredentialsChanged(message: "msg"), "credentials"
        ),
        (
            "AccessDeniedException", "INSUFFICIENT_PERMISSIONS", 403,
            SigninTokenError.insufficientPermissions(message: "msg"), "'signin:CreateOAuth2Token'"
        ),
        (
            "AccessDeniedException", "AUTHCODE_EXPIRED", 401,
            SigninTokenError.authorizationCodeExpired(message: "msg"),
            "authorization code"
        ),
        (
            "AccessDeniedException", "SOMETHING_NEW", 403,
            SigninTokenError.accessDenied(error: "SOMETHING_NEW", message: "msg"),
            "denied"
        ),
        (
            "ValidationException", "INVALID_REQUEST", 400,
            SigninTokenError.invalidRequest(error: "INVALID_REQUEST", message: "msg"),
            "invalid"
        ),
    ])
    func errorCodesBecomeTypedErrors(
        shape: String, code: String, status: Int, expected: SigninTokenError, phrase: String
    ) async throws {
        let transport = ScriptedTransport([signinError(shape, code, status: status)])
        let error = await #expect(throws: SigninTokenError.self) {
            try await signinClient(transport).refresh(sampleSession())
        }
        #expect(error == expected)
        #expect(error?.description.contains(phrase) == true)
        #expect(await transport.requests.count == 1)  // final at once
        if code == "INSUFFICIENT_PERMISSIONS" {
            #expect(error?.description.contains("SignInLocalDevelopmentAccess") == true)
        }
        #expect(
            error?.needsNewSignin
                == ["TOKEN_EXPIRED", "USER_CREDENTIALS_CHANGED", "AUTHCODE_EXPIRED"].contains(code))
    }

    @Test func aNonJSONErrorIsAnInvalidResponse() async throws {
        let transport = ScriptedTransport([.text("<html>proxy</html>", status: 403)])
        await #expect(throws: AWSClientError.self) {
            try await signinClient(transport).refresh(sampleSession())
        }
    }

    // MARK: LoginSession

    @Test func refreshIsDueWithFiveMinutesLeftAndTheSessionEndsAfter12Hours() {
        let session = sampleSession(expiration: fixedNow.addingTimeInterval(900))
        #expect(!session.needsRefresh(at: fixedNow.addingTimeInterval(599)))
        #expect(session.needsRefresh(at: fixedNow.addingTimeInterval(600)))
        #expect(session.needsRefresh(at: fixedNow.addingTimeInterval(1000)))
        #expect(!session.hasReachedSessionLimit(at: fixedNow.addingTimeInterval(12 * 3600 - 1)))
        #expect(session.hasReachedSessionLimit(at: fixedNow.addingTimeInterval(12 * 3600)))
    }

    @Test func descriptionsNeverShowSecrets() throws {
        let session = sampleSession()
        let token = SigninOAuthToken(
            credentials: session.credentials, expiresIn: 900, refreshToken: session.refreshToken,
            idToken: "id")
        let raw = session.dpopKey.rawRepresentation.base64EncodedString()
        for text in [
            session.description, "\(session)", String(reflecting: session.credentials), token.description,
            session.dpopKey.description,
        ] {
            for secret in [
                "session-secret-do-not-print", "session-token-do-not-print", "refresh-token-do-not-print-1",
                raw,
                session.dpopKey.sec1PEM,
            ] {
                #expect(!text.contains(secret))
            }
        }
        #expect(session.description.contains("arn:aws:iam::123456789012:user/conformance-test"))
    }

    @Test func keyringItemRoundTrip() throws {
        let session = sampleSession()
        let data = try session.keyringData()
        #expect(try LoginSession(keyringData: data) == session)
        let object = try jsonDictionary(data)
        #expect((object["dpopKey"] as? String)?.hasPrefix("-----BEGIN EC PRIVATE KEY-----") == true)
        #expect(object["version"] as? Int == 1)
        #expect(throws: LoginSessionError.self) { try LoginSession(keyringData: Data("{}".utf8)) }
    }

    @Test func sec1KeyIsTheStandardEncoding() throws {
        let key = DPoPKey()
        let reread = try DPoPKey(pem: key.sec1PEM)
        #expect(reread == key)
        // The P-256 OID and the public key are inside, as Go's and Java's readers require.
        let der = key.sec1DER
        #expect(der.count == 121)
        #expect(der.range(of: Data([0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07])) != nil)
        #expect(der.suffix(65) == key.publicKeyX963)
        #expect(throws: DPoPKey.InvalidKey.self) {
            try DPoPKey(pem: "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n")
        }
    }
}

@Suite("DPoP proofs checked by an independent JOSE library (joserfc)")
struct DPoPJoseTests {
    /// Verifies `proof` with joserfc against `jwk` and prints the checks; also loads `pem` with
    /// `cryptography` and compares its public key with the JWK.
    static let verifier = #"""
        import base64, json, sys
        from joserfc import jws
        from joserfc.jwk import ECKey
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
        folder = sys.argv[1]
        proof = open(folder + "/proof").read()
        jwk = json.load(open(folder + "/jwk.json"))
        key = ECKey.import_key(jwk)
        try:
            obj = jws.deserialize_compact(proof, key, algorithms=["ES256"])
        except Exception as error:
            print("INVALID", type(error).__name__)
            sys.exit(0)
        header, claims = obj.protected, json.loads(obj.payload)
        assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256", header
        assert header["jwk"] == jwk, (header["jwk"], jwk)
        assert claims["htm"] == "POST" and claims["htu"] == sys.argv[2], claims
        assert claims["iat"] == int(sys.argv[3]) and sorted(claims) == ["htm", "htu", "iat", "jti"], claims
        pem = load_pem_private_key(open(folder + "/key.pem", "rb").read(), None)
        numbers = pem.public_key().public_numbers()
        x = base64.urlsafe_b64decode(jwk["x"] + "=")
        assert numbers.curve.name == "secp256r1" and numbers.x == int.from_bytes(x, "big"), "PEM and JWK differ"
        print("VALID")
        """#

    func verify(proof: String, jwk: String, pem: String, htu: String, iat: Int) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dpop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(proof.utf8).write(to: folder.appendingPathComponent("proof"))
        try Data(jwk.utf8).write(to: folder.appendingPathComponent("jwk.json"))
        try Data(pem.utf8).write(to: folder.appendingPathComponent("key.pem"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.verifier, folder.path, htu, String(iat)]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "the verifier's checks failed: \(text)")
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func joserfcVerifiesLatchkeysProofAndRejectsADERSignature() throws {
        let key = DPoPKey()
        let url = try #require(URL(string: "https://us-east-1.signin.aws.amazon.com/v1/token"))
        let proof = try DPoP.proof(key: key, method: "POST", url: url, issuedAt: fixedNow)
        let header = try jwsParts(proof).header
        let jwk = String(
            decoding: try JSONSerialization.data(
                withJSONObject: try #require(header["jwk"]), options: [.sortedKeys]),
            as: UTF8.self)
        let iat = Int(fixedNow.timeIntervalSince1970)
        #expect(
            try verify(proof: proof, jwk: jwk, pem: key.sec1PEM, htu: url.absoluteString, iat: iat).hasPrefix(
                "VALID"))

        // The same proof with its signature in DER (what a naive ECDSA encoding gives) must fail.
        let parts = proof.split(separator: ".").map(String.init)
        var standard = parts[2].replacingOccurrences(of: "-", with: "+").replacingOccurrences(
            of: "_", with: "/")
        while standard.count % 4 != 0 { standard += "=" }
        let raw = try #require(Data(base64Encoded: standard))
        let der = try P256.Signing.ECDSASignature(rawRepresentation: raw).derRepresentation
        let derText = der.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let derProof = parts[0] + "." + parts[1] + "." + derText
        #expect(
            try verify(proof: derProof, jwk: jwk, pem: key.sec1PEM, htu: url.absoluteString, iat: iat)
                .hasPrefix("INVALID"))
    }
}
