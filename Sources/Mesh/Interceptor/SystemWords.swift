#if canImport(Glibc)
import Glibc
#endif
import MeshShell

/// errno in words for the interceptor's messages (MeshShell's wording).
enum SystemWords {
    static func describe(_ code: Int32) -> String {
        SystemErrorText.describe(errno: code < 0 ? -code : code)
    }
}
