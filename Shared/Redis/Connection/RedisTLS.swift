import NIOCore
import NIOSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// TLS for `rediss://` connections: the trust roots and the optional client certificate, loaded once into a
/// context every connection shares, and the name Redis's certificate must be valid for.
///
/// Redis's certificate is always verified, against the CA file or else the system's trust roots, and so is its
/// name: the server name when given, else the URL's host (an IP address is matched against the certificate's IP
/// addresses). There is deliberately no way to turn verification off.
public struct RedisTLS: Sendable {
    /// How messages name each option, so a refusal points at what the operator sets (an environment variable,
    /// a flag).
    public struct OptionNames: Sendable, Hashable {
        public var caFile: String
        public var certificateFile: String
        public var keyFile: String
        public var serverName: String

        public init(
            caFile: String = "the CA file",
            certificateFile: String = "the client certificate file",
            keyFile: String = "the client key file",
            serverName: String = "the TLS server name"
        ) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.serverName = serverName
        }
    }

    /// An option that cannot be used (an unreadable file, no PEM in it, a certificate without its key); `option`
    /// says which, `description` what is wrong with it, without repeating its name.
    public struct OptionError: Error, Sendable, Hashable, CustomStringConvertible {
        /// One of `RedisTLS`'s options.
        public enum Option: Sendable, Hashable {
            case caFile, certificateFile, keyFile, serverName
        }

        public let option: Option
        public let description: String

        public init(_ option: Option, _ description: String) {
            self.option = option
            self.description = description
        }
    }

    /// Files larger than this are not certificates or keys; refusing them keeps a wrong path from being read whole.
    static let fileSizeLimit = 1 << 20

    let context: NIOSSLContext
    /// The name Redis's certificate must be valid for; nil: the URL's host.
    public let serverName: String?
    /// Whether the trust roots are a CA file rather than the system's.
    public let hasCAFile: Bool
    /// Whether the client presents a certificate (mutual TLS).
    public let hasClientCertificate: Bool
    public let names: OptionNames

    /// Loads the files and builds the TLS context: blocking file I/O, so call it at start, not on an event loop.
    ///
    /// `caFile` holds the PEM certificate(s) Redis's certificate must chain to (nil: the system's trust roots);
    /// `certificateFile` and `keyFile`, both or neither, the PEM client certificate (chain) and its unencrypted
    /// private key; `serverName` a DNS name Redis's certificate must carry instead of the URL's host.
    public init(
        caFile: String? = nil,
        certificateFile: String? = nil,
        keyFile: String? = nil,
        serverName: String? = nil,
        names: OptionNames = OptionNames()
    ) throws(OptionError) {
        switch (certificateFile, keyFile) {
        case (.some, nil):
            throw OptionError(.keyFile, "is not set, but \(names.certificateFile) is; a client certificate needs its private key")
        case (nil, .some):
            throw OptionError(.certificateFile, "is not set, but \(names.keyFile) is; a private key needs its client certificate")
        default:
            break
        }
        if let serverName {
            guard !serverName.isEmpty, serverName.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw OptionError(.serverName, "'\(serverName)' is not a DNS name")
            }
            guard !Self.isIPAddress(serverName) else {
                throw OptionError(
                    .serverName,
                    "'\(serverName)' is an IP address; give a DNS name (an IP address in the URL is checked against the certificate's IP addresses)"
                )
            }
        }

        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        if let caFile {
            let authorities = try Self.certificates(in: caFile, option: .caFile)
            configuration.trustRoots = .certificates(authorities)
        } else {
            configuration.trustRoots = .default
        }
        if let certificateFile, let keyFile {
            let chain = try Self.certificates(in: certificateFile, option: .certificateFile)
            configuration.certificateChain = chain.map { .certificate($0) }
            let bytes = try Self.contents(of: keyFile, option: .keyFile)
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: bytes, format: .pem))
            } catch {
                throw OptionError(.keyFile, "\(keyFile) holds no unencrypted PEM private key (an encrypted key is not supported)")
            }
        }
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            // Each file parsed on its own, so what is left is how they go together.
            switch (error as? NIOSSLError, certificateFile, keyFile) {
            case (.failedToLoadPrivateKey, let certificateFile?, let keyFile?):
                throw OptionError(.keyFile, "\(keyFile) is not the private key of the certificate in \(certificateFile)")
            case (.failedToLoadCertificate, let certificateFile?, _):
                throw OptionError(
                    .certificateFile,
                    "\(certificateFile) cannot serve as a client certificate (its first certificate must be the client's own, with a key usage that allows digitalSignature)"
                )
            default:
                throw OptionError(caFile == nil ? .caFile : .certificateFile, "cannot set up TLS: \(error)")
            }
        }
        self.serverName = serverName
        self.hasCAFile = caFile != nil
        self.hasClientCertificate = certificateFile != nil
        self.names = names
    }

    /// The name to send as SNI and to check the certificate's DNS names against; nil when the certificate's IP
    /// addresses are checked against the address connected to instead.
    func hostname(for url: RedisURL) -> String? {
        if let serverName { return serverName }
        return Self.isIPAddress(url.host) ? nil : url.host
    }

    static func isIPAddress(_ text: String) -> Bool {
        (try? SocketAddress(ipAddress: text, port: 0)) != nil
    }

    // MARK: Files

    private static func certificates(in path: String, option: OptionError.Option) throws(OptionError) -> [NIOSSLCertificate] {
        let bytes = try contents(of: path, option: option)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw OptionError(option, "\(path) holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        }
        guard !certificates.isEmpty else { throw OptionError(option, "\(path) holds no PEM certificate (-----BEGIN CERTIFICATE-----)") }
        return certificates
    }

    /// The file's bytes, read with plain system calls: the module does without Foundation.
    private static func contents(of path: String, option: OptionError.Option) throws(OptionError) -> [UInt8] {
        func failure(_ reason: String) -> OptionError { OptionError(option, "cannot read \(path): \(reason)") }
        guard !path.isEmpty else { throw OptionError(option, "is empty; give the path of a PEM file") }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure(String(cString: strerror(errno))) }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw failure("not a regular file") }
        guard status.st_size <= fileSizeLimit else { throw failure("larger than \(fileSizeLimit) bytes, not a PEM file") }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(String(cString: strerror(errno)))
            }
            if count == 0 { break }
            bytes += chunk[..<count]
            guard bytes.count <= fileSizeLimit else { throw failure("larger than \(fileSizeLimit) bytes, not a PEM file") }
        }
        return bytes
    }
}
