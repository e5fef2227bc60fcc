import StrataEngine

/// `strata schema`: a JSON Schema (draft 2020-12) of the spec language. Layers and optimizers come from their
/// descriptors' key rules, so the schema cannot drift from what the parser accepts.
public enum SpecSchema {
    public static func document() -> JSONValue {
        let top: [String: JSONValue] = [
            "name": [
                "type": "string", "pattern": .string(FileName.pattern),
                "description":
                    "the model's name, which names its files (runs/NAME.safetensors); default: the file name without .yaml",
            ],
            "seed": [
                "type": "integer", "minimum": 0, "default": 42,
                "description": "seeds initialization, shuffling, dropout and splits",
            ],
            "input": [
                "description": "the shape of one example, without the batch",
                "oneOf": [positive, ["type": "array", "items": positive, "minItems": 1, "maxItems": 3]],
            ],
            "layers": [
                "type": "array", "minItems": 1, "items": ["oneOf": .array(LayerRegistry.kinds.map(layer))],
                "description": "the model, input to output",
            ],
            "loss": ["enum": .array(LossKind.allCases.map { .string($0.rawValue) })],
            "metrics": ["oneOf": [metric, ["type": "array", "items": metric, "uniqueItems": true]]],
            "optimizer": [
                "oneOf": .array(
                    [["enum": .array(OptimizerDescriptor.all.map { .string($0.name) })]]
                        + OptimizerDescriptor.all.map(optimizer))
            ],
            "training": training,
            "data": data,
            "sweep": sweep,
            "checkpoint": object([
                "path": ["type": "string", "minLength": 1],
                "save": ["enum": .array(SavePolicy.allCases.map { .string($0.rawValue) })],
                "monitor": ["type": "string"],
            ]),
        ]
        var document = object(top, required: ["input", "layers", "loss", "optimizer", "data"])
        if case .object(var fields) = document {
            fields["$schema"] = "https://json-schema.org/draft/2020-12/schema"
            fields["title"] = "Strata spec"
            fields["$defs"] = definitions
            document = .object(fields)
        }
        return document
    }

    static let positive: JSONValue = ["type": "integer", "minimum": 1]
    static let metric: JSONValue = ["enum": .array(MetricKind.allCases.map { .string($0.rawValue) })]

    /// A closed mapping: only these keys.
    static func object(_ properties: [String: JSONValue], required: [String] = []) -> JSONValue {
        var fields: [String: JSONValue] = [
            "type": "object", "additionalProperties": false, "properties": .object(properties),
        ]
        if !required.isEmpty { fields["required"] = .array(required.map { .string($0) }) }
        return .object(fields)
    }

    /// `{kind: body}` with exactly that key; `bare` also allows the kind's word alone.
    static func tagged(_ kind: String, _ body: JSONValue, description: String? = nil, bare: Bool) -> [JSONValue] {
        var forms: [JSONValue] = []
        if bare { forms.append(["const": .string(kind)]) }
        var wrapped = object([kind: body], required: [kind])
        if let description, case .object(var fields) = wrapped {
            fields["description"] = .string(description)
            wrapped = .object(fields)
        }
        forms.append(wrapped)
        return forms
    }

    static func keyProperties(_ rules: [KeyRule]) -> [String: JSONValue] {
        Dictionary(uniqueKeysWithValues: rules.map { ($0.name, schema(of: $0)) })
    }

    static func layer(_ kind: any LayerKind.Type) -> JSONValue {
        if let bodyKey = kind.bodyKey, let rule = kind.keys.first(where: { $0.name == bodyKey }) {
            return .object([
                "oneOf": .array(tagged(kind.typeName, schema(of: rule), description: kind.summary, bare: false))
            ])
        }
        let required = kind.keys.filter(\.isRequired).map(\.name)
        var properties = keyProperties(kind.keys)
        properties["name"] = [
            "type": "string", "minLength": 1,
            "description": "letters, digits, _ and -; unique; becomes the tensor names' prefix",
        ]
        let body = object(properties, required: required)
        // A kind with no required key may be written bare (`- flatten`) or with nothing after the colon.
        let optionalBody: JSONValue = required.isEmpty ? ["oneOf": [["type": "null"], body]] : body
        return .object([
            "oneOf": .array(tagged(kind.typeName, optionalBody, description: kind.summary, bare: required.isEmpty))
        ])
    }

