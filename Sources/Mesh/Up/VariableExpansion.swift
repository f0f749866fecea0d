/// `$(VAR)` references in a container's command, args and env values, expanded as the kubelet
/// does (Kubernetes' `third_party/forked/golang/expansion`): `$(NAME)` becomes the variable's value
/// when it is defined and stays as written when not; `$$` is a literal `$` (so `$$(NAME)` gives
/// `$(NAME)`); a `$` before anything else, or an unclosed `$(`, stays as written.
public enum VariableExpansion {
    public static func expand(_ input: String, _ lookup: (String) -> String?) -> String {
        let bytes = Array(input.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var cursor = 0
        while cursor < bytes.count {
            guard bytes[cursor] == UInt8(ascii: "$"), cursor + 1 < bytes.count else {
                output.append(bytes[cursor])
                cursor += 1
                continue
            }
            let next = bytes[cursor + 1]
            if next == UInt8(ascii: "$") {
                output.append(next)
                cursor += 2
            } else if next == UInt8(ascii: "("), let close = bytes[(cursor + 2)...].firstIndex(of: UInt8(ascii: ")")) {
                let name = String(decoding: bytes[(cursor + 2)..<close], as: UTF8.self)
                output += Array((lookup(name) ?? "$(\(name))").utf8)
                cursor = close + 1
            } else {
                output += [bytes[cursor], next]
                cursor += 2
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
