import Foundation
import MeshManifest
import MeshModel

/// A kubeconfig file (`~/.kube/config`) resolved to one context's connection.
///
/// Supported: `clusters[].cluster.{server, certificate-authority, certificate-authority-data,
/// insecure-skip-tls-verify}`, `users[].user.{token, tokenFile, client-certificate,
/// client-certificate-data, client-key, client-key-data}`, `contexts[].context.{cluster, user,
/// namespace}` and `current-context`. Relative paths are relative to the kubeconfig's directory.
/// `exec`, `auth-provider` and basic auth are refused by name. Every problem is one line:
/// `file:line:column: field.path: what was expected`.
public enum Kubeconfig {
    /// Reads `path` and resolves `context` (nil: `current-context`).
    public static func load(path: String, context: String? = nil) throws(KubeError) -> KubeConnection {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KubeError(.configuration, request: path, message: "cannot read the kubeconfig file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw KubeError(.configuration, request: path, message: "the kubeconfig is not UTF-8 text")
        }
        do {
            return try parse(text, file: path, context: context)
        } catch {
            throw KubeError(.configuration, request: "kubeconfig", message: "\(error)")
        }
    }

    /// Resolves `context` (nil: `current-context`) of a kubeconfig text; `file` names it in errors
    /// and anchors relative paths.
    public static func parse(_ text: String, file: String, context: String? = nil) throws(ManifestError) -> KubeConnection {
        let document = try YAMLReader.document(text: text, file: file)
        guard document.isMapping else {
            throw document.error("expected a kubeconfig (a mapping with clusters, users, contexts), found \(document.foundDescription)")
        }
        if let kind = try document.optional("kind"), try kind.string() != "Config" {
            throw kind.error("expected kind Config, found \(YAMLReader.quotedText(try kind.string()))")
        }
        let contextName: String
        if let context {
            contextName = context
        } else {
            guard let current = try document.optional("current-context"), !(try current.string()).isEmpty else {
                throw document.error("no current-context is set; give --context NAME")
            }
            contextName = try current.string()
        }
        let contextNode = try named(document, list: "contexts", name: contextName, what: "context").required("context")
        let clusterName = try contextNode.string("cluster")
        let userName = try contextNode.optionalString("user")
        let cluster = try named(document, list: "clusters", name: clusterName, what: "cluster").required("cluster")
        let base = (file as NSString).deletingLastPathComponent
        let server = try serverURL(cluster)
        var credentials = KubeCredentials.none
        if let userName {
            credentials = try userCredentials(try named(document, list: "users", name: userName, what: "user").required("user"), base: base)
        }
        return KubeConnection(server: server, trust: try trust(cluster, base: base), credentials: credentials,
                              namespace: try contextNode.optionalString("namespace"), origin: "kubeconfig \(file) context \(contextName)")
    }

    /// The entry of `list` whose `name` is `name`.
    private static func named(_ document: YAMLReader, list: String, name: String, what: String) throws(ManifestError) -> YAMLReader {
        let entries = try document.optional(list)?.elements() ?? []
        for entry in entries where try entry.optionalString("name") == name {
            return entry
        }
        var known: [String] = []
        for entry in entries { if let entryName = try entry.optionalString("name") { known.append(entryName) } }
        let node = try document.optional(list) ?? document
        throw node.error("no \(what) named \(YAMLReader.quotedText(name)); \(known.isEmpty ? "none defined" : "defined: " + known.joined(separator: ", "))")
    }

    private static func serverURL(_ cluster: YAMLReader) throws(ManifestError) -> String {
        let node = try cluster.required("server")
        let server = try node.string()
        guard let url = URL(string: server), let scheme = url.scheme, scheme == "https" || scheme == "http", url.host != nil else {
            throw node.error("expected an https:// URL of the API server, found \(YAMLReader.quotedText(server))")
        }
        return server
    }

    private static func trust(_ cluster: YAMLReader, base: String) throws(ManifestError) -> KubeConnection.Trust {
        if let insecure = try cluster.optional("insecure-skip-tls-verify"), try insecure.bool() {
            return .insecureSkipVerify
        }
        if let pem = try pemBytes(cluster, data: "certificate-authority-data", file: "certificate-authority", base: base) {
            return .certificateAuthority(pem: pem)
        }
        return .systemRoots
    }

    private static func userCredentials(_ user: YAMLReader, base: String) throws(ManifestError) -> KubeCredentials {
        for unsupported in ["exec", "auth-provider", "username", "password"] {
            if let node = try user.optional(unsupported) {
                throw node.error("\(unsupported) credentials are not supported; use a token, tokenFile or a client certificate and key")
            }
        }
        if let token = try user.optional("token") {
            let value = try token.string()
            if value.isEmpty { throw token.error("the token is empty") }
            return .bearerToken(value)
        }
        if let tokenFile = try user.optional("tokenFile") {
            let path = resolve(try tokenFile.string(), base: base)
            guard FileManager.default.isReadableFile(atPath: path) else { throw tokenFile.error("cannot read the token file \(path)") }
            return .bearerTokenFile(path)
        }
        let certificate = try pemBytes(user, data: "client-certificate-data", file: "client-certificate", base: base)
        let key = try pemBytes(user, data: "client-key-data", file: "client-key", base: base)
        switch (certificate, key) {
        case (nil, nil): return .none
        case (let certificate?, let key?): return .clientCertificate(certificatePEM: certificate, keyPEM: key)
        case (.some, nil): throw user.error("a client certificate needs client-key or client-key-data")
        case (nil, .some): throw user.error("a client key needs client-certificate or client-certificate-data")
        }
    }

    /// PEM bytes from `<data>` (base64 of the PEM) or the file `<file>` names; nil when neither is set.
    private static func pemBytes(_ node: YAMLReader, data: String, file: String, base: String) throws(ManifestError) -> [UInt8]? {
        if let dataNode = try node.optional(data) {
            let text = try dataNode.string()
            guard let decoded = Data(base64Encoded: text.filter { !$0.isWhitespace }), !decoded.isEmpty else {
                throw dataNode.error("expected the base64 of a PEM file")
            }
            guard String(decoding: decoded, as: UTF8.self).contains("-----BEGIN ") else {
                throw dataNode.error("the base64 decodes to something that is not PEM (no -----BEGIN line)")
            }
            return Array(decoded)
        }
        guard let fileNode = try node.optional(file) else { return nil }
        let path = resolve(try fileNode.string(), base: base)
        guard let contents = FileManager.default.contents(atPath: path), !contents.isEmpty else {
            throw fileNode.error("cannot read \(path)")
        }
        guard String(decoding: contents, as: UTF8.self).contains("-----BEGIN ") else {
            throw fileNode.error("\(path) is not a PEM file (no -----BEGIN line)")
        }
        return Array(contents)
    }

    private static func resolve(_ path: String, base: String) -> String {
        path.hasPrefix("/") || base.isEmpty ? path : (base as NSString).appendingPathComponent(path)
    }
}

extension YAMLReader {
    /// `"text"` with JSON escaping, for messages.
    static func quotedText(_ text: String) -> String {
        JSONValue.string(text).rendered()
    }
}
