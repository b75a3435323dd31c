import AWSClient
import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

@Suite("IAM access-key calls")
struct IAMAccessKeysTests {
    func makeIAM(_ transport: ScriptedTransport, region: String = "us-east-1") -> IAMClient {
        IAMClient(
            credentials: userKeys, region: region, transport: transport, retry: .none, now: { fixedNow })
    }

    static let listXML = """
        <ListAccessKeysResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
          <ListAccessKeysResult>
            <AccessKeyMetadata>
              <member><UserName>doug</UserName><AccessKeyId>AKIAOLD0000000000001</AccessKeyId>
                <Status>Active</Status><CreateDate>2024-01-02T03:04:05Z</CreateDate></member>
              <member><UserName>doug</UserName><AccessKeyId>AKIAOTHER00000000002</AccessKeyId>
                <Status>Inactive</Status><CreateDate>2024-02-02T03:04:05.123Z</CreateDate></member>
            </AccessKeyMetadata>
            <IsTruncated>false</IsTruncated>
          </ListAccessKeysResult>
        </ListAccessKeysResponse>
        """

    @Test func listAccessKeysReadsEveryMemberAndSendsTheUserName() async throws {
        let transport = ScriptedTransport([.xml(Self.listXML)])
        let keys = try await makeIAM(transport).listAccessKeys(userName: "doug")
        #expect(keys.map(\.accessKeyId) == ["AKIAOLD0000000000001", "AKIAOTHER00000000002"])
        #expect(keys.map(\.status) == [.active, .inactive])
        #expect(keys[0].createDate == Date(timeIntervalSince1970: 1_704_164_645))
        let request = try #require(await transport.requests.first)
        #expect(request.url.absoluteString == "https://iam.amazonaws.com")
        let body = String(decoding: request.body, as: UTF8.self)
        #expect(body == "Action=ListAccessKeys&Version=2010-05-08&UserName=doug")
        #expect(request.headers["Authorization"]?.contains("/us-east-1/iam/aws4_request") == true)
    }

