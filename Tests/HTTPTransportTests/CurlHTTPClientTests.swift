import Foundation
import HTTPTransport
import TestHTTPServer
import Testing

@Suite struct CurlHTTPClientTests {
    let client: CurlHTTPClient

    init() throws {
        client = try CurlHTTPClient()
    }

    @Test func sendsMethodHeadersAndBodyAndReturnsTheResponseIntact() async throws {
        let server = try TestHTTPServer { request in
            .respond(
                status: 201,
                headers: [("X-Echo-Method", request.method), ("X-Echo-Header", request.header("X-Custom") ?? "missing")],
                body: Data(request.body.reversed()))
        }
        let payload = Data((0...255).map { UInt8($0) } + [0, 0, 13, 10])
        let response = try await client.execute(
            HTTPRequest(method: "PUT", url: server.baseURL + "/object?x=1", headers: ["X-Custom": "value 1"], body: payload))

        #expect(response.status == 201)
        #expect(response.headers["x-echo-method"] == "PUT")
        #expect(response.headers["X-Echo-Header"] == "value 1")
        #expect(response.body == Data(payload.reversed()))
        let received = try #require(server.requests.first)
        #expect(received.path == "/object?x=1")
        #expect(received.body == payload)
        #expect(received.header("Expect") == nil, "libcurl's Expect: 100-continue must be suppressed")
        #expect(received.header("Content-Type") == nil, "libcurl must not invent a form content type")
    }

    @Test func reusesOneConnectionForSequentialRequests() async throws {
        let server = try TestHTTPServer { _ in .json(200, "{}") }
        for index in 0..<5 {
            let response = try await client.execute(
                HTTPRequest(method: "POST", url: server.baseURL + "/\(index)", body: Data("{}".utf8)))
            #expect(response.status == 200)
        }
        #expect(server.requests.count == 5)
        #expect(server.connectionCount == 1)
    }

    @Test func runsManyRequestsConcurrently() async throws {
        let server = try TestHTTPServer { request in
            Thread.sleep(forTimeInterval: 0.02)
            return .respond(status: 200, body: Data(request.path.utf8))
        }
        let bodies = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<60 {
                group.addTask {
                    let response = try await client.execute(HTTPRequest(method: "GET", url: server.baseURL + "/\(index)"))
                    return String(decoding: response.body, as: UTF8.self)
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(bodies == Set((0..<60).map { "/\($0)" }))
        #expect(server.connectionCount > 1, "requests in flight at once need more than one connection")
    }

    @Test func refusedConnectionIsATransientConnectError() async throws {
        let server = try TestHTTPServer { _ in .json(200, "{}") }
        let url = server.baseURL
        server.stop()
        try await Task.sleep(for: .milliseconds(50))
        let error = try await #require(throws: HTTPTransportError.self) {
            try await client.execute(HTTPRequest(method: "GET", url: url))
        }
        #expect(error.kind == .connect)
        #expect(error.isTransient)
    }

    @Test func droppedConnectionIsATransientConnectionLoss() async throws {
        let server = try TestHTTPServer { _ in .dropConnection }
        let error = try await #require(throws: HTTPTransportError.self) {
            try await client.execute(HTTPRequest(method: "GET", url: server.baseURL))
        }
        #expect(error.kind == .connectionLost)
        #expect(error.isTransient)
    }

    @Test func slowServerTimesOut() async throws {
        let server = try TestHTTPServer { _ in
            Thread.sleep(forTimeInterval: 2)
            return .json(200, "{}")
        }
        let error = try await #require(throws: HTTPTransportError.self) {
            try await client.execute(HTTPRequest(method: "GET", url: server.baseURL, timeout: .milliseconds(200)))
        }
        #expect(error.kind == .timeout)
    }

    @Test func cancellingTheTaskCancelsTheTransfer() async throws {
        let server = try TestHTTPServer { _ in
            Thread.sleep(forTimeInterval: 3)
            return .json(200, "{}")
        }
        let task = Task { try await client.execute(HTTPRequest(method: "GET", url: server.baseURL, timeout: nil)) }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func refusesSchemesOtherThanHTTP() async throws {
        let error = try await #require(throws: HTTPTransportError.self) {
            try await client.execute(HTTPRequest(method: "GET", url: "file:///etc/passwd"))
        }
        #expect(error.kind == .other)
        #expect(!error.isTransient)
    }
}
