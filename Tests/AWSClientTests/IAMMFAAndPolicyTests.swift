import AWSClient
import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

@testable import AWSClient

@Suite struct IAMMFAAndPolicyTests {
    let keys = AWSCredentials(
        accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

    func iam(_ steps: [ScriptedTransport.Step]) -> (IAMClient, ScriptedTransport) {
        let transport = ScriptedTransport(steps)
        let client = IAMClient(
            credentials: keys, region: "us-east-1", transport: transport, retry: RetryPolicy(maxAttempts: 1))
        return (client, transport)
    }

    static func response(_ action: String, _ result: String?) -> ScriptedTransport.Step {
        let inner = result.map { "<\(action)Result>\($0)</\(action)Result>" } ?? ""
        return .xml(
            "<\(action)Response xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\(inner)"
                + "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></\(action)Response>")
    }

    static func error(_ code: String, status: Int) -> ScriptedTransport.Step {
        .xml(
            "<ErrorResponse><Error><Type>Sender</Type><Code>\(code)</Code><Message>m</Message></Error>"
                + "<RequestId>r</RequestId></ErrorResponse>", status: status)
    }

    /// The blob base64-encoded (as AWS sends it), and the Base32 text itself (as some doubles do).
    @Test(arguments: [
        ("SkJTV1kzRFBFSFBLM1BYUEpCU1dZM0RQRUhQSzNQWFA=", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
        ("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),  // Base32 as is
    ])
    func createVirtualMFADeviceReadsTheSeed(blob: String, seed: String) async throws {
        let (client, transport) = iam([
            Self.response(
                "CreateVirtualMFADevice",
                "<VirtualMFADevice><SerialNumber>arn:aws:iam::123456789012:mfa/doug</SerialNumber>"
                    + "<Base32StringSeed>\(blob)</Base32StringSeed><QRCodePNG>AAAA</QRCodePNG></VirtualMFADevice>"
            )
        ])
        let device = try await client.createVirtualMFADevice(name: "doug")
        #expect(
            device == VirtualMFADevice(serialNumber: "arn:aws:iam::123456789012:mfa/doug", base32Seed: seed))
        #expect(!"\(device)".contains(seed))
        #expect(
            await transport.bodies == [
                "Action=CreateVirtualMFADevice&Version=2010-05-08&VirtualMFADeviceName=doug"
            ])
    }

    @Test func seedThatIsNotBase32IsRefused() async throws {
        let (client, _) = iam([
            Self.response(
                "CreateVirtualMFADevice",
                "<VirtualMFADevice><SerialNumber>s</SerialNumber><Base32StringSeed>!!</Base32StringSeed></VirtualMFADevice>"
            )
        ])
        await #expect(throws: AWSClientError.self) { try await client.createVirtualMFADevice(name: "doug") }
    }

    @Test func enableDeactivateDeleteSendTheirParametersAndAcceptEmptyResults() async throws {
        let (client, transport) = iam([
            Self.response("EnableMFADevice", nil), Self.response("DeactivateMFADevice", nil),
            Self.response("DeleteVirtualMFADevice", nil), Self.response("PutUserPermissionsBoundary", nil),
            Self.response("DeletePolicyVersion", nil),
        ])
        try await client.enableMFADevice(
            userName: "doug", serialNumber: "arn:s", code1: "123456", code2: "654321")
        try await client.deactivateMFADevice(userName: "doug", serialNumber: "arn:s")
        try await client.deleteVirtualMFADevice(serialNumber: "arn:s")
        try await client.putUserPermissionsBoundary(userName: "doug", policyArn: "arn:p")
        try await client.deletePolicyVersion(arn: "arn:p", versionId: "v1")
        #expect(
            await transport.bodies == [
                "Action=EnableMFADevice&Version=2010-05-08&UserName=doug&SerialNumber=arn%3As&AuthenticationCode1=123456&AuthenticationCode2=654321",
                "Action=DeactivateMFADevice&Version=2010-05-08&UserName=doug&SerialNumber=arn%3As",
                "Action=DeleteVirtualMFADevice&Version=2010-05-08&SerialNumber=arn%3As",
                "Action=PutUserPermissionsBoundary&Version=2010-05-08&UserName=doug&PermissionsBoundary=arn%3Ap",
                "Action=DeletePolicyVersion&Version=2010-05-08&PolicyArn=arn%3Ap&VersionId=v1",
            ])
    }

    @Test(arguments: [
        ("EntityAlreadyExists", 409), ("InvalidAuthenticationCode", 403), ("AccessDenied", 403),
        ("LimitExceeded", 409), ("DeleteConflict", 409), ("NoSuchEntity", 404),
    ])
    func errorsCarryTheirCode(code: String, status: Int) async throws {
        let (client, _) = iam([Self.error(code, status: status)])
        do {
            try await client.enableMFADevice(
                userName: "u", serialNumber: "s", code1: "111111", code2: "222222")
            Issue.record("expected \(code)")
        } catch let error as AWSClientError {
            #expect(error.serviceError?.code == code && error.serviceError?.httpStatus == status)
        }
    }

