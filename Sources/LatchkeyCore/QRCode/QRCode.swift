/// A QR code symbol (ISO/IEC 18004) in byte mode at error-correction level M, versions 1-20:
/// enough for any otpauth URI (up to 666 bytes).
public struct QRCode: Sendable, Equatable {
    public enum EncodingError: Error, CustomStringConvertible, Equatable {
        case tooLong(bytes: Int, limit: Int)

        public var description: String {
            switch self {
            case .tooLong(let bytes, let limit):
                return
                    "the text is \(bytes) bytes, more than a QR code here can hold (\(limit)); shorten the user or device name."
            }
        }
    }

    /// Modules per side: 17 + 4 × version.
    public let size: Int
    public let version: Int
    /// The mask pattern (0-7) chosen by the lowest penalty.
    public let mask: Int
    /// Row-major, `true` is dark.
    public let modules: [Bool]

    public func isDark(x: Int, y: Int) -> Bool {
        guard x >= 0, y >= 0, x < size, y < size else { return false }
        return modules[y * size + x]
    }

    public init(bytes: [UInt8]) throws {
        let version = try Self.smallestVersion(for: bytes.count)
        let codewords = Self.codewords(bytes, version: version)
        var best: QRMatrix?
        var bestPenalty = Int.max
        for mask in 0..<8 {
            var matrix = QRMatrix(version: version)
            matrix.drawFunctionPatterns()
            matrix.placeData(codewords)
            matrix.applyMask(mask)
            matrix.drawFormatBits(mask: mask)
            let penalty = matrix.penalty()
            if penalty < bestPenalty {
                bestPenalty = penalty
                best = matrix
            }
        }
        guard let best else { preconditionFailure("eight masks were tried") }
        self.init(matrix: best)
    }

    init(matrix: QRMatrix) {
        version = matrix.version
        size = matrix.size
        mask = matrix.mask
        modules = matrix.dark
    }

    public init(text: String) throws {
        try self.init(bytes: Array(text.utf8))
    }

    // MARK: Capacity and codewords

    /// Error correction codewords per block and the block layout at level M.
    struct BlockLayout {
        var eccPerBlock: Int
        var groups: [(count: Int, dataCodewords: Int)]
        var dataCodewords: Int { groups.reduce(0) { $0 + $1.count * $1.dataCodewords } }
    }

    static let layoutsM: [BlockLayout] = [
        BlockLayout(eccPerBlock: 10, groups: [(1, 16)]),
        BlockLayout(eccPerBlock: 16, groups: [(1, 28)]),
        BlockLayout(eccPerBlock: 26, groups: [(1, 44)]),
        BlockLayout(eccPerBlock: 18, groups: [(2, 32)]),
        BlockLayout(eccPerBlock: 24, groups: [(2, 43)]),
        BlockLayout(eccPerBlock: 16, groups: [(4, 27)]),
        BlockLayout(eccPerBlock: 18, groups: [(4, 31)]),
        BlockLayout(eccPerBlock: 22, groups: [(2, 38), (2, 39)]),
        BlockLayout(eccPerBlock: 22, groups: [(3, 36), (2, 37)]),
        BlockLayout(eccPerBlock: 26, groups: [(4, 43), (1, 44)]),
        BlockLayout(eccPerBlock: 30, groups: [(1, 50), (4, 51)]),
        BlockLayout(eccPerBlock: 22, groups: [(6, 36), (2, 37)]),
        BlockLayout(eccPerBlock: 22, groups: [(8, 37), (1, 38)]),
        BlockLayout(eccPerBlock: 24, groups: [(4, 40), (5, 41)]),
        BlockLayout(eccPerBlock: 24, groups: [(5, 41), (5, 42)]),
        BlockLayout(eccPerBlock: 28, groups: [(7, 45), (3, 46)]),
        BlockLayout(eccPerBlock: 28, groups: [(10, 46), (1, 47)]),
        BlockLayout(eccPerBlock: 26, groups: [(9, 43), (4, 44)]),
        BlockLayout(eccPerBlock: 26, groups: [(3, 44), (11, 45)]),
        BlockLayout(eccPerBlock: 26, groups: [(3, 41), (13, 42)]),
    ]

    static var maxVersion: Int { layoutsM.count }

