import FoundationEssentials

/// Header fields in the order they were given; names compare case-insensitively.
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var fields: [(name: String, value: String)]

    public init(_ fields: [(name: String, value: String)] = []) {
        self.fields = fields
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.fields = elements.map { (name: $0.0, value: $0.1) }
    }

    /// The first value of the named field.
    public subscript(name: String) -> String? {
        fields.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    public mutating func add(_ name: String, _ value: String) {
        fields.append((name: name, value: value))
    }

    /// Replaces every field of that name with one.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        fields.append((name: name, value: value))
    }

    public mutating func remove(_ name: String) {
        fields.removeAll { $0.name.caseInsensitiveEquals(name) }
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }
}

public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: HTTPHeaders
    public var body: Data
    /// Limit for the whole exchange; nil waits as long as the server takes (the Runtime API's
    /// `next` call, which may wait while the sandbox is frozen).
    public var timeout: Duration?

    public init(
        method: String,
        url: String,
        headers: HTTPHeaders = [:],
        body: Data = Data(),
        timeout: Duration? = .seconds(60)
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: Data

    public init(status: Int, headers: HTTPHeaders = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Sends HTTP requests. The AWS clients and the Lambda runtime depend on this, not on libcurl.
public protocol HTTPClient: Sendable {
    func execute(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// A request that got no HTTP response.
public struct HTTPTransportError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// No connection could be made (name resolution, refused, TLS handshake).
        case connect
        case timeout
        /// The connection broke while the request or response was in flight.
        case connectionLost
        /// A fault that trying again will not mend (bad URL, certificate rejected, ...).
        case other
    }

    public let kind: Kind
    public let message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    /// Whether the same request may succeed if sent again.
    public var isTransient: Bool { kind != .other }

    public var description: String { message }
}

extension String {
    func caseInsensitiveEquals(_ other: String) -> Bool {
        utf8.count == other.utf8.count && lowercased() == other.lowercased()
    }
}
