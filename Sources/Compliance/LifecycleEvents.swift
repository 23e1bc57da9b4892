import FoundationEssentials

/// What the registry writer and cleaner are invoked with.
public enum RegistryTrigger: Sendable, Decodable {
    /// An EventBridge "AWS API Call via CloudTrail" event; `detail` is the record.
    case cloudTrail(CloudTrailRecord)
    /// An EventBridge "Scheduled Event" or `{"reconcile": true}`.
    case reconcile

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: JSONKey.self)
        if let reconcile = try container.decodeIfPresent(Bool.self, forKey: "reconcile") {
            guard reconcile else {
                throw DecodingError.dataCorruptedError(
                    forKey: "reconcile", in: container, debugDescription: "only {\"reconcile\": true} asks for a reconcile")
            }
            self = .reconcile
            return
        }
        switch try container.decodeIfPresent(String.self, forKey: "detail-type") {
        case "Scheduled Event":
            self = .reconcile
        case "AWS API Call via CloudTrail":
            self = .cloudTrail(try container.decode(CloudTrailRecord.self, forKey: "detail"))
        case let other:
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "expected an EventBridge \"AWS API Call via CloudTrail\" event, a \"Scheduled Event\" or {\"reconcile\": true}"
                    + (other.map { ", got detail-type \"\($0)\"" } ?? "")))
        }
    }
}

/// A user created or deleted, read out of a CloudTrail record from any of the three sources.
struct UserLifecycleEvent: Equatable {
    enum Action: String { case create = "CreateUser", delete = "DeleteUser" }

    let userId: String
    let origin: UserOrigin
    let eventTime: Date?

    static let origins: [String: UserOrigin] = [
        "sso-directory.amazonaws.com": .console,
        "identitystore.amazonaws.com": .api,
        "identitystore-scim.amazonaws.com": .scim,
    ]

    /// Reads the event, refusing one that names another identity store than `identityStoreId`.
    init(_ record: CloudTrailRecord, expected action: Action, identityStoreId: String) throws(LifecycleEventError) {
        if let errorCode = record.errorCode {
            throw LifecycleEventError(
                "\(record.eventName) failed in CloudTrail (\(errorCode): \(record.errorMessage ?? "no message")): nothing to record")
        }
        guard record.eventName == action.rawValue else {
            throw LifecycleEventError("expected a \(action.rawValue) event, got \(record.eventName) from \(record.eventSource)")
        }
        guard let origin = Self.origins[record.eventSource] else {
            throw LifecycleEventError("unsupported event source \(record.eventSource) for \(record.eventName)")
        }
        let candidates: [(path: String, value: String?)]
        switch action {
        case .create:
            switch origin {
            case .console: candidates = [("responseElements.user.userId", record.responseElements?["user"]?["userId"]?.string)]
            case .api: candidates = [("responseElements.userId", record.responseElements?["userId"]?.string)]
            default: candidates = [("responseElements.id", record.responseElements?["id"]?.string)]
            }
        case .delete:
            candidates = [
                ("requestParameters.userId", record.requestParameters?["userId"]?.string),
                ("requestParameters.id", record.requestParameters?["id"]?.string),
            ]
        }
        guard let userId = candidates.lazy.compactMap(\.value).first(where: { !$0.isEmpty }) else {
            let paths = candidates.map(\.path).joined(separator: " or ")
            throw LifecycleEventError("the \(record.eventName) event from \(record.eventSource) carries no user id in \(paths)")
        }
        if let store = record.requestParameters?["identityStoreId"]?.string, store != identityStoreId {
            throw LifecycleEventError("the event is for identity store \(store); this function serves \(identityStoreId)")
        }
        self.userId = userId
        self.origin = origin
        self.eventTime = ISO8601UTC.parse(record.eventTime)
    }
}

/// A lifecycle event that cannot be acted on; the invocation fails with this message.
public struct LifecycleEventError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