    @Test func listAccessKeysFollowsTheMarker() async throws {
        let page1 = """
            <ListAccessKeysResponse><ListAccessKeysResult><AccessKeyMetadata>
            <member><UserName>doug</UserName><AccessKeyId>AKIAONE</AccessKeyId><Status>Active</Status>
            <CreateDate>2024-01-02T03:04:05Z</CreateDate></member></AccessKeyMetadata>
            <IsTruncated>true</IsTruncated><Marker>next-page</Marker></ListAccessKeysResult></ListAccessKeysResponse>
            """
        let page2 = """
            <ListAccessKeysResponse><ListAccessKeysResult><AccessKeyMetadata>
            <member><UserName>doug</UserName><AccessKeyId>AKIATWO</AccessKeyId><Status>Active</Status>
            <CreateDate>2024-01-02T03:04:05Z</CreateDate></member></AccessKeyMetadata>
            <IsTruncated>false</IsTruncated></ListAccessKeysResult></ListAccessKeysResponse>
            """
        let transport = ScriptedTransport([.xml(page1), .xml(page2)])
        let keys = try await makeIAM(transport).listAccessKeys(userName: nil)
        #expect(keys.map(\.accessKeyId) == ["AKIAONE", "AKIATWO"])
        let bodies = await transport.bodies
        #expect(
            bodies == [
                "Action=ListAccessKeys&Version=2010-05-08",
                "Action=ListAccessKeys&Version=2010-05-08&Marker=next-page",
            ])
    }

    /// Regression (found writing FuzzXML's IAM part): a 200 that always says IsTruncated with the
    /// same Marker made every IAM listing loop forever.
    @Test func aMarkerThatComesBackEndsTheListingWithAnError() async throws {
        let page = """
            <ListAccessKeysResponse><ListAccessKeysResult><AccessKeyMetadata></AccessKeyMetadata>
            <IsTruncated>true</IsTruncated><Marker>again</Marker></ListAccessKeysResult></ListAccessKeysResponse>
            """
        let transport = ScriptedTransport([.xml(page), .xml(page), .xml(page)])
        let error = await #expect(throws: AWSClientError.self) {
            _ = try await makeIAM(transport).listAccessKeys(userName: nil)
        }
        #expect(
            error?.description.contains("would never end (a page marker came back a second time)") == true)
        #expect(await transport.requests.count == 2)
    }

    @Test func aListingIsBoundedInPages() async throws {
        let pages = (1...1001).map { number -> ScriptedTransport.Step in
            .xml(
                "<ListMFADevicesResponse><ListMFADevicesResult><MFADevices></MFADevices>"
                    + "<IsTruncated>true</IsTruncated><Marker>m\(number)</Marker>"
                    + "</ListMFADevicesResult></ListMFADevicesResponse>")
        }
        let transport = ScriptedTransport(pages)
        let error = await #expect(throws: AWSClientError.self) {
            _ = try await makeIAM(transport).listMFADevices(userName: nil)
        }
        #expect(error?.description.contains("it goes on past 1000 pages") == true)
        #expect(await transport.requests.count == 1000)
    }

    @Test func createAccessKeyReturnsTheSecretOnce() async throws {
        let xml = """
            <CreateAccessKeyResponse><CreateAccessKeyResult><AccessKey>
              <UserName>doug</UserName><AccessKeyId>AKIANEW0000000000003</AccessKeyId><Status>Active</Status>
              <SecretAccessKey>new/secret+key</SecretAccessKey><CreateDate>2024-03-01T00:00:00Z</CreateDate>
            </AccessKey></CreateAccessKeyResult></CreateAccessKeyResponse>
            """
        let transport = ScriptedTransport([.xml(xml)])
        let key = try await makeIAM(transport).createAccessKey(userName: "doug")
        #expect(key.credentials.accessKeyId == "AKIANEW0000000000003")
        #expect(key.credentials.secretAccessKey == "new/secret+key")
        #expect(key.credentials.sessionToken == nil)
        #expect(key.metadata.userName == "doug" && key.metadata.status == .active)
        #expect(await transport.bodies == ["Action=CreateAccessKey&Version=2010-05-08&UserName=doug"])
    }

    @Test func deleteAndUpdateAcceptAnAnswerWithoutResult() async throws {
        let transport = ScriptedTransport([
            .xml(
                "<DeleteAccessKeyResponse><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DeleteAccessKeyResponse>"
            ),
            .xml(
                "<UpdateAccessKeyResponse><ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></UpdateAccessKeyResponse>"
            ),
        ])
        let iam = makeIAM(transport)
        try await iam.deleteAccessKey(accessKeyId: "AKIAOLD", userName: "doug")
        try await iam.updateAccessKey(accessKeyId: "AKIAOLD", status: .inactive, userName: nil)
        #expect(
            await transport.bodies == [
                "Action=DeleteAccessKey&Version=2010-05-08&AccessKeyId=AKIAOLD&UserName=doug",
                "Action=UpdateAccessKey&Version=2010-05-08&AccessKeyId=AKIAOLD&Status=Inactive",
            ])
    }

    @Test func errorsAreTypedServiceErrors() async throws {
        let transport = ScriptedTransport([
            .xml(
                errorXML("LimitExceeded", message: "Cannot exceed quota for AccessKeysPerUser: 2"),
                status: 409)
        ])
        await #expect(throws: AWSClientError.self) {
            _ = try await makeIAM(transport).createAccessKey(userName: "doug")
        }
        let again = ScriptedTransport([.xml(errorXML("NoSuchEntity", message: "gone"), status: 404)])
        do {
            try await makeIAM(again).deleteAccessKey(accessKeyId: "AKIAOLD", userName: nil)
            Issue.record("expected an error")
        } catch let error as AWSClientError {
            #expect(error.serviceError?.code == "NoSuchEntity")
            #expect(error.serviceError?.operation == "DeleteAccessKey")
        }
    }

    @Test(arguments: [
        ("cn-north-1", "https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1"),
        ("us-gov-west-1", "https://iam.us-gov.amazonaws.com", "us-gov-west-1"),
        ("eu-west-1", "https://iam.amazonaws.com", "us-east-1"),
    ])
    func partitionsSignForTheirGlobalEndpoint(region: String, url: String, signing: String) async throws {
        let transport = ScriptedTransport([.xml(Self.listXML)])
        _ = try await makeIAM(transport, region: region).listAccessKeys(userName: nil)
        let request = try #require(await transport.requests.first)
        #expect(request.url.absoluteString == url)
        #expect(request.headers["Authorization"]?.contains("/\(signing)/iam/aws4_request") == true)
    }
}
