import Testing
@testable import StrataEngine
