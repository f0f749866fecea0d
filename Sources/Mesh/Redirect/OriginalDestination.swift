#if canImport(Glibc)
import Glibc
#endif

/// Netfilter's `SO_ORIGINAL_DST` (linux/netfilter_ipv4.h): the destination a connection had
/// before a nat REDIRECT or DNAT rewrote it.
public let soOriginalDestination: Int32 = 80

/// The address an accepted, redirected IPv4 TCP connection was originally sent to, read from the
/// kernel's connection tracking. Nil when the socket was not redirected (the kernel answers
/// ENOENT), is not IPv4, or the platform has no netfilter.
public func originalDestination(of fd: Int32) -> (ip: String, port: Int)? {
    #if canImport(Glibc)
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let status = withUnsafeMutablePointer(to: &address) { pointer in
        getsockopt(fd, Int32(IPPROTO_IP), soOriginalDestination, pointer, &length)
    }
    guard status == 0 else { return nil }
    return originalDestination(from: address)
    #else
    return nil
    #endif
}

#if canImport(Glibc)
/// The address `getsockopt(SOL_IP, SO_ORIGINAL_DST)` returned (for callers that make the call
/// themselves, such as a NIO channel's socket option provider). Nil unless IPv4.
public func originalDestination(from address: sockaddr_in) -> (ip: String, port: Int)? {
    guard address.sin_family == sa_family_t(AF_INET) else { return nil }
    // s_addr and sin_port are in network byte order.
    let host = UInt32(bigEndian: address.sin_addr.s_addr)
    let ip = "\(host >> 24).\(host >> 16 & 0xff).\(host >> 8 & 0xff).\(host & 0xff)"
    return (ip, Int(UInt16(bigEndian: address.sin_port)))
}
#endif