    static func optimizer(_ descriptor: OptimizerDescriptor) -> JSONValue {
        let body: JSONValue = ["oneOf": [["type": "null"], object(keyProperties(descriptor.keys))]]
        return .object(["oneOf": .array(tagged(descriptor.name, body, description: descriptor.summary, bare: false))])
    }

    /// The schema of one key's value, with its doc line and default.
    static func schema(of rule: KeyRule) -> JSONValue {
        guard case .object(var fields) = typeSchema(rule.type) else { return typeSchema(rule.type) }
        fields["description"] = .string(rule.doc)
        if case .value(let value) = rule.defaultValue, let json = json(value) { fields["default"] = json }
        return .object(fields)
    }

    static func typeSchema(_ type: KeyType) -> JSONValue {
        func integer(_ range: ClosedRange<Int>) -> JSONValue {
            var fields: [String: JSONValue] = ["type": "integer", "minimum": .integer(range.lowerBound)]
            if range.upperBound != Int.max { fields["maximum"] = .integer(range.upperBound) }
            return .object(fields)
        }
        switch type {
        case .integer(let range): return integer(range)
        case .pair(let range):
            return [
                "oneOf": [integer(range), ["type": "array", "items": integer(range), "minItems": 2, "maxItems": 2]]
            ]
        case .number(let b):
            var fields: [String: JSONValue] = ["type": "number"]
            if let x = b.above { fields["exclusiveMinimum"] = .number(x) }
            if let x = b.atLeast { fields["minimum"] = .number(x) }
            if let x = b.below { fields["exclusiveMaximum"] = .number(x) }
            if let x = b.atMost { fields["maximum"] = .number(x) }
            return .object(fields)
        case .boolean: return ["type": "boolean"]
        case .word(let words): return ["enum": .array(words.map { .string($0) })]
        case .activation: return ["$ref": "#/$defs/activation"]
        case .initializer: return ["$ref": "#/$defs/initializer"]
        case .regularizer: return ["$ref": "#/$defs/regularizer"]
        case .schedule: return ["$ref": "#/$defs/schedule"]
        }
    }

    static func json(_ value: KeyValue) -> JSONValue? {
        switch value {
        case .integer(let x): return .integer(x)
        case .pair(let x): return x.count == 2 && x[0] == x[1] ? .integer(x[0]) : .array(x.map { .integer($0) })
        case .number(let x): return .number(x)
        case .boolean(let x): return .boolean(x)
        case .word(let x): return .string(x)
        case .activation(let x): return .string(x.name)
        case .initializer(let x): return .string(x.name)
        case .regularizer, .schedule: return nil
        }
    }

