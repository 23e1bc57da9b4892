import FoundationEssentials
import HTTPTransport

/// Where one service's requests go, and the region they are signed for.
public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
    public let scheme: String
    public let host: String
    public let port: Int?
    /// The endpoint's own path prefix, without a trailing slash ("" for most).
    public let basePath: String
    public let signingRegion: String
    /// A URL set by configuration (a local emulator, a VPC endpoint), not AWS's standard one.
    public let isCustom: Bool

    /// `host` or `host:port`, as the `Host` header carries it.
    public var authority: String { port.map { "\(host):\($0)" } ?? host }
    public var url: String { "\(scheme)://\(authority)\(basePath)" }
    public var description: String { url }

    /// Parses an `http(s)://host[:port][/path]` URL; nil for anything else.
    init?(url: String, signingRegion: String, isCustom: Bool) {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return nil }
        let scheme = url[..<colon].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let rest = url[url.index(colon, offsetBy: 3)...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        while path.hasSuffix("/") { path.removeLast() }
        let host: Substring
        var port: Int?
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            host = authority[..<colon]
            guard let number = Int(authority[authority.index(after: colon)...]), (1...65535).contains(number) else { return nil }
            port = number
        } else {
            host = authority
        }
        guard !host.isEmpty, !host.contains("@"), !host.contains("?"), !host.contains("#") else { return nil }
        self.scheme = scheme
        self.host = String(host)
        self.port = port
        self.basePath = path
        self.signingRegion = signingRegion
        self.isCustom = isCustom
    }
}

/// Finds each service's endpoint the way the AWS SDKs do:
/// `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, then the partition's standard one.
public struct EndpointResolver: Sendable {
    public let region: String
    private let environment: [String: String]

    public init(region: String, environment: [String: String]) {
        self.region = region
        self.environment = environment
    }

    public func endpoint(for service: AWSService) throws(AWSConfigurationError) -> Endpoint {
        let partition = Partition(region: region)
        let signingRegion = service.isGlobal ? partition.globalRegion : region
        if environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]?.lowercased() != "true" {
            for variable in ["AWS_ENDPOINT_URL_\(service.id)", "AWS_ENDPOINT_URL"] {
                guard let value = environment[variable].nonEmpty else { continue }
                guard let endpoint = Endpoint(url: value, signingRegion: signingRegion, isCustom: true) else {
                    throw AWSConfigurationError("\(variable) is not an http(s) URL: \(value)")
                }
                return endpoint
            }
        }
        let host = "\(service.endpointPrefix).\(signingRegion).\(partition.dnsSuffix)"
        return Endpoint(url: "https://\(host)", signingRegion: signingRegion, isCustom: false)!
    }
}

/// The AWS partitions, told apart by region name.
struct Partition {
    let dnsSuffix: String
    /// Where a global service (Organizations) lives in this partition.
    let globalRegion: String

    init(region: String) {
        switch region {
        case let name where name.hasPrefix("cn-"):
            self.init(dnsSuffix: "amazonaws.com.cn", globalRegion: "cn-northwest-1")
        case let name where name.hasPrefix("us-gov-"):
            self.init(dnsSuffix: "amazonaws.com", globalRegion: "us-gov-west-1")
        case let name where name.hasPrefix("us-isob-"):
            self.init(dnsSuffix: "sc2s.sgov.gov", globalRegion: "us-isob-east-1")
        case let name where name.hasPrefix("us-iso-"):
            self.init(dnsSuffix: "c2s.ic.gov", globalRegion: "us-iso-east-1")
        default:
            self.init(dnsSuffix: "amazonaws.com", globalRegion: "us-east-1")
        }
    }

    private init(dnsSuffix: String, globalRegion: String) {
        self.dnsSuffix = dnsSuffix
        self.globalRegion = globalRegion
    }
}

/// `AWS_REGION`, then `AWS_DEFAULT_REGION`.
public func resolveRegion(environment: [String: String]) throws(AWSConfigurationError) -> String {
    guard let region = environment["AWS_REGION"].nonEmpty ?? environment["AWS_DEFAULT_REGION"].nonEmpty else {
        throw AWSConfigurationError("No AWS region: set AWS_REGION or AWS_DEFAULT_REGION")
    }
    let allowed = region.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    guard allowed, !region.hasPrefix("-") else {
        throw AWSConfigurationError("AWS_REGION is not a region name: \(region)")
    }
    return region
}

/// The CA certificates TLS peers are verified against: `AWS_CA_BUNDLE` when set, as the AWS SDKs
/// and CLI read it (a proxy that inspects TLS, a private endpoint), else the system's bundle.
public func resolveCABundle(environment: [String: String]) throws(AWSConfigurationError) -> String? {
    guard let path = environment["AWS_CA_BUNDLE"].nonEmpty else {
        return CurlHTTPClient.Configuration.systemCABundle
    }
    guard FileManager.default.isReadableFile(atPath: path) else {
        throw AWSConfigurationError("AWS_CA_BUNDLE names \(path), which cannot be read")
    }
    return path
}
