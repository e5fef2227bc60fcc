import Yams

extension SpecBuilder {
    static let dataKeys = [
        "train", "validation", "test", "test_split", "scale", "standardize", "labels", "one_hot", "class_names",
        "classes",
    ]

    func parseData(_ node: Node) -> DataSpec? {
        guard let fields = reader.fields(node, what: "data", keys: Self.dataKeys) else { return nil }
        let train = fields.required("train", help: "e.g. `train: {csv: {path: data/iris.csv, label: species}}`")
            .flatMap(parseSource)
        let validation = fields["validation"].map(parseSource)
        let test = fields["test"].map(parseSource)
        let testSplit = fields["test_split"].map {
            reader.double(
                $0, what: "test_split", atLeast: 0, below: 1, help: "a fraction such as 0.2 holds out 20% for testing")
        }
        if let node = fields["test_split"], fields.has("test") {
            reader.error("test_split and a test source cannot both be given", at: node, help: "remove one of them")
        }
        let scale = fields["scale"].map { v in
            reader.double(v, what: "scale", above: 0).map { Located($0, at: reader.location(v)) }
        }
        let standardize = fields["standardize"].map { reader.bool($0, what: "standardize") }
        let labels = fields["labels"].map { v in
            reader.choice(v, what: "labels", LabelFormat.self).map { Located($0, at: reader.location(v)) }
        }
        let oneHot = fields["one_hot"].map { v in
            reader.bool(v, what: "one_hot").map { Located($0, at: reader.location(v)) }
        }
        let classNames = fields["class_names"].map { v in
            reader.strings(v, what: "class_names").map { Located($0, at: reader.location(v)) }
        }
        let classes = fields["classes"].map { v in
            reader.int(v, what: "classes", range: 2...Int.max, help: "a classifier needs at least 2 classes").map {
                Located($0, at: reader.location(v))
            }
        }
        if let names = classNames ?? nil {
            if Set(names.value).count != names.value.count {
                reader.diagnostics.error("class_names holds a name twice", at: names.location)
            }
            if let count = classes ?? nil, count.value != names.value.count {
                reader.diagnostics.error(
                    "classes is \(count.value) but class_names lists \(names.value.count)", at: count.location,
                    help: "drop `classes`; it follows from class_names")
            }
        }
        let failed: [Bool] = [
            validation.map { $0 == nil }, test.map { $0 == nil }, testSplit.map { $0 == nil }, scale.map { $0 == nil },
            standardize.map { $0 == nil }, labels.map { $0 == nil }, oneHot.map { $0 == nil },
            classNames.map { $0 == nil },
            classes.map { $0 == nil },
        ].compactMap { $0 }
        guard let train, !failed.contains(true) else { return nil }
        let names = classNames ?? nil
        return DataSpec(
            train: train, validation: validation ?? nil, test: test ?? nil, testSplit: (testSplit ?? nil) ?? 0,
            scale: scale ?? nil, standardize: (standardize ?? false) ?? false, labels: labels ?? nil,
            oneHot: oneHot ?? nil,
            classNames: names, classes: (classes ?? nil) ?? names.map { Located($0.value.count, at: $0.location) })
    }

