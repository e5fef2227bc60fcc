/// Size arithmetic and number formatting shared by every stage.

/// Sizes come from user input and can be absurd (`units: 10000000000`); arithmetic saturates instead of trapping.
func saturatingMultiply(_ a: Int, _ b: Int) -> Int {
    let (result, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? Int.max : result
}

func saturatingAdd(_ a: Int, _ b: Int) -> Int {
    let (result, overflow) = a.addingReportingOverflow(b)
    return overflow ? Int.max : result
}

func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, saturatingMultiply) }

func describeShape(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

func format(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
}

/// 34826 → "34,826".
func groupedDigits(_ value: Int) -> String {
    let digits = Array(String(value))
    var out = ""
    for (index, digit) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
        out.append(digit)
    }
    return out
}
