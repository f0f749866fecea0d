// redirect-probe: the two ends of a traffic capture check, run inside a network namespace.
//
//   redirect-probe listen PORT [--accept-timeout-ms N] [--until-stdin-closes 1]
//       Listens on 0.0.0.0:PORT, prints "LISTENING PORT", accepts at most one connection and
//       prints "ORIGINAL_DST IP:PORT" (the SO_ORIGINAL_DST of the accepted socket),
//       "NOT_REDIRECTED" (accepted, but no original destination), or "NO_CONNECTION" when none
//       arrived in time. With --until-stdin-closes 1 it also stops waiting when its standard
//       input reaches end of file (after one last look at the accept queue), so a test can end
//       the wait as soon as its client is done.
//   redirect-probe connect IP PORT [--uid N] [--timeout-ms N]
//       Optionally drops to uid/gid N, connects, prints "CONNECTED" (exit 0) or
//       "CONNECT_FAILED reason" (exit 1).
// Usage errors and system call failures print "ERROR ..." and exit 2.

#if canImport(Glibc)
import Glibc
import MeshRedirect

func emit(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
        if written <= 0 { return }
        offset += written
    }
}

func fail(_ message: String) -> Never {
    emit("ERROR \(message)")
    exit(2)
}

func errorText() -> String { String(cString: strerror(errno)) }

func ipv4Address(_ text: String, port: Int) -> sockaddr_in? {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(port).bigEndian
    guard inet_pton(AF_INET, text, &address.sin_addr) == 1 else { return nil }
    return address
}

func withSocketAddress<R>(_ address: sockaddr_in, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    var copy = address
    return withUnsafePointer(to: &copy) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

/// `--name VALUE` options after the positional arguments.
func options(_ arguments: ArraySlice<String>, allowed: Set<String>) -> [String: Int] {
    var result: [String: Int] = [:]
    var index = arguments.startIndex
    while index < arguments.endIndex {
        let name = arguments[index]
        guard allowed.contains(name), index + 1 < arguments.endIndex, let value = Int(arguments[index + 1]), value >= 0 else {
            fail("unexpected argument \(name); options: \(allowed.sorted().joined(separator: ", ")) with a number")
        }
        result[name] = value
        index += 2
    }
    return result
}

func port(_ text: String) -> Int {
    guard let value = Int(text), (1...65535).contains(value) else { fail("bad port \(text)") }
    return value
}

func listen(port: Int, acceptTimeoutMilliseconds: Int, untilStdinCloses: Bool) -> Never {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { fail("socket: \(errorText())") }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    guard let address = ipv4Address("0.0.0.0", port: port) else { fail("bad listen address") }
    guard withSocketAddress(address, { bind(fd, $0, $1) }) == 0 else { fail("bind \(port): \(errorText())") }
    guard Glibc.listen(fd, 8) == 0 else { fail("listen: \(errorText())") }
    emit("LISTENING \(port)")

    var waiters = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: 0, events: Int16(POLLIN), revents: 0)]
    var ready = poll(&waiters, untilStdinCloses ? 2 : 1, Int32(clamping: acceptTimeoutMilliseconds))
    if ready > 0, waiters[0].revents == 0 {
        // Standard input closed (or sent something): one last look at the accept queue.
        waiters[0].revents = 0
        ready = poll(&waiters, 1, 0)
    }
    guard ready > 0 else {
        emit(ready == 0 ? "NO_CONNECTION" : "ERROR poll: \(errorText())")
        exit(ready == 0 ? 0 : 2)
    }
    let connection = accept(fd, nil, nil)
    guard connection >= 0 else { fail("accept: \(errorText())") }
    if let destination = originalDestination(of: connection) {
        emit("ORIGINAL_DST \(destination.ip):\(destination.port)")
    } else {
        emit("NOT_REDIRECTED")
    }
    close(connection)
    close(fd)
    exit(0)
}

func connect(ip: String, port: Int, uid: Int?, timeoutMilliseconds: Int) -> Never {
    if let uid {
        // The kernel's owner match reads the socket's uid, fixed when the socket is created.
        guard setgroups(0, nil) == 0, setgid(gid_t(uid)) == 0, setuid(uid_t(uid)) == 0 else {
            fail("cannot switch to uid \(uid): \(errorText())")
        }
    }
    guard let address = ipv4Address(ip, port: port) else { fail("bad IPv4 address \(ip)") }
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { fail("socket: \(errorText())") }
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    if withSocketAddress(address, { Glibc.connect(fd, $0, $1) }) != 0 {
        guard errno == EINPROGRESS else {
            emit("CONNECT_FAILED \(errorText())")
            exit(1)
        }
        var waiter = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&waiter, 1, Int32(clamping: timeoutMilliseconds))
        if ready == 0 {
            emit("CONNECT_FAILED timed out after \(timeoutMilliseconds) ms")
            exit(1)
        }
        var socketError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &length)
        if ready < 0 || socketError != 0 {
            emit("CONNECT_FAILED \(String(cString: strerror(ready < 0 ? errno : socketError)))")
            exit(1)
        }
    }
    emit("CONNECTED")
    close(fd)
    exit(0)
}

let arguments = CommandLine.arguments
switch arguments.dropFirst().first {
case "listen" where arguments.count >= 3:
    let settings = options(arguments.dropFirst(3), allowed: ["--accept-timeout-ms", "--until-stdin-closes"])
    listen(
        port: port(arguments[2]),
        acceptTimeoutMilliseconds: settings["--accept-timeout-ms"] ?? 5000,
        untilStdinCloses: settings["--until-stdin-closes", default: 0] != 0
    )
case "connect" where arguments.count >= 4:
    let settings = options(arguments.dropFirst(4), allowed: ["--uid", "--timeout-ms"])
    connect(ip: arguments[2], port: port(arguments[3]), uid: settings["--uid"], timeoutMilliseconds: settings["--timeout-ms"] ?? 2000)
default:
    fail("usage: redirect-probe listen PORT [--accept-timeout-ms N] [--until-stdin-closes 1] | connect IP PORT [--uid N] [--timeout-ms N]")
}
#else
print("ERROR redirect-probe needs Linux (netfilter)")
#endif
