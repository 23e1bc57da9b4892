import Foundation
import HTTPTransport
@testable import LambdaRuntime
import Logging
import Synchronization
import TestHTTPServer
import Testing

/// A Runtime API over real HTTP: hands out queued events on `next`, records what the runtime
/// posts, and answers 500 once the queue is empty so the loop ends.
final class FakeRuntimeAPI: Sendable {
    struct QueuedEvent: Sendable {
        var requestId: String
        var body: String
        var headers: [(String, String)] = []
    }

    let server: TestHTTPServer

    init(events: [QueuedEvent], responseStatus: Int = 202) throws {
        let queue = Mutex(events)
        server = try TestHTTPServer { request in
            if request.path.hasSuffix("/invocation/next") {
                guard let event = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else {
                    return .json(500, #"{"errorMessage":"no more events","errorType":"Test.Done"}"#)
                }
                return .respond(
                    status: 200,
                    headers: [("Lambda-Runtime-Aws-Request-Id", event.requestId)] + event.headers,
                    body: Data(event.body.utf8))
            }
            if request.path.hasSuffix("/response") { return .json(responseStatus, #"{"status":"OK"}"#) }
            return .json(202, #"{"status":"OK"}"#)
        }
    }

    var posts: [ReceivedRequest] { server.requests.filter { $0.method == "POST" } }

    func post(_ suffix: String) -> ReceivedRequest? { posts.first { $0.path.hasSuffix(suffix) } }

    /// The `errorType` and `errorMessage` the runtime posted for that path.
    func errorReport(_ suffix: String) throws -> (type: String?, message: String?) {
        let request = try #require(post(suffix))
        let body = try #require(JSONSerialization.jsonObject(with: request.body) as? [String: Any])
        #expect((body["stackTrace"] as? [Any])?.isEmpty == true)
        return (body["errorType"] as? String, body["errorMessage"] as? String)
    }
}

struct Greeting: Decodable { let name: String; let fail: Bool? }
struct GreetingReply: Codable {
    let greeting: String
    let traceId: String?
    let traceEnvironment: String?
    let deadline: Int64
    let functionArn: String
    let clientContext: String?
    let cognitoIdentity: String?
}

struct HandlerFailure: Error, CustomStringConvertible { var description: String { "the greeting failed on purpose" } }

struct GreetingHandler: LambdaHandler {
    func handle(_ event: Greeting, context: LambdaContext) async throws -> GreetingReply {
        context.logger.debug("debug detail")
        context.logger.info("greeting \(event.name)")
        if event.fail == true { throw HandlerFailure() }
        return GreetingReply(
            greeting: "hello \(event.name)", traceId: context.traceId,
            traceEnvironment: ProcessInfo.processInfo.environment["_X_AMZN_TRACE_ID"],
            deadline: context.deadlineMilliseconds, functionArn: context.invokedFunctionArn,
            clientContext: context.clientContext, cognitoIdentity: context.cognitoIdentity)
    }
}

/// An event whose content the handler ignores.
struct AnyEvent: Decodable, Sendable {}

struct HugeHandler: LambdaHandler {
    func handle(_ event: AnyEvent, context: LambdaContext) async throws -> [String] {
        Array(repeating: String(repeating: "x", count: 1000), count: 7000)
    }
}

final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    var output: LogOutput { LogOutput { line in self.lines.withLock { $0.append(line) } } }
    func objects() throws -> [[String: Any]] {
        try all.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }
}

@Suite(.serialized) struct LambdaRuntimeTests {
    let http: CurlHTTPClient
    let logs = LogLines()

    init() throws {
        http = try CurlHTTPClient(configuration: .init(maxConnectionsPerHost: 1, connectionCacheSize: 1))
    }

    func runLoop<Handler: LambdaHandler>(
        _ api: FakeRuntimeAPI, format: LambdaLogHandler.Format = .text,
        _ makeHandler: @escaping (LambdaInitContext) async throws -> Handler
    ) async throws -> LambdaRuntimeExit {
        let output = logs.output
        let logger = Logger(label: "test") { _ in LambdaLogHandler(format: format, level: .info, output: output) }
        let runtime = try LambdaRuntime(
            environment: ["AWS_LAMBDA_RUNTIME_API": api.server.hostAndPort], httpClient: http, logger: logger)
        do {
            try await runtime.run(makeHandler)
        } catch {
            return error
        }
    }

    @Test func answersEachEventOnOneReusedConnection() async throws {
        let api = try FakeRuntimeAPI(events: [
            .init(requestId: "req-1", body: #"{"name":"ada"}"#),
            .init(requestId: "req-2", body: #"{"name":"bob"}"#),
        ])
        let exit = try await runLoop(api) { _ in GreetingHandler() }

        guard case .runtimeAPIFailed(let reason) = exit else { Issue.record("unexpected \(exit)"); return }
        #expect(reason.contains("500"))
        let first = try #require(api.post("/invocation/req-1/response"))
        #expect(try JSONDecoder().decode(GreetingReply.self, from: first.body).greeting == "hello ada")
        let second = try #require(api.post("/invocation/req-2/response"))
        #expect(try JSONDecoder().decode(GreetingReply.self, from: second.body).greeting == "hello bob")
        #expect(first.header("Content-Type") == "application/json")
        #expect(api.server.requests.filter { $0.path.hasSuffix("/next") }.count == 3)
        #expect(api.server.connectionCount == 1)
    }

    @Test func handlerErrorIsReportedAndTheLoopGoesOn() async throws {
        let api = try FakeRuntimeAPI(events: [
            .init(requestId: "bad", body: #"{"name":"x","fail":true}"#),
            .init(requestId: "good", body: #"{"name":"y"}"#),
        ])
        _ = try await runLoop(api) { _ in GreetingHandler() }

        let error = try #require(api.post("/invocation/bad/error"))
        #expect(error.header("Content-Type") == "application/vnd.aws.lambda.error+json")
        #expect(error.header("Lambda-Runtime-Function-Error-Type") == "HandlerFailure")
        let report = try api.errorReport("/invocation/bad/error")
        #expect(report.type == "HandlerFailure")
        #expect(report.message == "the greeting failed on purpose")
        #expect(api.post("/invocation/good/response") != nil)
    }

    @Test func undecodableEventIsAnErrorNamingTheFieldThenTheNextEventRuns() async throws {
        let api = try FakeRuntimeAPI(events: [
            .init(requestId: "missing-name", body: #"{"nom":"x"}"#),
            .init(requestId: "not-json", body: "{oops"),
            .init(requestId: "fine", body: #"{"name":"z"}"#),
        ])
        _ = try await runLoop(api) { _ in GreetingHandler() }

        let report = try api.errorReport("/invocation/missing-name/error")
        #expect(report.type == "Runtime.InvalidEvent")
        #expect(report.message?.contains("'name' is missing") == true)
        #expect(api.post("/invocation/not-json/error") != nil)
        #expect(api.post("/invocation/fine/response") != nil)
    }

    @Test func initFailureIsPostedToInitErrorAndNoEventIsFetched() async throws {
        struct MissingSetting: Error, CustomStringConvertible { var description: String { "REGISTRY_TABLE is not set" } }
        let api = try FakeRuntimeAPI(events: [.init(requestId: "never", body: "{}")])
        let exit = try await runLoop(api) { _ -> GreetingHandler in throw MissingSetting() }

        guard case .initFailed(let message) = exit else { Issue.record("unexpected \(exit)"); return }
        #expect(message == "REGISTRY_TABLE is not set")
        let report = try api.errorReport("/runtime/init/error")
        #expect(report.type == "MissingSetting")
        #expect(report.message == "REGISTRY_TABLE is not set")
        #expect(!api.server.requests.contains { $0.path.hasSuffix("/next") })
    }

    @Test func responseRefusedAsTooLargeIsReportedAsAnError() async throws {
        let api = try FakeRuntimeAPI(events: [.init(requestId: "big", body: "{}")], responseStatus: 413)
        _ = try await runLoop(api) { _ in HugeHandler() }

        #expect(api.post("/invocation/big/response") != nil)
        let report = try api.errorReport("/invocation/big/error")
        #expect(report.type == "Runtime.ResponseTooLarge")
        #expect(report.message?.contains("6 MB") == true)
    }

    @Test func serverErrorOnNextEndsTheLoopAtOnce() async throws {
        let api = try FakeRuntimeAPI(events: [])
        let exit = try await runLoop(api) { _ in GreetingHandler() }
        guard case .runtimeAPIFailed = exit else { Issue.record("unexpected \(exit)"); return }
        #expect(api.server.requests.count == 1)
    }

    @Test func lostConnectionEndsTheLoop() async throws {
        let server = try TestHTTPServer { _ in .dropConnection }
        let logger = Logger(label: "test") { _ in LambdaLogHandler(format: .text, level: .info, output: LogOutput { _ in }) }
        let runtime = try LambdaRuntime(environment: ["AWS_LAMBDA_RUNTIME_API": server.hostAndPort], httpClient: http, logger: logger)
        await #expect(throws: LambdaRuntimeExit.self) { try await runtime.run { _ in GreetingHandler() } }
    }

    @Test func handlerSeesTheInvocationsHeadersAndTheTraceVariableFollowsEachInvocation() async throws {
        let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        let clientContext = #"{"client":{"installation_id":"i-1"},"custom":{"k":"v"}}"#
        let cognitoIdentity = #"{"cognitoIdentityId":"eu-west-1:abc","cognitoIdentityPoolId":"eu-west-1:pool"}"#
        let api = try FakeRuntimeAPI(events: [
            .init(requestId: "traced", body: #"{"name":"t"}"#, headers: [
                ("Lambda-Runtime-Trace-Id", trace), ("Lambda-Runtime-Deadline-Ms", "1700000000123"),
                ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:f"),
                ("Lambda-Runtime-Client-Context", clientContext), ("Lambda-Runtime-Cognito-Identity", cognitoIdentity),
            ]),
            .init(requestId: "untraced", body: #"{"name":"u"}"#),
        ])
        _ = try await runLoop(api) { _ in GreetingHandler() }

        let traced = try JSONDecoder().decode(GreetingReply.self, from: try #require(api.post("/traced/response")).body)
        #expect(traced.traceId == trace)
        #expect(traced.traceEnvironment == trace)
        #expect(traced.deadline == 1_700_000_000_123)
        #expect(traced.functionArn == "arn:aws:lambda:eu-west-1:123456789012:function:f")
        #expect((traced.clientContext, traced.cognitoIdentity) == (clientContext, cognitoIdentity))
        let untraced = try JSONDecoder().decode(GreetingReply.self, from: try #require(api.post("/untraced/response")).body)
        #expect(untraced.traceId == nil)
        #expect(untraced.traceEnvironment == nil)
        #expect(untraced.clientContext == nil && untraced.cognitoIdentity == nil)
    }

    @Test func jsonLogLinesCarryTimestampLevelMessageAndRequestId() async throws {
        let api = try FakeRuntimeAPI(events: [.init(requestId: "logged", body: #"{"name":"quote\"and\nnewline"}"#)])
        _ = try await runLoop(api, format: .json) { _ in GreetingHandler() }

        let objects = try logs.objects()
        let greeting = try #require(objects.first { ($0["message"] as? String)?.hasPrefix("greeting") == true })
        #expect(greeting["message"] as? String == "greeting quote\"and\nnewline")
        #expect(greeting["level"] as? String == "INFO")
        #expect(greeting["requestId"] as? String == "logged")
        let timestamp = try #require(greeting["timestamp"] as? String)
        #expect(try Date(timestamp, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)) <= Date())
        #expect(!logs.all.contains { $0.contains("debug detail") }, "DEBUG is below the INFO level")
        let exitLine = try #require(objects.last)
        #expect(exitLine["level"] as? String == "FATAL")
        #expect(exitLine["requestId"] == nil)
    }

    @Test func logLevelAndFormatComeFromTheEnvironment() {
        let lines = LogLines()
        var logger = Logger(label: "env") { _ in
            LambdaLogHandler(environment: ["AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "WARN"], output: lines.output)
        }
        logger.info("dropped")
        logger.warning("kept")
        logger[metadataKey: "table"] = "registry"
        logger.error("with metadata")
        #expect(lines.all.count == 2)
        #expect(lines.all[0].contains(#""level":"WARN""#))
        #expect(lines.all[1].contains(#""table":"registry""#))
    }

    @Test func missingRuntimeAPIAddressIsAClearError() {
        let logger = Logger(label: "test")
        #expect(throws: RuntimeAPIFailure.self) { try LambdaRuntime(environment: [:], httpClient: http, logger: logger) }
    }

    @Test(arguments: [0, 1_700_000_000.123, 1_795_297_432.999, 951_782_400.5, 4_102_444_799.001, -0.25])
    func logTimestampsAreRFC3339InUTCToTheMillisecond(seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        let expected = date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        #expect(rfc3339Timestamp(date) == expected)
    }

    @Test func theEnvironmentIsReadAsTheProcessHasIt() {
        setenv("LAMBDA_RUNTIME_TEST_VALUE", "a=b c", 1)
        defer { unsetenv("LAMBDA_RUNTIME_TEST_VALUE") }
        let environment = processEnvironment()
        #expect(environment["LAMBDA_RUNTIME_TEST_VALUE"] == "a=b c")
        #expect(environment == ProcessInfo.processInfo.environment)
    }
}