    @Test func listsFollowMarkers() async throws {
        let (client, transport) = iam([
            Self.response(
                "ListMFADevices",
                "<MFADevices><member><UserName>doug</UserName><SerialNumber>arn:a</SerialNumber>"
                    + "<EnableDate>2024-01-02T03:04:05Z</EnableDate></member></MFADevices>"
                    + "<IsTruncated>true</IsTruncated><Marker>next</Marker>"),
            Self.response(
                "ListMFADevices",
                "<MFADevices><member><UserName>doug</UserName><SerialNumber>arn:b</SerialNumber></member>"
                    + "</MFADevices><IsTruncated>false</IsTruncated>"),
            Self.response(
                "ListVirtualMFADevices",
                "<VirtualMFADevices><member><SerialNumber>arn:c</SerialNumber></member></VirtualMFADevices>"
                    + "<IsTruncated>false</IsTruncated>"),
        ])
        let devices = try await client.listMFADevices(userName: nil)
        #expect(devices.map(\.serialNumber) == ["arn:a", "arn:b"])
        #expect(devices[0].enableDate == Date(timeIntervalSince1970: 1_704_164_645))
        let virtual = try await client.listVirtualMFADevices(assignment: .unassigned)
        #expect(virtual == [MFADeviceInfo(serialNumber: "arn:c", userName: nil, enableDate: nil)])
        let bodies = await transport.bodies
        #expect(bodies[1] == "Action=ListMFADevices&Version=2010-05-08&Marker=next")
        #expect(bodies[2] == "Action=ListVirtualMFADevices&Version=2010-05-08&AssignmentStatus=Unassigned")
    }

    @Test func policiesAndVersions() async throws {
        let policy =
            "<Policy><PolicyName>B</PolicyName><Arn>arn:aws:iam::1:policy/B</Arn><DefaultVersionId>v2</DefaultVersionId></Policy>"
        let (client, transport) = iam([
            Self.response("CreatePolicy", policy), Self.response("GetPolicy", policy),
            Self.response(
                "GetPolicyVersion",
                "<PolicyVersion><Document>%7B%22Version%22%3A%222012-10-17%22%7D</Document><VersionId>v2</VersionId>"
                    + "<IsDefaultVersion>true</IsDefaultVersion><CreateDate>2024-01-02T03:04:05Z</CreateDate></PolicyVersion>"
            ),
            Self.response(
                "CreatePolicyVersion",
                "<PolicyVersion><VersionId>v3</VersionId><IsDefaultVersion>true</IsDefaultVersion></PolicyVersion>"
            ),
            Self.response(
                "ListPolicyVersions",
                "<Versions><member><VersionId>v3</VersionId><IsDefaultVersion>true</IsDefaultVersion></member>"
                    + "<member><VersionId>v1</VersionId><IsDefaultVersion>false</IsDefaultVersion></member></Versions>"
                    + "<IsTruncated>false</IsTruncated>"),
            Self.response(
                "GetUser",
                "<User><UserName>d</UserName><UserId>A</UserId><Arn>arn:aws:iam::1:user/d</Arn>"
                    + "<CreateDate>2024-01-02T03:04:05Z</CreateDate><PermissionsBoundary>"
                    + "<PermissionsBoundaryType>Policy</PermissionsBoundaryType>"
                    + "<PermissionsBoundaryArn>arn:aws:iam::1:policy/B</PermissionsBoundaryArn></PermissionsBoundary></User>"
            ),
        ])
        #expect(try await client.createPolicy(name: "B", document: "{}").defaultVersionId == "v2")
        #expect(try await client.getPolicy(arn: "arn:aws:iam::1:policy/B").name == "B")
        let version = try await client.getPolicyVersion(arn: "arn:aws:iam::1:policy/B", versionId: "v2")
        #expect(version.document == "{\"Version\":\"2012-10-17\"}" && version.isDefault)
        let created = try await client.createPolicyVersion(arn: "arn:p", document: "{}", setAsDefault: true)
        #expect(created.versionId == "v3")
        let versions = try await client.listPolicyVersions(arn: "arn:p")
        #expect(versions.map(\.versionId) == ["v3", "v1"] && versions.map(\.isDefault) == [true, false])
        #expect(try await client.userPermissionsBoundary(userName: "d") == "arn:aws:iam::1:policy/B")
        let bodies = await transport.bodies
        #expect(bodies[0] == "Action=CreatePolicy&Version=2010-05-08&PolicyName=B&PolicyDocument=%7B%7D")
        #expect(
            bodies[3]
                == "Action=CreatePolicyVersion&Version=2010-05-08&PolicyArn=arn%3Ap&PolicyDocument=%7B%7D&SetAsDefault=true"
        )
    }
}
