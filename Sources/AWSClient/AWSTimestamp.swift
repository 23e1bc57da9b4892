import FoundationEssentials

/// An instant as the AWS JSON protocols send it: epoch seconds, possibly fractional. Some
/// services (and emulators) send an ISO 8601 string instead; both decode.
public struct AWSTimestamp: Sendable, Hashable, Codable, Comparable {
    public let date: Date

    public init(_ date: Date) {
        self.date = date
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let seconds = try? container.decode(Double.self) {
            date = Date(timeIntervalSince1970: seconds)
        } else {
            let text = try container.decode(String.self)
            guard let parsed = try? Date(text, strategy: .iso8601) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a timestamp: \(text)")
            }
            date = parsed
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(date.timeIntervalSince1970)
    }

    public static func < (left: AWSTimestamp, right: AWSTimestamp) -> Bool { left.date < right.date }
}
