import FoundationEssentials
import HTTPTransport
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The Runtime API loop: fetch an event, run the handler, post its answer, repeat.
///
/// A handler error or an event that does not decode is reported on `/error` and the loop goes
/// on; only the Runtime API itself failing (a 5xx, a lost connection) ends it.
public struct LambdaRuntime: Sendable {
    private let api: RuntimeAPIClient
    private let environment: [String: String]
    private let logger: Logger

    public init(environment: [String: String], httpClient: any HTTPClient, logger: Logger) throws(RuntimeAPIFailure) {
        guard let address = environment["AWS_LAMBDA_RUNTIME_API"], !address.isEmpty else {
            throw RuntimeAPIFailure("AWS_LAMBDA_RUNTIME_API is not set: this program runs as an AWS Lambda function")
        }
        self.api = RuntimeAPIClient(address: address, http: httpClient)
        self.environment = environment
        self.logger = logger
    }

    /// Runs the init phase, then the loop until the Runtime API goes away.
    public func run<Handler: LambdaHandler>(
        _ makeHandler: (LambdaInitContext) async throws -> Handler
    ) async throws(LambdaRuntimeExit) -> Never {
        let handler: Handler
        do {
            handler = try await makeHandler(LambdaInitContext(environment: environment, logger: logger))
        } catch {
            let report = ErrorReport(errorType: errorType(of: error), errorMessage: String(describing: error))
            logger.critical("Init failed: \(report.errorMessage)")
            _ = try? await api.sendInitError(report)
            throw .initFailed(report.errorMessage)
        }
        do {
            while true {
                let invocation = try await api.next()
                try await invoke(handler, with: invocation)
            }
        } catch {
            logger.critical("The Runtime API failed, exiting: \(error)")
            throw .runtimeAPIFailed(error.description)
        }
    }