    private func parseSource(_ node: Node) -> Located<DataSource>? {
        guard let (kind, kindNode, body) = reader.tagged(node, what: "data source", kinds: ["csv", "idx", "inline"])
        else { return nil }
        let location = reader.location(kindNode)
        guard let body else {
            reader.error(
                "data source '\(kind)' needs its parameters", at: kindNode,
                help: kind == "csv"
                    ? "e.g. `csv: {path: data/iris.csv}`"
                    : kind == "idx"
                        ? "e.g. `idx: {images: train-images-idx3-ubyte.gz, labels: train-labels-idx1-ubyte.gz}`"
                        : "e.g. `inline: {x: [1, 2], y: [3, 5]}`")
            return nil
        }
        switch kind {
        case "csv":
            guard let fields = reader.fields(body, what: "csv source", keys: ["path", "features", "label", "header"])
            else { return nil }
            let path = fields.required("path").flatMap { v in nonEmptyPath(v) }
            let features = fields["features"].map { v in columnList(v).map { Located($0, at: reader.location(v)) } }
            let label = fields["label"].map { v in column(v).map { Located($0, at: reader.location(v)) } }
            let header = fields["header"].map { reader.bool($0, what: "header") }
            guard let path, features.map({ $0 != nil }) ?? true, label.map({ $0 != nil }) ?? true,
                header.map({ $0 != nil }) ?? true
            else { return nil }
            return Located(
                .csv(
                    CSVSource(
                        path: path, features: features ?? nil, label: label ?? nil, header: (header ?? true) ?? true)),
                at: location)
        case "idx":
            guard let fields = reader.fields(body, what: "idx source", keys: ["images", "labels"]) else { return nil }
            let images = fields.required("images").flatMap(nonEmptyPath)
            let labels = fields.required("labels").flatMap(nonEmptyPath)
            guard let images, let labels else { return nil }
            return Located(.idx(images: images, labels: labels), at: location)
        default:
            return parseInline(body, at: location)
        }
    }

    private func nonEmptyPath(_ node: Node) -> Located<String>? {
        guard let path = reader.string(node, what: "path") else { return nil }
        guard !path.isEmpty else {
            reader.error("path is empty", at: node)
            return nil
        }
        return Located(path, at: reader.location(node))
    }

    private func column(_ node: Node) -> String? {
        if case .scalar = node, node.tagName == .int {
            return reader.int(node, what: "column index", range: 0...Int.max).map(String.init)
        }
        return reader.string(node, what: "column")
    }

    private func columnList(_ node: Node) -> [String]? {
        guard let items = reader.sequence(node, what: "features") else { return nil }
        let columns = items.map(column)
        return columns.contains(nil) ? nil : columns.map { $0! }
    }

    private func parseInline(_ body: Node, at location: SourceLocation) -> Located<DataSource>? {
        guard let fields = reader.fields(body, what: "inline data", keys: ["x", "y"]) else { return nil }
        guard let xNode = fields.required("x", help: "one row per example, e.g. `x: [[0, 0], [0, 1]]`"),
            let yNode = fields.required("y", help: "one target per example, e.g. `y: [0, 1]`"),
            let xItems = reader.sequence(xNode, what: "x"), let yItems = reader.sequence(yNode, what: "y")
        else { return nil }
        let x = rows(xItems, what: "x")
        var y: [[Double]]?
        var yNames: [String]?
        if let first = yItems.first, case .scalar(let scalar) = first, first.tagName == .str || scalar.style != .plain {
            yNames = reader.strings(yNode, what: "y")
            y = yNames.map { _ in [] }
        } else {
            y = rows(yItems, what: "y")
        }
        guard let x, let y else { return nil }
        let count = yNames?.count ?? y.count
        if x.count != count {
            reader.error(
                "x has \(x.count) examples but y has \(count)", at: yNode, help: "give one target per row of x")
            return nil
        }
        if x.isEmpty {
            reader.error("inline data has no examples", at: xNode)
            return nil
        }
        return Located(.inline(x: x, y: yNames == nil ? y : [], yNames: yNames), at: location)
    }

    /// Rows of numbers; a bare number is a row of one. All rows must be the same width.
    private func rows(_ items: [Node], what: String) -> [[Double]]? {
        var result: [[Double]] = []
        result.reserveCapacity(items.count)
        for item in items {
            let row: [Double]?
            if case .sequence = item {
                row = reader.numbers(item, what: "each row of \(what)")
            } else {
                row = reader.double(item, what: "each value of \(what)").map { [$0] }
            }
            guard let row else { return nil }
            if let width = result.first?.count, width != row.count {
                reader.error("each row of \(what) must have \(width) values like the first, got \(row.count)", at: item)
                return nil
            }
            result.append(row)
        }
        return result
    }
}
