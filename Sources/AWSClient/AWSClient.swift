import FoundationEssentials
import HTTPTransport
import Logging
import Synchronization

/// Sends signed requests to AWS services and turns their answers into values or typed errors.
///
/// Knows the wire protocols (AWS JSON 1.0/1.1, REST with XML errors), not the services'
/// operations: the per-service clients build on `json` and `rest`. Their private request and
/// response structs name fields exactly as the service does (PascalCase), so the JSON needs no
/// key mapping.
public final class AWSClient: Sendable {
    public let region: String
    public let retryStrategy: RetryStrategy
    private let credentials: AWSCredentials
    private let endpoints: [AWSService: Endpoint]
    private let http: any HTTPClient
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let keyCache = SigningKeyCache()
    private let sentRequests = Atomic<Int>(0)
    private let pacing: [AWSService: RateLimiter]

    public init(
        credentials: AWSCredentials,
        region: String,
        endpointResolver: EndpointResolver,
        http: any HTTPClient,
        retryStrategy: RetryStrategy = RetryStrategy(),
        logger: Logger,
        pacing: [AWSService: RateLimiter] = [:],
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws(AWSConfigurationError) {
        var endpoints: [AWSService: Endpoint] = [:]
        for service in AWSService.all {
            endpoints[service] = try endpointResolver.endpoint(for: service)
        }
        self.credentials = credentials
        self.region = region
        self.endpoints = endpoints
        self.http = http
        self.retryStrategy = retryStrategy
        self.logger = logger
        self.pacing = pacing
        self.now = now
    }

    /// Credentials, region, endpoints and retry settings from the environment, as the AWS SDKs
    /// read them. A missing or malformed one is a configuration error, raised here at start-up.
    /// `pacing` holds a rate limiter for each service whose request rate must be kept down.
    public convenience init(
        environment: [String: String], http: any HTTPClient, logger: Logger, pacing: [AWSService: RateLimiter] = [:]
    ) throws(AWSConfigurationError) {
        let region = try resolveRegion(environment: environment)
        try self.init(
            credentials: AWSCredentials.resolve(environment: environment),
            region: region,
            endpointResolver: EndpointResolver(region: region, environment: environment),
            http: http,
            retryStrategy: RetryStrategy(environment: environment),
            logger: logger,
            pacing: pacing)
    }

    /// HTTP requests sent so far, retries included.
    public var requestsSent: Int { sentRequests.load(ordering: .relaxed) }

    public func endpoint(for service: AWSService) -> Endpoint {
        endpoints[service]!
    }

    /// One operation of an AWS JSON 1.0/1.1 service: the input encoded as the body, the output
    /// decoded from the answer. `pacedBy` paces every attempt of this call, in place of the
    /// service's limiter: for an operation with a limit of its own.
    public func json<Input: Encodable, Output: Decodable>(
        _ service: AWSService, _ operation: String, _ input: Input, as output: Output.Type = Output.self,
        pacedBy limiter: RateLimiter? = nil
    ) async throws -> Output {
        guard case .json(let version, let targetPrefix) = service.wireProtocol else {
            preconditionFailure("\(service) does not speak the AWS JSON protocol")
        }
        let body = try JSONEncoder().encode(input)
        let headers: HTTPHeaders = [
            "Content-Type": "application/x-amz-json-\(version)",
            "X-Amz-Target": "\(targetPrefix).\(operation)",
        ]
        let response = try await send(
            service, operation, method: "POST", path: "/", headers: headers, body: body, limiter: limiter ?? pacing[service])
        return try decode(Output.self, from: response.body, service, operation)
    }

    /// One operation of a REST service with JSON bodies (Security Hub): the input encoded as the
    /// body of a POST to `path`, the output decoded from the answer.
    public func restJSON<Input: Encodable, Output: Decodable>(
        _ service: AWSService, _ operation: String, path: String, _ input: Input, as output: Output.Type = Output.self,
        pacedBy limiter: RateLimiter? = nil
    ) async throws -> Output {
        precondition(service.wireProtocol == .restJSON, "\(service) does not speak REST with JSON")
        let response = try await send(
            service, operation, method: "POST", path: path, headers: ["Content-Type": "application/json"],
            body: try JSONEncoder().encode(input), limiter: limiter ?? pacing[service])
        return try decode(Output.self, from: response.body, service, operation)
    }

    /// One action of an AWS Query service (SNS): the parameters form-encoded, the XML answer's text.
    public func query(_ service: AWSService, _ action: String, _ parameters: [(name: String, value: String)]) async throws -> String {
        guard case .query(let version) = service.wireProtocol else {
            preconditionFailure("\(service) does not speak the AWS Query protocol")
        }
        let form = ([("Action", action), ("Version", version)] + parameters)
            .map { "\(uriEncode($0.0))=\(uriEncode($0.1))" }.joined(separator: "&")
        let response = try await send(
            service, action, method: "POST", path: "/", headers: ["Content-Type": "application/x-www-form-urlencoded; charset=utf-8"],
            body: Data(form.utf8), limiter: pacing[service])
        return String(decoding: response.body, as: UTF8.self)
    }

    private func decode<Output: Decodable>(_ type: Output.Type, from body: Data, _ service: AWSService, _ operation: String) throws -> Output {
        do {
            return try JSONDecoder().decode(Output.self, from: body.isEmpty ? Data("{}".utf8) : body)
        } catch {
            throw AWSResponseDecodingError(service: service.id, operation: operation, underlying: "\(error)")
        }
    }

    /// One REST request (S3). `path` is not percent-encoded; `hostPrefix` makes a
    /// virtual-hosted address (`bucket.` + the endpoint's host).
    public func rest(
        _ service: AWSService, _ operation: String, method: String, hostPrefix: String = "", path: String,
        query: [(name: String, value: String)] = [], headers: HTTPHeaders = [:], body: Data = Data(),
        timeout: Duration = .seconds(120)
    ) async throws -> HTTPResponse {
        try await send(
            service, operation, method: method, hostPrefix: hostPrefix, path: path, query: query, headers: headers,
            body: body, timeout: timeout, limiter: pacing[service])
    }

    private func send(
        _ service: AWSService, _ operation: String, method: String, hostPrefix: String = "", path: String,
        query: [(name: String, value: String)] = [], headers: HTTPHeaders, body: Data,
        timeout: Duration = .seconds(30), limiter: RateLimiter?
    ) async throws -> HTTPResponse {
        let endpoint = endpoint(for: service)
        let fullPath = endpoint.basePath + path
        let isRESTXML = service.wireProtocol == .restXML
        let payloadHash = SigV4Signer.payloadHash(body)
        let queryString = query.isEmpty ? "" : "?" + query.map { "\(uriEncode($0.name))=\(uriEncode($0.value))" }.joined(separator: "&")
        let url = "\(endpoint.scheme)://\(hostPrefix)\(endpoint.authority)\(uriEncode(fullPath, encodeSlash: false))\(queryString)"
        let signer = SigV4Signer(
            credentials: credentials, region: endpoint.signingRegion, signingName: service.signingName, keyCache: keyCache)

        return try await retryStrategy.run(paced: limiter != nil) {
            try await limiter?.waitForTurn()
            var signedHeaders = headers
            signedHeaders.set("Host", hostPrefix + endpoint.authority)
            signer.sign(
                method: method, path: fullPath, query: query, headers: &signedHeaders, payloadHash: payloadHash,
                date: self.now(), normalizePath: !isRESTXML, addContentHashHeader: isRESTXML)
            self.sentRequests.add(1, ordering: .relaxed)
            let response = try await self.http.execute(
                HTTPRequest(method: method, url: url, headers: signedHeaders, body: body, timeout: timeout))
            guard (200..<300).contains(response.status) else {
                let error = AWSServiceError(service: service, operation: operation, response: response, signedWith: self.credentials)
                if RetryKind(error) == .throttling { await limiter?.didThrottle() }
                throw error
            }
            await limiter?.didSucceed()
            return response
        } onRetry: { error, attempt, attempts, delay in
            self.logger.warning("Retrying \(service) \(operation), attempt \(attempt) of \(attempts) in \(delay): \(error)")
        }
    }
}

/// A 2xx answer whose body is not what the operation returns.
public struct AWSResponseDecodingError: Error, CustomStringConvertible {
    public let service: String
    public let operation: String
    public let underlying: String

    public init(service: String, operation: String, underlying: String) {
        self.service = service
        self.operation = operation
        self.underlying = underlying
    }

    public var description: String { "\(service) \(operation) returned a response that does not decode: \(underlying)" }
}

/// The output of an operation whose answer carries nothing the caller needs.
public struct AWSEmptyOutput: Decodable, Sendable {}
