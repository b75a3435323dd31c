/// The character set the AWS SDKs accept in profile names and property keys.
public enum ProfileName {
    /// Letters, digits and `- / . % @ _ : +`; anything else makes the SDKs skip the section or key.
    public static func isValid<S: StringProtocol>(_ name: S) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy(isAllowed)
    }

    public static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "/"), UInt8(ascii: "."), UInt8(ascii: "%"),
            UInt8(ascii: "@"), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "+"):
            return true
        default:
            return false
        }
    }

    public static let allowedDescription = "letters, digits and - / . % @ _ : +"
}
