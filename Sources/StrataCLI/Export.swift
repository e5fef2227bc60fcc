import ArgumentParser
import Foundation
import Strata

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a checkpoint as an ONNX model (opset 17) that takes raw features, as predict does.")

    @Argument(help: "The checkpoint (.safetensors) written by `strata train`.")
    var checkpoint: String

    @Option(help: "The ONNX file to write (default: beside the checkpoint, NAME.onnx).")
    var output: String?

    func validate() throws { try requireNonEmpty([("the checkpoint", checkpoint), ("--output", output)]) }

    func run() throws {
        do {
            let model = try Model(checkpoint: checkpoint)
            let bytes = try ONNXExport.model(model).serializedBytes() as [UInt8]
            let path = output ?? CompanionFiles.base(checkpoint) + ".onnx"
            try AtomicFile.write(bytes, to: path)
            print("Wrote \(path)")
        } catch {
            try exitForLibraryError(error)
        }
    }
}
