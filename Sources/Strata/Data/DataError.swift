/// A problem with a data file, naming the file and the record (CSV line) or byte offset.
public struct DataError: FileError, Sendable {
    public var path: String
    /// "line 12", "byte 16", or nil when the whole file is at fault.
    public var place: String?
    public var message: String
    public var help: String?

    public init(path: String, place: String? = nil, _ message: String, help: String? = nil) {
        self.path = path
        self.place = place
        self.message = message
        self.help = help
    }
}
