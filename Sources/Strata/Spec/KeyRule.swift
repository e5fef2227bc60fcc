import StrataEngine

/// What a spec key may hold. The parser reads values by it, the schema and the docs describe it.
public enum KeyType: Sendable {
    case integer(ClosedRange<Int>)
    /// One integer for both dimensions, or `[h, w]`.
    case pair(ClosedRange<Int>)
    case number(NumberBounds)
    case boolean
    case word([String])
    case activation
    case initializer
    case regularizer
    case schedule
}

/// Bounds on a number; `above` and `below` exclude their endpoint.
public struct NumberBounds: Sendable {
    public var above: Double?
    public var atLeast: Double?
    public var below: Double?
    public var atMost: Double?

    public init(above: Double? = nil, atLeast: Double? = nil, below: Double? = nil, atMost: Double? = nil) {
        self.above = above
        self.atLeast = atLeast
        self.below = below
        self.atMost = atMost
    }
}

public enum KeyValue: Sendable, Equatable {
    case integer(Int)
    case pair([Int])
    case number(Double)
    case boolean(Bool)
    case word(String)
    case activation(ActivationKind)
    case initializer(InitializerKind)
    case regularizer(Regularizer)
    case schedule(Schedule)
}

/// One key of a layer (or optimizer): its type, its default, a line of documentation.
public struct KeyRule: Sendable {
    public enum Default: Sendable {
        case required
        case value(KeyValue)
        /// Derived from other keys or absent; the text says how (`pool_size`, `none`).
        case derived(String)
    }

    public let name: String
    public let type: KeyType
    public let defaultValue: Default
    public let doc: String
    /// How messages name a value (`dropout rate`); the key's name otherwise.
    public let what: String
    public let help: String?

    public init(
        _ name: String, _ type: KeyType, _ defaultValue: Default, _ doc: String, what: String? = nil,
        help: String? = nil
    ) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.doc = doc
        self.what = what ?? name
        self.help = help
    }

    public var isRequired: Bool { if case .required = defaultValue { true } else { false } }
}

/// The values a layer's keys were given, checked against their rules, with defaults filled on request.
public struct LayerArguments: Sendable {
    public let rules: [KeyRule]
    public let given: [String: Located<KeyValue>]
    /// The layer's body (or its type word): where defaults are said to come from.
    public let location: SourceLocation

    public init(rules: [KeyRule], given: [String: Located<KeyValue>], location: SourceLocation) {
        self.rules = rules
        self.given = given
        self.location = location
    }

    /// The value given, or the rule's default; nil for an absent key with no default value.
    public func optional(_ key: String) -> Located<KeyValue>? {
        if let value = given[key] { return value }
        guard let rule = rules.first(where: { $0.name == key }) else { preconditionFailure("no rule for key '\(key)'") }
        if case .value(let value) = rule.defaultValue { return Located(value, at: location) }
        return nil
    }

    private func value(_ key: String) -> Located<KeyValue> {
        guard let value = optional(key) else { preconditionFailure("key '\(key)' has neither a value nor a default") }
        return value
    }

    public func integer(_ key: String) -> Located<Int> {
        let v = value(key)
        guard case .integer(let x) = v.value else { preconditionFailure("key '\(key)' is not an integer") }
        return Located(x, at: v.location)
    }

    public func pair(_ key: String) -> Located<[Int]>? {
        guard let v = optional(key) else { return nil }
        guard case .pair(let x) = v.value else { preconditionFailure("key '\(key)' is not a pair") }
        return Located(x, at: v.location)
    }

    public func number(_ key: String) -> Located<Double> {
        let v = value(key)
        guard case .number(let x) = v.value else { preconditionFailure("key '\(key)' is not a number") }
        return Located(x, at: v.location)
    }

    public func boolean(_ key: String) -> Bool {
        guard case .boolean(let x) = value(key).value else { preconditionFailure("key '\(key)' is not a boolean") }
        return x
    }

    public func word(_ key: String) -> String {
        guard case .word(let x) = value(key).value else { preconditionFailure("key '\(key)' is not a word") }
        return x
    }

    public func activation(_ key: String) -> Located<ActivationKind>? {
        guard let v = optional(key) else { return nil }
        guard case .activation(let x) = v.value else { preconditionFailure("key '\(key)' is not an activation") }
        return Located(x, at: v.location)
    }

    public func initializer(_ key: String) -> Located<InitializerKind> {
        let v = value(key)
        guard case .initializer(let x) = v.value else { preconditionFailure("key '\(key)' is not an initializer") }
        return Located(x, at: v.location)
    }

    public func schedule(_ key: String) -> Located<Schedule>? {
        guard let v = optional(key) else { return nil }
        guard case .schedule(let x) = v.value else { preconditionFailure("key '\(key)' is not a schedule") }
        return Located(x, at: v.location)
    }

    public func regularizer(_ key: String) -> Located<Regularizer>? {
        guard let v = optional(key) else { return nil }
        guard case .regularizer(let x) = v.value else { preconditionFailure("key '\(key)' is not a regularizer") }
        return Located(x, at: v.location)
    }
}
