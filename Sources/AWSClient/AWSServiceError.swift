import FoundationEssentials
import HTTPTransport

/// An error answer from an AWS service, with what an engineer on call needs to act on it.
public struct AWSServiceError: Error, CustomStringConvertible, Sendable {
    public let service: String
    public let operation: String
    /// The error code without its namespace (`ResourceNotFoundException`, `AccessDenied`).
    public let code: String
    public let message: String
    public let requestId: String?
    public let httpStatus: Int
    /// How long the service asked to be left alone (`Retry-After`, in seconds), when it did.
    public let retryAfter: Duration?

    public init(
        service: String, operation: String, code: String, message: String, requestId: String?, httpStatus: Int, retryAfter: Duration? = nil
    ) {
        self.service = service
        self.operation = operation
        self.code = code
        self.message = message
        self.requestId = requestId
        self.httpStatus = httpStatus
        self.retryAfter = retryAfter
    }

    public var description: String {
        let request = requestId.map { ", request id \($0)" } ?? ""
        return "\(service) \(operation) failed: \(code): \(message) (HTTP \(httpStatus)\(request))"
    }

    /// Reads the error out of a non-2xx response, in the service's protocol, with no word of the
    /// credentials that signed the request.
    init(service: AWSService, operation: String, response: HTTPResponse, signedWith credentials: AWSCredentials) {
        let requestId = response.headers["x-amzn-RequestId"] ?? response.headers["x-amz-request-id"]
        var code: String?
        var message: String?
        let text = String(decoding: response.body, as: UTF8.self)
        if service.answersInJSON, let body = try? JSONDecoder().decode(JSONErrorBody.self, from: response.body) {
            code = response.headers["X-Amzn-ErrorType"] ?? body.type ?? body.code ?? body.Code
            message = body.message ?? body.Message
        } else {
            // S3's and the Query services' errors are XML; so are some answers to JSON services from in front of them
            // (authentication failures of some endpoints, proxies).
            code = response.headers["X-Amzn-ErrorType"] ?? xmlElement("Code", in: text)
            message = xmlElement("Message", in: text)
        }
        let fallbackMessage = response.body.isEmpty
            ? "no details in the response" : String(decoding: response.body.prefix(300), as: UTF8.self)
        self.init(
            service: service.id, operation: operation,
            code: code.map(Self.sanitizedCode) ?? "HTTP\(response.status)",
            message: credentials.redacting(message ?? fallbackMessage),
            requestId: requestId, httpStatus: response.status,
            retryAfter: response.headers["Retry-After"].flatMap { Int($0.trimmingWhitespace) }.map { .seconds(max(0, $0)) })
    }

    /// `aws.protocoltests#FooError:http://internal...` → `FooError`.
    static func sanitizedCode(_ raw: String) -> String {
        var code = Substring(raw)
        if let colon = code.firstIndex(of: ":") { code = code[..<colon] }
        if let hash = code.lastIndex(of: "#") { code = code[code.index(after: hash)...] }
        return code.trimmingWhitespace
    }

    private struct JSONErrorBody: Decodable {
        let type: String?
        let code: String?
        /// REST services with JSON errors (Security Hub) capitalise both.
        let Code: String?
        let message: String?
        let Message: String?

        enum CodingKeys: String, CodingKey {
            case type = "__type"
            case code, Code, message, Message
        }
    }
}

/// The text of the first `<name>…</name>` element, entities decoded. S3's error bodies are
/// flat, so this is all the XML reading the client needs.
func xmlElement(_ name: String, in xml: String) -> String? {
    guard let open = xml.firstRange(of: "<\(name)>"),
        let close = xml[open.upperBound...].firstRange(of: "</\(name)>")
    else { return nil }
    return String(xml[open.upperBound..<close.lowerBound])
        .replacing("&lt;", with: "<").replacing("&gt;", with: ">").replacing("&quot;", with: "\"")
        .replacing("&apos;", with: "'").replacing("&amp;", with: "&")
}

extension AWSService {
    var answersInJSON: Bool {
        switch wireProtocol {
        case .json, .restJSON: true
        case .restXML, .query: false
        }
    }
}
