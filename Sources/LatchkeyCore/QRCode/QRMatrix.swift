/// The module grid while a symbol is built: function patterns, data placement, masking, penalty.
struct QRMatrix {
    let version: Int
    let size: Int
    var dark: [Bool]
    /// Modules that belong to function patterns (finders, timing, alignment, format, version).
    var isFunction: [Bool]
    var mask = 0

    init(version: Int) {
        self.version = version
        size = 17 + 4 * version
        dark = Array(repeating: false, count: size * size)
        isFunction = Array(repeating: false, count: size * size)
    }

    subscript(x: Int, y: Int) -> Bool {
        get { dark[y * size + x] }
        set { dark[y * size + x] = newValue }
    }

    private mutating func setFunction(_ x: Int, _ y: Int, _ isDark: Bool) {
        self[x, y] = isDark
        isFunction[y * size + x] = true
    }

    // MARK: Function patterns

    mutating func drawFunctionPatterns() {
        for index in 0..<size {
            setFunction(6, index, index % 2 == 0)
            setFunction(index, 6, index % 2 == 0)
        }
        drawFinder(centerX: 3, centerY: 3)
        drawFinder(centerX: size - 4, centerY: 3)
        drawFinder(centerX: 3, centerY: size - 4)
        let positions = alignmentPositions
        for (i, x) in positions.enumerated() {
            for (j, y) in positions.enumerated() {
                let overlapsFinder =
                    (i == 0 && j == 0) || (i == 0 && j == positions.count - 1)
                    || (i == positions.count - 1 && j == 0)
                if !overlapsFinder { drawAlignment(centerX: x, centerY: y) }
            }
        }
        drawFormatBits(mask: 0)  // reserves the area; redrawn with the real mask
        drawVersion()
    }

    /// The 7×7 finder with its light separator (clipped at the symbol's edge).
    private mutating func drawFinder(centerX: Int, centerY: Int) {
        for dy in -4...4 {
            for dx in -4...4 {
                let x = centerX + dx
                let y = centerY + dy
                guard x >= 0, y >= 0, x < size, y < size else { continue }
                let distance = max(abs(dx), abs(dy))
                setFunction(x, y, distance != 2 && distance != 4)
            }
        }
    }

    private mutating func drawAlignment(centerX: Int, centerY: Int) {
        for dy in -2...2 {
            for dx in -2...2 { setFunction(centerX + dx, centerY + dy, max(abs(dx), abs(dy)) != 1) }
        }
    }

    var alignmentPositions: [Int] {
        guard version > 1 else { return [] }
        let count = version / 7 + 2
        let step = (version * 4 + count * 2 + 1) / (count * 2 - 2) * 2
        var positions: [Int] = []
        var position = size - 7
        while positions.count < count - 1 {
            positions.insert(position, at: 0)
            position -= step
        }
        return [6] + positions
    }

    /// 15 format bits (level M = 00, the mask), BCH-protected, in both copies, plus the dark module.
    mutating func drawFormatBits(mask: Int) {
        let data = 0b00 << 3 | mask
        var remainder = data
        for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
        let bits = (data << 10 | remainder) ^ 0x5412
        func bit(_ index: Int) -> Bool { (bits >> index) & 1 == 1 }
        for index in 0...5 { setFunction(8, index, bit(index)) }
        setFunction(8, 7, bit(6))
        setFunction(8, 8, bit(7))
        setFunction(7, 8, bit(8))
        for index in 9..<15 { setFunction(14 - index, 8, bit(index)) }
        for index in 0..<8 { setFunction(size - 1 - index, 8, bit(index)) }
        for index in 8..<15 { setFunction(8, size - 15 + index, bit(index)) }
        setFunction(8, size - 8, true)
    }

    /// 18 version bits (Golay-protected) in two 6×3 blocks, for version 7 and up.
    private mutating func drawVersion() {
        guard version >= 7 else { return }
        var remainder = version
        for _ in 0..<12 { remainder = (remainder << 1) ^ ((remainder >> 11) * 0x1F25) }
        let bits = version << 12 | remainder
        for index in 0..<18 {
            let isDark = (bits >> index) & 1 == 1
            let a = size - 11 + index % 3
            let b = index / 3
            setFunction(a, b, isDark)
            setFunction(b, a, isDark)
        }
    }

    // MARK: Data

    /// Codeword bits in the zigzag order: two-module columns from the right, up then down,
    /// skipping the vertical timing column.
    mutating func placeData(_ codewords: [UInt8]) {
        var bitIndex = 0
        let totalBits = codewords.count * 8
        var right = size - 1
        while right >= 1 {
            if right == 6 { right = 5 }
            let upward = (right + 1) & 2 == 0
            for vertical in 0..<size {
                let y = upward ? size - 1 - vertical : vertical
                for offset in 0..<2 {
                    let x = right - offset
                    guard !isFunction[y * size + x], bitIndex < totalBits else { continue }
                    self[x, y] = (codewords[bitIndex >> 3] >> (7 - UInt8(bitIndex & 7))) & 1 == 1
                    bitIndex += 1
                }
            }
            right -= 2
        }
    }

    mutating func applyMask(_ mask: Int) {
        self.mask = mask
        for y in 0..<size {
            for x in 0..<size where !isFunction[y * size + x] {
                let flip: Bool
                switch mask {
                case 0: flip = (x + y) % 2 == 0
                case 1: flip = y % 2 == 0
                case 2: flip = x % 3 == 0
                case 3: flip = (x + y) % 3 == 0
                case 4: flip = (x / 3 + y / 2) % 2 == 0
                case 5: flip = x * y % 2 + x * y % 3 == 0
                case 6: flip = (x * y % 2 + x * y % 3) % 2 == 0
                default: flip = ((x + y) % 2 + x * y % 3) % 2 == 0
                }
                if flip { self[x, y].toggle() }
            }
        }
    }

    // MARK: Penalty (ISO/IEC 18004 §7.8.3)

    func penalty() -> Int {
        var total = 0
        for index in 0..<size {
            let row = (0..<size).map { self[$0, index] }
            let column = (0..<size).map { self[index, $0] }
            total += runPenalty(row) + finderLikePenalty(row)
            total += runPenalty(column) + finderLikePenalty(column)
        }
        for y in 0..<size - 1 {
            for x in 0..<size - 1 {
                let color = self[x, y]
                if color == self[x + 1, y], color == self[x, y + 1], color == self[x + 1, y + 1] {
                    total += 3
                }
            }
        }
        let darkCount = dark.filter { $0 }.count
        let cells = size * size
        // 10 points for each full 5% the dark share is away from 50%.
        total += abs(darkCount * 20 - cells * 10) / cells * 10
        return total
    }

    /// Runs of five or more modules of one colour: 3 points, plus 1 per module beyond five.
    private func runPenalty(_ line: [Bool]) -> Int {
        var total = 0
        var runLength = 1
        for index in 1...line.count {
            if index < line.count, line[index] == line[index - 1] {
                runLength += 1
            } else {
                if runLength >= 5 { total += runLength - 2 }
                runLength = 1
            }
        }
        return total
    }

    /// 1:1:3:1:1 finder-like patterns with four light modules on a side: 40 points each.
    private func finderLikePenalty(_ line: [Bool]) -> Int {
        let core: [Bool] = [true, false, true, true, true, false, true]
        let light = [Bool](repeating: false, count: 4)
        let patterns = [core + light, light + core]
        var total = 0
        guard line.count >= 11 else { return 0 }
        for start in 0...(line.count - 11) {
            let window = Array(line[start..<start + 11])
            if patterns.contains(window) { total += 40 }
        }
        return total
    }
}
