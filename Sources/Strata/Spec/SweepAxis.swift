import Foundation
import StrataEngine

/// One swept spec value: its path and what it takes — listed values (`1,32,128` or `choice(1,32,128)`) or, for
/// random search, a range (`uniform(0.1,0.9)`, `loguniform(1e-4,1e-1)`).
public struct SweepAxis: Sendable, Equatable {
    public enum Domain: Sendable, Equatable {
        case values([String])
        case uniform(Double, Double)
        case logUniform(Double, Double)
    }

    public var path: String
    public var domain: Domain

    public init(path: String, domain: Domain) {
        self.path = path
        self.domain = domain
    }

    /// `PATH=V1,V2,…`, `PATH=choice(…)`, `PATH=uniform(A,B)` or `PATH=loguniform(A,B)`; the error says what is wrong.
    public static func parse(_ assignment: String) -> Result<SweepAxis, SweepError> {
        guard let setting = SpecSetting(assignment: assignment) else {
            return .failure(SweepError("--set \(assignment): write PATH=V1,V2,… e.g. training.batch_size=16,64"))
        }
        return parse(path: setting.path, values: setting.value).mapError {
            SweepError("--set \(assignment): \($0.message)")
        }
    }

    public static func parse(path: String, values text: String) -> Result<SweepAxis, SweepError> {
        let trimmed = Substring(text).trimmingWhitespace
        for (name, make) in [
            ("loguniform", { (a: Double, b: Double) in Domain.logUniform(a, b) }),
            ("uniform", { (a: Double, b: Double) in Domain.uniform(a, b) }),
        ] where trimmed.hasPrefix(name + "(") {
            let arguments = callArguments(trimmed, name)
            guard let arguments, arguments.count == 2, let low = Double(arguments[0]), let high = Double(arguments[1]),
                low.isFinite, high.isFinite, low < high
            else {
                return .failure(SweepError("\(name)(A,B) needs two numbers A < B, got `\(trimmed)`"))
            }
            if name == "loguniform" && low <= 0 {
                return .failure(SweepError("loguniform(A,B) needs A > 0, got \(arguments[0])"))
            }
            return .success(SweepAxis(path: path, domain: make(low, high)))
        }
        let listed = trimmed.hasPrefix("choice(") ? callArguments(trimmed, "choice") : splitTopLevel(trimmed)
        guard let listed, !listed.isEmpty, !listed.contains(where: \.isEmpty) else {
            return .failure(SweepError("no values in `\(trimmed)`; list them as V1,V2,… or choice(V1,V2,…)"))
        }
        if let repeated = listed.first(where: { value in listed.filter { $0 == value }.count > 1 }) {
            return .failure(SweepError("`\(repeated)` is listed twice"))
        }
        return .success(SweepAxis(path: path, domain: .values(listed)))
    }

    /// The comma-separated arguments of `name(…)`; nil unless the text is exactly one such call.
    private static func callArguments(_ text: String, _ name: String) -> [String]? {
        guard text.hasPrefix(name + "("), text.hasSuffix(")") else { return nil }
        return splitTopLevel(String(text.dropFirst(name.count + 1).dropLast()))
    }

    /// Splits at commas outside brackets, braces, parentheses and quotes: `[3,3],[5,5]` is two values.
    static func splitTopLevel(_ text: String) -> [String]? {
        var parts: [String] = [], current = "", depth = 0
        var quote: Character?
        for character in text {
            if let open = quote {
                if character == open { quote = nil }
                current.append(character)
                continue
            }
            switch character {
            case "'", "\"": quote = character
            case "[", "{", "(": depth += 1
            case "]", "}", ")": depth -= 1
            case "," where depth == 0:
                parts.append(Substring(current).trimmingWhitespace)
                current = ""
                continue
            default: break
            }
            if depth < 0 { return nil }
            current.append(character)
        }
        guard depth == 0, quote == nil else { return nil }
        parts.append(Substring(current).trimmingWhitespace)
        return parts
    }
}

public struct SweepError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The settings of every run of a sweep, in order.
public enum SweepSettings {
    /// More runs than this is a mistake in the values, not a sweep: refused before anything is expanded.
    public static let maximumRuns = 10_000

    /// Every combination of the axes' values, the first axis varying slowest (ranges need random search).
    public static func grid(_ axes: [SweepAxis]) -> Result<[[SpecSetting]], SweepError> {
        var lists: [(path: String, values: [String])] = []
        var count = 1
        for axis in axes {
            guard case .values(let values) = axis.domain else {
                return .failure(
                    SweepError("`\(axis.path)` is a range; sample it with --random K (a grid needs values)"))
            }
            count = min(count * values.count, maximumRuns + 1)
            guard count <= maximumRuns else {
                return .failure(SweepError("the grid has more than \(maximumRuns) runs; sweep fewer values at once"))
            }
            lists.append((axis.path, values))
        }
        var runs: [[SpecSetting]] = [[]]
        for (path, values) in lists {
            runs = runs.flatMap { run in values.map { run + [SpecSetting(path: path, value: $0)] } }
        }
        return .success(runs)
    }

    /// `count` settings drawn from the axes with `seed`: listed values uniformly, ranges uniformly (in the log
    /// for loguniform), numbers written with four significant digits. The same seed draws the same runs.
    public static func random(_ axes: [SweepAxis], count: Int, seed: UInt64) -> [[SpecSetting]] {
        var random = SplitMix64.stream(seed: seed, purpose: 0x5EE9)
        return (0..<count).map { _ in
            axes.map { axis in
                let u = Double(random.next() >> 11) / Double(1 << 53)
                let value: String
                switch axis.domain {
                case .values(let values): value = values[min(values.count - 1, Int(u * Double(values.count)))]
                case .uniform(let low, let high): value = shortNumber(low + u * (high - low))
                case .logUniform(let low, let high): value = shortNumber(exp(log(low) + u * (log(high) - log(low))))
                }
                return SpecSetting(path: axis.path, value: value)
            }
        }
    }

    static func shortNumber(_ value: Double) -> String {
        let text = String(format: "%.4g", value)
        return text.contains(".") || text.contains("e") ? text : text + ".0"
    }

    /// A folder name for run `index` (from 1) of `count`: its number and settings, e.g. `02_batch_size=32`.
    public static func runName(_ index: Int, of count: Int, _ settings: [SpecSetting]) -> String {
        let width = String(count).count
        let number = String(repeating: "0", count: max(0, width - String(index).count)) + String(index)
        let parts = settings.map { setting -> String in
            let key = setting.path.split(separator: ".").last.map(String.init) ?? setting.path
            return "\(key)=\(setting.value)"
        }
        let name = ([number] + parts).joined(separator: "_")
        let safe = String(
            name.unicodeScalars.map { scalar -> Character in
                CharacterSet.alphanumerics.contains(scalar) && scalar.isASCII || "._=-+".unicodeScalars.contains(scalar)
                    ? Character(scalar) : "-"
            })
        return String(safe.prefix(120))
    }
}