    private func invoke<Handler: LambdaHandler>(
        _ handler: Handler, with invocation: RuntimeAPIClient.Invocation
    ) async throws(RuntimeAPIFailure) {
        setTraceEnvironment(invocation.traceId)
        let context = LambdaContext(
            requestId: invocation.requestId,
            deadlineMilliseconds: invocation.deadlineMilliseconds,
            invokedFunctionArn: invocation.invokedFunctionArn,
            traceId: invocation.traceId,
            clientContext: invocation.clientContext,
            cognitoIdentity: invocation.cognitoIdentity,
            logger: logger)
        // Task-local values cannot carry typed throws through, so the failure comes out as a value.
        let failure: RuntimeAPIFailure? = await LambdaLogHandler.$requestId.withValue(invocation.requestId) { () async -> RuntimeAPIFailure? in
            do throws(RuntimeAPIFailure) {
                switch await Self.outcome(of: handler, for: invocation.event, context: context) {
                case .success(let body):
                    try await deliver(body, for: invocation.requestId)
                case .failure(let report):
                    logger.error("Invocation failed: \(report.errorType): \(report.errorMessage)")
                    try await reportError(report, for: invocation.requestId)
                }
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    private static func outcome<Handler: LambdaHandler>(
        of handler: Handler, for eventData: Data, context: LambdaContext
    ) async -> Result<Data, ErrorReport> {
        let event: Handler.Event
        do {
            event = try JSONDecoder().decode(Handler.Event.self, from: eventData)
        } catch {
            return .failure(ErrorReport(errorType: "Runtime.InvalidEvent", errorMessage: describeDecodingFailure(error, of: Handler.Event.self)))
        }
        let output: Handler.Output
        do {
            output = try await handler.handle(event, context: context)
        } catch {
            return .failure(ErrorReport(errorType: errorType(of: error), errorMessage: String(describing: error)))
        }
        do {
            return .success(try JSONEncoder().encode(output))
        } catch {
            return .failure(ErrorReport(errorType: "Runtime.InvalidResponse", errorMessage: "The result could not be encoded as JSON: \(error)"))
        }
    }

    private func deliver(_ body: Data, for requestId: String) async throws(RuntimeAPIFailure) {
        switch try await api.sendResponse(requestId: requestId, body: body) {
        case .accepted:
            return
        case .tooLarge:
            let message = "The response is \(body.count) bytes, over Lambda's 6 MB limit for a synchronous response"
            try await reportError(ErrorReport(errorType: "Runtime.ResponseTooLarge", errorMessage: message), for: requestId)
        case .rejected(let status, let body):
            logger.error("The Runtime API refused the response (HTTP \(status)): \(body)")
        }
    }

    private func reportError(_ report: ErrorReport, for requestId: String) async throws(RuntimeAPIFailure) {
        if case .rejected(let status, let body) = try await api.sendError(requestId: requestId, report) {
            logger.error("The Runtime API refused the error report (HTTP \(status)): \(body)")
        }
    }

    /// The X-Ray SDKs read the invocation's trace id from `_X_AMZN_TRACE_ID`.
    private func setTraceEnvironment(_ traceId: String?) {
        if let traceId {
            setenv("_X_AMZN_TRACE_ID", traceId, 1)
        } else {
            unsetenv("_X_AMZN_TRACE_ID")
        }
    }
}

/// Why the loop ended. The process must then exit non-zero.
public enum LambdaRuntimeExit: Error, CustomStringConvertible {
    case initFailed(String)
    case runtimeAPIFailed(String)

    public var description: String {
        switch self {
        case .initFailed(let message): "init failed: \(message)"
        case .runtimeAPIFailed(let message): "the Runtime API failed: \(message)"
        }
    }
}

extension LambdaRuntime {
    /// The entry point of a function's executable: the process's environment, standard-output
    /// logging, one connection to the Runtime API; exits non-zero when the loop ends.
    public static func main<Handler: LambdaHandler>(
        _ makeHandler: (LambdaInitContext) async throws -> Handler
    ) async -> Never {
        let environment = processEnvironment()
        LoggingSystem.bootstrap { _ in LambdaLogHandler(environment: environment) }
        let logger = Logger(label: environment["AWS_LAMBDA_FUNCTION_NAME"] ?? "lambda")
        do {
            let http = try CurlHTTPClient(configuration: .init(maxConnectionsPerHost: 1, connectionCacheSize: 1))
            let runtime = try LambdaRuntime(environment: environment, httpClient: http, logger: logger)
            try await runtime.run(makeHandler)
        } catch is LambdaRuntimeExit {
            exit(1)  // run(_:) has logged why
        } catch {
            logger.critical("Exiting: \(error)")
            exit(1)
        }
    }
}

/// The process's environment, read from `environ`: FoundationEssentials' `ProcessInfo` gathers much
/// more on first use and costs a measurable share of a cold start. The first of duplicate names
/// wins, as with `getenv`.
func processEnvironment() -> [String: String] {
    var environment: [String: String] = [:]
    var entry = environ
    while let pointer = entry.pointee {
        let text = String(cString: pointer)
        if let equals = text.firstIndex(of: "=") {
            let name = String(text[..<equals])
            if environment[name] == nil { environment[name] = String(text[text.index(after: equals)...]) }
        }
        entry += 1
    }
    return environment
}

/// The name Lambda shows as `errorType`: the error's own, or its Swift type's.
func errorType(of error: any Error) -> String {
    (error as? any LambdaReportableError)?.errorType ?? String(describing: type(of: error))
}

/// An error that names its own `errorType` (an AWS error code, say).
public protocol LambdaReportableError: Error {
    var errorType: String { get }
}

/// Says which field of the event was wrong, not just that decoding failed.
func describeDecodingFailure<Event>(_ error: any Error, of eventType: Event.Type) -> String {
    let expected = "The event is not a valid \(eventType)"
    guard let decodingError = error as? DecodingError else { return "\(expected): \(error)" }
    func path(_ context: DecodingError.Context) -> String {
        let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        return keys.isEmpty ? "the top level" : "'\(keys.joined(separator: "."))'"
    }
    switch decodingError {
    case .keyNotFound(let key, let context):
        let parent = context.codingPath.isEmpty ? "" : " in \(path(context))"
        return "\(expected): required field '\(key.stringValue)' is missing\(parent)"
    case .typeMismatch(let type, let context):
        return "\(expected): \(path(context)) should be \(type): \(context.debugDescription)"
    case .valueNotFound(let type, let context):
        return "\(expected): \(path(context)) should be \(type) but is null"
    case .dataCorrupted(let context) where context.codingPath.isEmpty:
        return "\(expected): \(context.debugDescription)"
    case .dataCorrupted(let context):
        return "\(expected): \(path(context)): \(context.debugDescription)"
    @unknown default:
        return "\(expected): \(decodingError)"
    }
}
