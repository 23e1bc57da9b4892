import FoundationEssentials
import HTTPTransport

/// The Lambda Runtime API, version 2018-06-01.
struct RuntimeAPIClient: Sendable {
    struct Invocation: Sendable {
        let requestId: String
        let deadlineMilliseconds: Int64
        let invokedFunctionArn: String
        let traceId: String?
        let clientContext: String?
        let cognitoIdentity: String?
        let event: Data
    }

    enum ResponseOutcome {
        case accepted
        case tooLarge
        case rejected(status: Int, body: String)
    }

    let http: any HTTPClient
    let baseURL: String

    init(address: String, http: any HTTPClient) {
        self.http = http
        self.baseURL = "http://\(address)/2018-06-01/runtime"
    }

    /// Waits for the next event. No timeout: Lambda freezes the sandbox while there is none.
    func next() async throws(RuntimeAPIFailure) -> Invocation {
        let response = try await send(HTTPRequest(method: "GET", url: "\(baseURL)/invocation/next", timeout: nil))
        guard response.status == 200 else {
            throw RuntimeAPIFailure("GET next answered HTTP \(response.status): \(response.bodyText)")
        }
        guard let requestId = response.headers["Lambda-Runtime-Aws-Request-Id"], !requestId.isEmpty else {
            throw RuntimeAPIFailure("GET next answered without a Lambda-Runtime-Aws-Request-Id")
        }
        return Invocation(
            requestId: requestId,
            deadlineMilliseconds: response.headers["Lambda-Runtime-Deadline-Ms"].flatMap { Int64($0) } ?? 0,
            invokedFunctionArn: response.headers["Lambda-Runtime-Invoked-Function-Arn"] ?? "",
            traceId: response.headers["Lambda-Runtime-Trace-Id"],
            clientContext: response.headers["Lambda-Runtime-Client-Context"],
            cognitoIdentity: response.headers["Lambda-Runtime-Cognito-Identity"],
            event: response.body)
    }

    func sendResponse(requestId: String, body: Data) async throws(RuntimeAPIFailure) -> ResponseOutcome {
        let request = HTTPRequest(
            method: "POST", url: "\(baseURL)/invocation/\(requestId)/response",
            headers: ["Content-Type": "application/json"], body: body)
        let response = try await send(request)
        switch response.status {
        case 200..<300: return .accepted
        case 413: return .tooLarge
        default: return .rejected(status: response.status, body: response.bodyText)
        }
    }

    func sendError(requestId: String, _ error: ErrorReport) async throws(RuntimeAPIFailure) -> ResponseOutcome {
        try await post(error, to: "\(baseURL)/invocation/\(requestId)/error")
    }

    func sendInitError(_ error: ErrorReport) async throws(RuntimeAPIFailure) -> ResponseOutcome {
        try await post(error, to: "\(baseURL)/init/error")
    }

    private func post(_ error: ErrorReport, to url: String) async throws(RuntimeAPIFailure) -> ResponseOutcome {
        let request = HTTPRequest(
            method: "POST", url: url,
            headers: [
                "Content-Type": "application/vnd.aws.lambda.error+json",
                "Lambda-Runtime-Function-Error-Type": error.errorType,
            ],
            body: error.json)
        let response = try await send(request)
        return (200..<300).contains(response.status)
            ? .accepted : .rejected(status: response.status, body: response.bodyText)
    }

    /// A 5xx or a lost connection means the Runtime API is gone: the process must end.
    private func send(_ request: HTTPRequest) async throws(RuntimeAPIFailure) -> HTTPResponse {
        let response: HTTPResponse
        do {
            response = try await http.execute(request)
        } catch {
            throw RuntimeAPIFailure("\(request.method) \(request.url) failed: \(error)")
        }
        if response.status >= 500 {
            throw RuntimeAPIFailure("\(request.method) \(request.url) answered HTTP \(response.status): \(response.bodyText)")
        }
        return response
    }
}

/// The Runtime API can no longer be reached; Lambda expects the process to exit.
public struct RuntimeAPIFailure: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The body of `/error` and `/init/error`.
struct ErrorReport: Error {
    let errorType: String
    let errorMessage: String

    var json: Data {
        Data("{\"errorMessage\":\(jsonString(errorMessage)),\"errorType\":\(jsonString(errorType)),\"stackTrace\":[]}".utf8)
    }
}

extension HTTPResponse {
    var bodyText: String { String(decoding: body.prefix(1000), as: UTF8.self) }
}
