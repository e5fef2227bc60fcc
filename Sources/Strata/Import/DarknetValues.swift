/// One Darknet section's values, read as Darknet reads them (a default for each missing key), remembering
/// which were read so the rest are reported rather than dropped.
struct DarknetValues {
    let section: DarknetReader.Section
    var spec: ImportedSpec
    private(set) var failed = false
    private var used: Set<String> = []

    init(section: DarknetReader.Section, spec: ImportedSpec) {
        self.section = section
        self.spec = spec
    }

    private mutating func node(_ key: String) -> SourceNode? {
        used.insert(key)
        return section.values[key]
    }

    func has(_ key: String) -> Bool { section.values[key] != nil }

    mutating func integer(_ key: String, _ fallback: Int, atLeast low: Int? = nil) -> Int {
        guard let node = node(key) else { return fallback }
        guard let value = node.integer, low.map({ value >= $0 }) ?? true else {
            fail(key, "\(key)=\(node.described) must be a whole number from \(low ?? -Int(Int32.max)) to \(Int32.max)")
            return fallback
        }
        return value
    }

    /// A number as YAML text.
    mutating func number(
        _ key: String, _ fallback: Double, above low: Double? = nil, below high: Double? = nil
    ) -> String {
        guard let node = node(key) else { return YAMLText.number(fallback) }
        guard let value = node.number, low.map({ value > $0 }) ?? true, high.map({ value < $0 }) ?? true else {
            fail(key, "\(key)=\(node.described) is out of range")
            return YAMLText.number(fallback)
        }
        return YAMLText.number(value)
    }

    mutating func word(_ key: String, _ fallback: String) -> String { node(key)?.text ?? fallback }

    /// Comma-separated numbers (`steps=400,800`).
    mutating func numbers(_ key: String) -> [Double]? {
        guard let node = node(key), let text = node.text else { return nil }
        let parts = text.split(separator: ",")
        let values = parts.compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == parts.count else {
            fail(key, "\(key)=\(text) must be numbers separated by commas")
            return nil
        }
        return values
    }

    /// Darknet's activation names in Strata's words; nil for linear.
    mutating func activation(_ key: String, _ fallback: String) -> String? {
        let name = word(key, fallback)
        let names = [
            "logistic": "sigmoid", "relu": "relu", "leaky": "{leaky_relu: {alpha: 0.1}}", "linear": "linear",
            "tanh": "tanh", "elu": "elu", "swish": "silu",
        ]
        guard let strata = names[name] else {
            fail(
                key, "activation \(name) has no Strata equivalent",
                help: "Strata imports \(names.keys.sorted().joined(separator: ", "))")
            return nil
        }
        return strata
    }

    mutating func fail(_ key: String?, _ message: String, help: String? = nil) {
        spec.error(message, at: location(key), help: help)
        failed = true
    }

    mutating func warn(_ key: String?, _ message: String) { spec.warning(message, at: location(key)) }

    func location(_ key: String?) -> SourceLocation {
        key.flatMap { key in section.values.fields.first { $0.key == key }?.keyLocation } ?? section.location
    }

    /// Every key not read is reported: none is dropped without a word.
    mutating func warnUnused(ignoring ignored: Set<String> = []) {
        for field in section.values.fields where !used.contains(field.key) && !ignored.contains(field.key) {
            spec.warning(
                "[\(section.name)] \(field.key) has no Strata equivalent and is not imported", at: field.keyLocation)
        }
    }
}