    /// Byte-mode payload that fits: 4 mode bits, 8 or 16 count bits, then the bytes.
    static func byteCapacity(version: Int) -> Int {
        let countBits = version <= 9 ? 8 : 16
        return (layoutsM[version - 1].dataCodewords * 8 - 4 - countBits) / 8
    }

    static func smallestVersion(for count: Int) throws -> Int {
        guard let version = (1...maxVersion).first(where: { byteCapacity(version: $0) >= count }) else {
            throw EncodingError.tooLong(bytes: count, limit: byteCapacity(version: maxVersion))
        }
        return version
    }

    /// Modules left for data and error correction once function patterns are drawn, in bits.
    static func rawDataModules(version: Int) -> Int {
        var result = (16 * version + 128) * version + 64
        if version >= 2 {
            let alignments = version / 7 + 2
            result -= (25 * alignments - 10) * alignments - 55
            if version >= 7 { result -= 36 }
        }
        return result
    }

    /// Data bits with terminator and padding, split into blocks, each with its Reed-Solomon
    /// codewords, interleaved as the symbol stores them.
    static func codewords(_ bytes: [UInt8], version: Int) -> [UInt8] {
        let layout = layoutsM[version - 1]
        var bits = BitBuffer()
        bits.append(0b0100, count: 4)
        bits.append(bytes.count, count: version <= 9 ? 8 : 16)
        for byte in bytes { bits.append(Int(byte), count: 8) }
        let capacityBits = layout.dataCodewords * 8
        bits.append(0, count: min(4, capacityBits - bits.count))
        bits.append(0, count: (8 - bits.count % 8) % 8)
        var data = bits.bytes
        var pad: UInt8 = 0xEC
        while data.count < layout.dataCodewords {
            data.append(pad)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }

        var blocks: [[UInt8]] = []
        var offset = 0
        for group in layout.groups {
            for _ in 0..<group.count {
                blocks.append(Array(data[offset..<offset + group.dataCodewords]))
                offset += group.dataCodewords
            }
        }
        let generator = ReedSolomon.generator(degree: layout.eccPerBlock)
        let ecc = blocks.map { ReedSolomon.remainder($0, generator: generator) }
        var result: [UInt8] = []
        let longest = blocks.map(\.count).max() ?? 0
        for index in 0..<longest {
            for block in blocks where index < block.count { result.append(block[index]) }
        }
        for index in 0..<layout.eccPerBlock {
            for block in ecc { result.append(block[index]) }
        }
        return result
    }
}

struct BitBuffer {
    private(set) var bits: [Bool] = []
    var count: Int { bits.count }

    mutating func append(_ value: Int, count: Int) {
        guard count > 0 else { return }
        for shift in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> shift) & 1 == 1) }
    }

    var bytes: [UInt8] {
        stride(from: 0, to: bits.count, by: 8).map { start in
            var byte: UInt8 = 0
            for index in start..<min(start + 8, bits.count) where bits[index] {
                byte |= 0x80 >> UInt8(index - start)
            }
            return byte
        }
    }
}

/// Reed-Solomon over GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1.
enum ReedSolomon {
    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var result = 0
        var x = Int(a)
        var y = Int(b)
        while y > 0 {
            if y & 1 == 1 { result ^= x }
            x <<= 1
            if x & 0x100 != 0 { x ^= 0x11D }
            y >>= 1
        }
        return UInt8(result)
    }

    /// Coefficients of (x - α^0)(x - α^1)...(x - α^(degree-1)), highest power first, leading 1 dropped.
    static func generator(degree: Int) -> [UInt8] {
        var coefficients = [UInt8](repeating: 0, count: degree)
        coefficients[degree - 1] = 1
        var root: UInt8 = 1
        for _ in 0..<degree {
            for index in 0..<degree {
                coefficients[index] = multiply(coefficients[index], root)
                if index + 1 < degree { coefficients[index] ^= coefficients[index + 1] }
            }
            root = multiply(root, 2)
        }
        return coefficients
    }

    static func remainder(_ data: [UInt8], generator: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: generator.count)
        for byte in data {
            let factor = byte ^ result[0]
            result.removeFirst()
            result.append(0)
            for index in 0..<result.count { result[index] ^= multiply(generator[index], factor) }
        }
        return result
    }
}