    static var definitions: JSONValue {
        let number: JSONValue = ["type": "number"]
        let alpha = object(["alpha": ["type": "number", "minimum": 0]])
        let activations: [JSONValue] =
            [["enum": .array(ActivationKind.byName.map { .string($0.name) })]]
            + ActivationKind.byName.filter { $0.kind.alpha != nil }.flatMap {
                tagged($0.name, ["oneOf": [["type": "null"], alpha]], bare: false)
            }
        let initializers: [JSONValue] =
            [["enum": .array(InitializerKind.plain.keys.sorted().map { .string($0) })]]
            + tagged("constant", number, bare: false) + tagged("values", ["$ref": "#/$defs/tensor"], bare: false)
        let steps: JSONValue = ["type": "integer", "minimum": 1]
        let rate: JSONValue = ["type": "number", "exclusiveMinimum": 0, "maximum": 1]
        let schedules: [JSONValue] =
            tagged(
                "step", object(["decay_steps": steps, "decay_rate": rate], required: ["decay_steps", "decay_rate"]),
                bare: false)
            + tagged(
                "exponential",
                object(["decay_steps": steps, "decay_rate": rate], required: ["decay_steps", "decay_rate"]), bare: false
            )
            + tagged(
                "cosine",
                object(
                    ["decay_steps": steps, "alpha": ["type": "number", "minimum": 0, "maximum": 1]],
                    required: ["decay_steps"]), bare: false)
            + tagged(
                "inverse_time",
                object(
                    [
                        "decay_steps": steps, "decay_rate": ["type": "number", "exclusiveMinimum": 0],
                        "power": ["type": "number", "exclusiveMinimum": 0],
                    ], required: ["decay_steps", "decay_rate"]), bare: false)
            + tagged(
                "multistep",
                object(
                    ["boundaries": ["type": "array", "items": steps, "minItems": 1], "decay_rate": rate],
                    required: ["boundaries", "decay_rate"]), bare: false)
        let path: JSONValue = ["type": "string", "minLength": 1]
        let column: JSONValue = ["oneOf": [["type": "string"], ["type": "integer", "minimum": 0]]]
        let sources: [JSONValue] =
            tagged(
                "csv",
                object(
                    [
                        "path": path, "features": ["type": "array", "items": column], "label": column,
                        "header": ["type": "boolean"],
                    ], required: ["path"]), bare: false)
            + tagged("idx", object(["images": path, "labels": path], required: ["images", "labels"]), bare: false)
            + tagged(
                "inline",
                object(
                    ["x": ["type": "array", "minItems": 1], "y": ["type": "array", "minItems": 1]],
                    required: ["x", "y"]), bare: false)
        return [
            "activation": ["oneOf": .array(activations)],
            "initializer": ["oneOf": .array(initializers)],
            "tensor": ["oneOf": [number, ["type": "array", "items": ["$ref": "#/$defs/tensor"]]]],
            "regularizer": [
                "type": "object", "additionalProperties": false, "minProperties": 1,
                "properties": ["l1": ["type": "number", "minimum": 0], "l2": ["type": "number", "minimum": 0]],
            ],
            "schedule": ["oneOf": .array(schedules)],
            "source": ["oneOf": .array(sources)],
        ]
    }

    static var training: JSONValue {
        let fraction: JSONValue = ["type": "number", "minimum": 0, "exclusiveMaximum": 1]
        return object([
            "batch_size": ["type": "integer", "minimum": 1, "default": 32],
            "epochs": ["type": "integer", "minimum": 0, "default": 1],
            "shuffle": ["type": "boolean", "default": true],
            "validation_split": fraction,
            "early_stopping": object([
                "monitor": ["type": "string"], "patience": ["type": "integer", "minimum": 0],
                "min_delta": ["type": "number", "minimum": 0], "restore_best_weights": ["type": "boolean"],
            ]),
        ])
    }

    /// `strata sweep`'s defaults: spec paths mapped to lists of values or ranges.
    static var sweep: JSONValue {
        let scalar: JSONValue = ["type": ["string", "number", "boolean"]]
        return object(
            [
                "name": ["type": "string", "pattern": .string(FileName.pattern)],
                "set": [
                    "type": "object", "minProperties": 1,
                    "description": "spec paths (training.batch_size, layers.0.dense.units) to values or ranges",
                    "additionalProperties": [
                        "oneOf": [
                            ["type": "array", "items": scalar, "minItems": 1, "uniqueItems": true],
                            [
                                "type": "string",
                                "description": "choice(A,B,…), uniform(A,B) or loguniform(A,B) (for random search)",
                            ],
                        ]
                    ],
                ],
                "random": ["type": "integer", "minimum": 1, "maximum": .integer(SweepSettings.maximumRuns)],
                "seed": ["type": "integer", "minimum": 0],
                "jobs": ["type": "integer", "minimum": 1, "maximum": 64],
                "halving": ["type": "boolean"],
            ], required: ["set"])
    }

    static var data: JSONValue {
        let source: JSONValue = ["$ref": "#/$defs/source"]
        return object(
            [
                "train": source, "validation": source, "test": source,
                "test_split": ["type": "number", "minimum": 0, "exclusiveMaximum": 1],
                "scale": ["type": "number", "exclusiveMinimum": 0],
                "standardize": ["type": "boolean"],
                "labels": ["enum": .array(LabelFormat.allCases.map { .string($0.rawValue) })],
                "one_hot": ["type": "boolean"],
                "class_names": [
                    "type": "array", "items": ["type": ["string", "number", "boolean"]], "uniqueItems": true,
                ],
                "classes": ["type": "integer", "minimum": 2],
            ], required: ["train"])
    }
}
