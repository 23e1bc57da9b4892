import FoundationEssentials
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Log lines as Lambda wants them: plain text, or with `AWS_LAMBDA_LOG_FORMAT=JSON` one JSON
/// object a line (`timestamp`, `level`, `message`, `requestId`), filtered by
/// `AWS_LAMBDA_LOG_LEVEL` as Lambda's own filter does.
public struct LambdaLogHandler: LogHandler {
    public enum Format: Sendable {
        case text
        case json
    }

    /// The request id of the invocation in progress, so every log line written while handling it,
    /// from any module, carries it.
    @TaskLocal public static var requestId: String?

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let format: Format
    private let output: LogOutput

    public init(format: Format, level: Logger.Level, output: LogOutput = .standardOutput) {
        self.format = format
        self.logLevel = level
        self.output = output
    }

    /// The format and level the Lambda environment asks for.
    public init(environment: [String: String], output: LogOutput = .standardOutput) {
        let format: Format = environment["AWS_LAMBDA_LOG_FORMAT"]?.uppercased() == "JSON" ? .json : .text
        let level = environment["AWS_LAMBDA_LOG_LEVEL"].flatMap(Logger.Level.init(lambdaName:)) ?? .info
        self.init(format: format, level: level, output: output)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        let timestamp = rfc3339Timestamp(Date())
        let requestId = Self.requestId
        let line: String
        switch format {
        case .json:
            var object = "{\"timestamp\":\"\(timestamp)\",\"level\":\"\(event.level.lambdaName)\""
            object += ",\"message\":\(jsonString(event.message.description))"
            if let requestId { object += ",\"requestId\":\(jsonString(requestId))" }
            for (key, value) in fields.sorted(by: { $0.key < $1.key })
            where !["timestamp", "level", "message", "requestId"].contains(key) {
                object += ",\(jsonString(key)):\(jsonString(value.description))"
            }
            line = object + "}"
        case .text:
            let details = fields.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
            // One record one line: a message's own line breaks would split it in CloudWatch.
            let message = "\(event.message)\(details)".replacing("\n", with: "\r")
            line = "\(timestamp)\t\(requestId ?? "-")\t\(event.level.lambdaName)\t\(message)"
        }
        output.write(line)
    }
}

/// `date` in RFC 3339, UTC, to the millisecond (`2026-11-21T21:43:52.273Z`), as Lambda's own log
/// lines carry it. By hand rather than with `Date.ISO8601FormatStyle`, whose calendar and time
/// zone set-up costs the first log line of every cold start most of a millisecond.
func rfc3339Timestamp(_ date: Date) -> String {
    let interval = date.timeIntervalSince1970
    let wholeSeconds = interval.rounded(.down)
    let millisecond = Int64(((interval - wholeSeconds) * 1000).rounded(.down))
    var seconds = time_t(wholeSeconds)
    var fields = tm()
    gmtime_r(&seconds, &fields)
    func digits(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
    let date = "\(digits(Int64(fields.tm_year) + 1900, 4))-\(digits(Int64(fields.tm_mon) + 1, 2))-\(digits(Int64(fields.tm_mday), 2))"
    let time = "\(digits(Int64(fields.tm_hour), 2)):\(digits(Int64(fields.tm_min), 2)):\(digits(Int64(fields.tm_sec), 2))"
    return "\(date)T\(time).\(digits(millisecond, 3))Z"
}

/// Where log lines go: standard output by default, or a closure (tests).
public struct LogOutput: Sendable {
    let write: @Sendable (String) -> Void

    public init(_ write: @escaping @Sendable (String) -> Void) {
        self.write = write
    }

    public func write(_ line: String) { write(line) }

    /// One `write(2)` a line under a lock, so lines from concurrent tasks never interleave.
    public static let standardOutput = LogOutput { line in
        standardOutputLock.withLock { _ in
            var bytes = Array(line.utf8)
            bytes.append(UInt8(ascii: "\n"))
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Glibc.write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                    if written <= 0 { return }
                    offset += written
                }
            }
        }
    }
}

private let standardOutputLock = Mutex(())

extension Logger.Level {
    /// Lambda's level names: TRACE, DEBUG, INFO, WARN, ERROR, FATAL.
    init?(lambdaName: String) {
        switch lambdaName.uppercased() {
        case "TRACE": self = .trace
        case "DEBUG": self = .debug
        case "INFO": self = .info
        case "WARN": self = .warning
        case "ERROR": self = .error
        case "FATAL": self = .critical
        default: return nil
        }
    }

    var lambdaName: String {
        switch self {
        case .trace: "TRACE"
        case .debug: "DEBUG"
        case .info, .notice: "INFO"
        case .warning: "WARN"
        case .error: "ERROR"
        case .critical: "FATAL"
        }
    }
}

/// A JSON string literal, quotes included.
func jsonString(_ text: String) -> String {
    var result = "\""
    result.reserveCapacity(text.utf8.count + 2)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case let control where control.value < 0x20:
            let hex = String(control.value, radix: 16)
            result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}
