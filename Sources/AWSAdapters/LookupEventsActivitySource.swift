import AWSClient
import Compliance
import FoundationEssentials

/// CloudTrail LookupEvents: each event name read on its own (the API filters on one attribute),
/// newest first, paced at the API's 2 requests a second by the CloudTrail client.
public struct LookupEventsActivitySource: ActivitySource {
    let cloudTrail: any CloudTrailAPI

    public init(cloudTrail: any CloudTrailAPI) {
        self.cloudTrail = cloudTrail
    }

    public var name: String { "lookup-events" }

    public func streams(of eventNames: [String]) -> [[String]] {
        Set(eventNames).sorted().map { [$0] }
    }

    public func read(_ stream: [String], from start: Date, to end: Date, deadline: Date?, page: ([ActivityEvent]) async throws -> Void)
        async throws -> Bool
    {
        for name in stream {
            for try await events in cloudTrail.lookupEvents(attribute: (key: "EventName", value: name), start: start, end: end) {
                try await page(try events.compactMap { ActivityEvent(try Self.record(of: $0)) })
                if let deadline, Date() >= deadline { return false }
            }
        }
        return true
    }

    /// The record inside a LookupEvents event; one that does not decode fails the read, naming the event.
    static func record(of event: CloudTrailLookupEvent) throws -> CloudTrailRecord {
        do {
            return try JSONDecoder().decode(CloudTrailRecord.self, from: Data(event.cloudTrailEvent.utf8))
        } catch {
            throw AWSResponseDecodingError(service: "CLOUDTRAIL", operation: "LookupEvents", underlying: "event \(event.eventId): \(error)")
        }
    }
}
