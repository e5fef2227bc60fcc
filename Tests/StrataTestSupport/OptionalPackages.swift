import Foundation
import Testing

/// What some tests need beyond a fresh clone: Debian's Fashion-MNIST, Python's jsonschema and PyYAML. Without
/// them those tests skip with the reason shown; `.ci/run` installs them and sets STRATA_REQUIRE_OPTIONAL=1, which
/// runs the tests anyway, so a missing package fails there instead of hiding a gap.
public enum OptionalPackages {
    public static let required = ProcessInfo.processInfo.environment["STRATA_REQUIRE_OPTIONAL"] == "1"

    public static let fashionMNISTFolder = "/usr/share/datasets/fashion-mnist"
    public static let hasFashionMNIST = FileManager.default.fileExists(
        atPath: fashionMNISTFolder + "/train-images-idx3-ubyte.gz")

    /// python3 with jsonschema and PyYAML, for validating the schema with a real validator.
    public static let hasSchemaValidator: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import jsonschema, yaml"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()
}

extension Trait where Self == ConditionTrait {
    public static var needsFashionMNIST: Self {
        .enabled(
            if: OptionalPackages.hasFashionMNIST || OptionalPackages.required,
            "needs Debian's dataset-fashion-mnist in \(OptionalPackages.fashionMNISTFolder) (.ci/run installs it)")
    }

    public static var needsSchemaValidator: Self {
        .enabled(
            if: OptionalPackages.hasSchemaValidator || OptionalPackages.required,
            "needs python3 with jsonschema and PyYAML (.ci/run installs them)")
    }
}
