// swift-tools-version:6.1
import PackageDescription

// Layering: StrataEngine (math, no files, no YAML) <- Strata (spec to checkpoint) <- strata (CLI).
let package = Package(
    name: "Strata",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "StrataEngine", targets: ["StrataEngine"]),
        .library(name: "Strata", targets: ["Strata"]),
        .executable(name: "strata", targets: ["StrataCLI"]),
        .executable(name: "strata-bench", targets: ["StrataBench"]),
        .executable(name: "strata-fuzz", targets: ["StrataFuzz"]),
    ],
    // `swift build --traits MPI`: data-parallel training under mpirun (needs Open MPI's libopenmpi-dev). Without
    // it nothing of MPI is built or linked.
    traits: [.trait(name: "MPI", description: "Data-parallel training across processes with MPI (Open MPI).")],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        // `.keras` model archives are zip files (strata import).
        .package(url: "https://github.com/weichsel/ZIPFoundation", exact: "0.9.20"),
    ],
    targets: [
        // Hot loops that need per-function CPU targets (AVX2/FMA) with a run-time check.
        .target(
            name: "CStrataKernels",
            cSettings: [.unsafeFlags(["-O3"])]
        ),
        .target(name: "StrataEngine", dependencies: ["CStrataKernels"]),
        // gzip for `.gz` IDX files; zlib1g-dev is on every Debian machine of this project. (Not "CZlib": ZIPFoundation
        // has a module of that name.)
        .systemLibrary(name: "CStrataZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Ctrl-C sets a flag so training can finish its step and write a checkpoint.
        .target(name: "CStrataSignals"),
        // Open MPI's headers and library (pkg-config ompi-c), and the C functions Swift calls them through.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "CStrataMPI", dependencies: ["CMPI"]),
        // ONNX's protobuf types, generated once from onnx.proto by scripts/generate_onnx_proto.sh.
        .target(name: "ONNXProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(
            name: "Strata",
            dependencies: [
                "StrataEngine", "CStrataZlib", "CStrataSignals", "ONNXProto", .product(name: "Yams", package: "Yams"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .target(name: "CStrataMPI", condition: .when(traits: ["MPI"])),
            ]
        ),
        .executableTarget(
            name: "StrataCLI",
            dependencies: ["Strata", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Fuzz targets: replays a corpus normally; libFuzzer drives them when built by scripts/fuzz.
        .executableTarget(name: "StrataFuzz", dependencies: ["Strata"]),
        // Counts heap allocations for the benchmark's allocations-per-step figure; nothing else links it.
        .target(name: "CAllocationCounter"),
        .executableTarget(
            name: "StrataBench", dependencies: ["StrataEngine", "CStrataKernels", "CAllocationCounter", "Strata"]),
        .testTarget(name: "StrataEngineTests", dependencies: ["StrataEngine", "CStrataKernels"]),
        // Which optional packages (Fashion-MNIST, jsonschema) are present, for tests that need them.
        .target(name: "StrataTestSupport", path: "Tests/StrataTestSupport"),
        // Fixtures are read from the source tree (#filePath), so their data paths resolve inside the repo.
        .testTarget(
            name: "StrataTests",
            dependencies: [
                "Strata", "StrataEngine", "StrataTestSupport", "ONNXProto",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            exclude: ["Fixtures"]),
        .testTarget(name: "StrataCLITests", dependencies: ["StrataCLI", "StrataFuzz", "StrataTestSupport"]),
    ]
)
