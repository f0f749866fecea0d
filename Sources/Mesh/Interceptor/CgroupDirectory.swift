#if canImport(Glibc)
import Glibc
#endif

/// An open cgroup v2 directory and its id (the directory's inode number, what
/// bpf_get_current_cgroup_id() returns for tasks in it).
struct CgroupDirectory {
    let path: String
    let descriptor: Int32
    let id: UInt64

    init(_ path: String) throws(InterceptorError) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .system("cannot open cgroup \(path)", errno: errno) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw .system("cannot read cgroup \(path)", errno: code)
        }
        self.path = path
        self.descriptor = descriptor
        self.id = UInt64(info.st_ino)
    }

    func close() { _ = Glibc.close(descriptor) }
}
