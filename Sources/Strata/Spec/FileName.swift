/// A model's or a sweep's name becomes a file or folder name (`runs/NAME.safetensors`, `runs/NAME/`), so it must
/// name one file in its folder: not a path that leads elsewhere.
public enum FileName {
    /// The same rule as a JSON Schema pattern (ECMA-262): not empty, `.` or `..`, no `/` or control character.
    public static let pattern = #"^(?!\.\.?$)[^/\u0000-\u001F]+$"#

    /// Why `name` cannot be one file's name, or nil when it can.
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name == "." || name == ".." { return "is a folder's name" }
        if name.contains("/") { return "holds a '/', which would make it a path" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 }) { return "holds a control character" }
        return nil
    }

    /// `name` made one file's name: a '/' or a control character becomes '_'; `fallback` when that is not enough
    /// ('.', '..', empty).
    public static func made(from name: String, fallback: String) -> String {
        let scalars = name.unicodeScalars.map { $0 == "/" || $0.value < 0x20 ? "_" : $0 }
        let cleaned = String(String.UnicodeScalarView(scalars))
        return problem(cleaned) == nil ? cleaned : fallback
    }
}
