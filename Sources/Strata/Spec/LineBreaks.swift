/// A spec's text as the parser and every line-based check read it: line breaks are "\n" alone. Windows' "\r\n"
/// is one Character in Swift, so a text that kept it would have a single line for every check that splits at
/// "\n" (the guard against aliases in keys among them); a leading byte-order mark is not part of the first key.
public enum LineBreaks {
    public static func normalized(_ text: String) -> String {
        let hasMark = text.unicodeScalars.first == "\u{FEFF}"
        let scalars = hasMark ? text.unicodeScalars.dropFirst() : text.unicodeScalars[...]
        guard scalars.contains("\r") else { return hasMark ? String(scalars) : text }
        var out = String.UnicodeScalarView()
        var previousWasReturn = false
        for scalar in scalars {
            if scalar == "\n" && previousWasReturn {
                previousWasReturn = false
                continue
            }
            previousWasReturn = scalar == "\r"
            out.append(previousWasReturn ? "\n" : scalar)
        }
        return String(out)
    }
}
