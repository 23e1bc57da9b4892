import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A request as the test server received it off the wire.
public struct ReceivedRequest: Sendable {
    public let method: String
    public let path: String
    public let headers: [(name: String, value: String)]
    public let body: Data
    /// Which accepted TCP connection carried it (1 for the first).
    public let connection: Int

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// What the server does with a request.
public enum Reply: Sendable {
    case respond(status: Int, headers: [(String, String)] = [], body: Data = Data())
    /// Close the connection without answering.
    case dropConnection

    public static func json(_ status: Int, _ body: String, headers: [(String, String)] = []) -> Reply {
        .respond(status: status, headers: [("Content-Type", "application/json")] + headers, body: Data(body.utf8))
    }
}

/// A small HTTP/1.1 server on 127.0.0.1 for tests: real sockets, keep-alive, one thread per
/// connection, so the code under test talks to it exactly as it would to a real endpoint.
public final class TestHTTPServer: Sendable {
    public typealias Handler = @Sendable (ReceivedRequest) -> Reply

    public let port: Int
    private let listener: Int32
    private let handler: Handler
    private let state = Mutex(State())

    private struct State {
        var requests: [ReceivedRequest] = []
        var connections: [Int32] = []
        var connectionCount = 0
        var stopped = false
    }

    public init(handler: @escaping Handler) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXFailure("socket") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw POSIXFailure("bind/listen")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.listener = fd
        self.handler = handler
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    /// `127.0.0.1:<port>`, the form of `AWS_LAMBDA_RUNTIME_API`.
    public var hostAndPort: String { "127.0.0.1:\(port)" }
    public var baseURL: String { "http://\(hostAndPort)" }

    public var requests: [ReceivedRequest] { state.withLock { $0.requests } }
    public var connectionCount: Int { state.withLock { $0.connectionCount } }

    public func stop() {
        let connections = state.withLock { state -> [Int32] in
            guard !state.stopped else { return [] }
            state.stopped = true
            return state.connections + [listener]
        }
        for fd in connections { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                close(listener)
                return
            }
            let number: Int? = state.withLock { state in
                guard !state.stopped else { return nil }
                state.connectionCount += 1
                state.connections.append(client)
                return state.connectionCount
            }
            guard let number else {
                close(client)
                continue
            }
            Thread { [self] in serve(client, connection: number) }.start()
        }
    }

    private func serve(_ fd: Int32, connection: Int) {
        defer { close(fd) }
        var reader = SocketReader(fd: fd)
        while let request = reader.readRequest(connection: connection) {
            state.withLock { $0.requests.append(request) }
            switch handler(request) {
            case .dropConnection:
                return
            case .respond(let status, let headers, let body):
                var head = "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n"
                for (name, value) in headers { head += "\(name): \(value)\r\n" }
                head += "Content-Length: \(body.count)\r\n\r\n"
                guard writeAll(fd, Data(head.utf8) + body) else { return }
            }
        }
    }

    private func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 202: "Accepted"
        case 400: "Bad Request"
        case 413: "Request Entity Too Large"
        case 500: "Internal Server Error"
        default: "Status"
        }
    }

    private func writeAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if written <= 0 { return false }
                offset += written
            }
            return true
        }
    }
}

/// Reads HTTP/1.1 requests (headers, then a Content-Length body) off a socket.
private struct SocketReader {
    let fd: Int32
    var buffer = Data()

    mutating func readRequest(connection: Int) -> ReceivedRequest? {
        let separator = Data("\r\n\r\n".utf8)
        var headerEnd = buffer.range(of: separator)
        while headerEnd == nil {
            guard fill() else { return nil }
            headerEnd = buffer.range(of: separator)
        }
        let head = String(decoding: buffer[buffer.startIndex..<headerEnd!.lowerBound], as: UTF8.self)
        buffer = Data(buffer[headerEnd!.upperBound...])
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let length = headers.first { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) } ?? 0
        while buffer.count < length {
            guard fill() else { return nil }
        }
        let body = Data(buffer.prefix(length))
        buffer = Data(buffer.dropFirst(length))
        return ReceivedRequest(
            method: String(requestLine[0]), path: String(requestLine[1]), headers: headers, body: body,
            connection: connection)
    }

    private mutating func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &chunk, chunk.count, 0)
        guard count > 0 else { return false }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }
}

public struct POSIXFailure: Error, CustomStringConvertible {
    public let description: String
    init(_ call: String) { description = "\(call) failed: errno \(errno)" }
}
