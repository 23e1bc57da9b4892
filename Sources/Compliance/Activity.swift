import FoundationEssentials

/// The fields of a CloudTrail event that the controls read, whether the event came whole from
/// LookupEvents or as a row of a CloudTrail Lake query.
public struct ActivityEvent: Sendable, Equatable {
    var eventSource: String
    var eventName: String
    public var eventTime: Date
    var errorCode: String?
    /// `userIdentity.onBehalfOf.userId`: how Identity Center names the user today.
    var onBehalfOfUserId: String?
    /// `userIdentity.userName`: older events name the user only here…
    var identityUserName: String?
    /// …or in `additionalEventData.UserName`.
    var additionalUserName: String?
    /// `requestParameters.userId` (UpdatePassword).
    var requestUserId: String?
    /// `serviceEventDetails` flattened to strings.
    var serviceEventDetails: [String: String]

    public init(
        eventSource: String, eventName: String, eventTime: Date, errorCode: String? = nil, onBehalfOfUserId: String? = nil,
        identityUserName: String? = nil, additionalUserName: String? = nil, requestUserId: String? = nil,
        serviceEventDetails: [String: String] = [:]
    ) {
        self.eventSource = eventSource
        self.eventName = eventName
        self.eventTime = eventTime
        self.errorCode = errorCode
        self.onBehalfOfUserId = onBehalfOfUserId
        self.identityUserName = identityUserName
        self.additionalUserName = additionalUserName
        self.requestUserId = requestUserId
        self.serviceEventDetails = serviceEventDetails
    }

    public init?(_ record: CloudTrailRecord) {
        guard let time = ISO8601UTC.parse(record.eventTime) else { return nil }
        var details: [String: String] = [:]
        if case .object(let members) = record.serviceEventDetails {
            for (key, value) in members { details[key] = value.string }
        }
        self.init(
            eventSource: record.eventSource, eventName: record.eventName, eventTime: time, errorCode: record.errorCode,
            onBehalfOfUserId: record.userIdentity?.onBehalfOf?.userId, identityUserName: record.userIdentity?.userName,
            additionalUserName: record.additionalEventData?["UserName"]?.string,
            requestUserId: record.requestParameters?["userId"]?.string, serviceEventDetails: details)
    }
}

/// Evidence about one user: who (by id, else by name for old-format events) and when.
public struct UserActivity: Sendable, Hashable {
    public let userId: String?
    public let userName: String?
    public let time: Date
}

/// A sign-in to an account through a permission set (its role).
public struct RoleSignIn: Sendable, Hashable, Codable {
    public let userId: String?
    public let userName: String?
    public let accountId: String
    /// The permission set's name: Identity Center names the role after it.
    public let roleName: String
    public let time: Date

    public init(userId: String?, userName: String?, accountId: String, roleName: String, time: Date) {
        self.userId = userId
        self.userName = userName
        self.accountId = accountId
        self.roleName = roleName
        self.time = time
    }
}

/// Which CloudTrail events count as evidence, and whose they are (docs/contract.md, "What counts as evidence").
enum ActivityRules {
    /// A successful interactive sign-in to Identity Center.
    static let signInEvents: [(source: String, name: String)] = [
        ("signin.amazonaws.com", "UserAuthentication"),
        ("signin.amazonaws.com", "CredentialVerification"),
        ("sso.amazonaws.com", "Authenticate"),
    ]
    static let passwordChangeEvent = (source: "sso-directory.amazonaws.com", name: "UpdatePassword")
    /// Taking up a permission set's role in an account.
    static let roleSignInEvents = ["Federate", "GetRoleCredentials"]
    static let roleSignInSource = "sso.amazonaws.com"

    static func signIn(_ event: ActivityEvent) -> UserActivity? {
        guard event.errorCode == nil,
            signInEvents.contains(where: { $0.source == event.eventSource && $0.name == event.eventName })
        else { return nil }
        switch event.eventName {
        case "CredentialVerification":
            // Only a verification that succeeded is a sign-in; failures are logged the same way.
            guard event.serviceEventDetails["CredentialVerification"] == "Success" else { return nil }
        case "UserAuthentication":
            guard event.serviceEventDetails["UserAuthentication"] != "Failure" else { return nil }
        default:
            break
        }
        return attributed(event, userId: event.onBehalfOfUserId)
    }

    static func passwordChange(_ event: ActivityEvent) -> UserActivity? {
        guard event.errorCode == nil, event.eventSource == passwordChangeEvent.source, event.eventName == passwordChangeEvent.name
        else { return nil }
        return attributed(event, userId: event.requestUserId ?? event.onBehalfOfUserId)
    }

    static func roleSignIn(_ event: ActivityEvent) -> RoleSignIn? {
        guard event.errorCode == nil, event.eventSource == roleSignInSource, roleSignInEvents.contains(event.eventName),
            let role = event.serviceEventDetails["role_name"], let account = event.serviceEventDetails["account_id"],
            let who = attributed(event, userId: event.onBehalfOfUserId)
        else { return nil }
        return RoleSignIn(userId: who.userId, userName: who.userName, accountId: account, roleName: role, time: event.eventTime)
    }

    /// The events that are evidence of `kind`, and the evidence one of them gives.
    static func eventNames(of kind: EvidenceKind) -> [String] {
        switch kind {
        case .signIn: signInEvents.map(\.name)
        case .passwordChange: [passwordChangeEvent.name]
        }
    }

    static func evidence(of kind: EvidenceKind, in event: ActivityEvent) -> UserActivity? {
        switch kind {
        case .signIn: signIn(event)
        case .passwordChange: passwordChange(event)
        }
    }

    private static func attributed(_ event: ActivityEvent, userId: String?) -> UserActivity? {
        let userName = event.identityUserName ?? event.additionalUserName
        guard userId != nil || userName != nil else { return nil }
        return UserActivity(userId: userId, userName: userName, time: event.eventTime)
    }
}

/// Where the monitors and the report read CloudTrail from: LookupEvents, or a CloudTrail Lake
/// event data store.
public protocol ActivitySource: Sendable {
    /// `lookup-events` or `lake`: what has been read of one is not known to have been read of the other.
    var name: String { get }
    /// How a read of `eventNames` is split into streams that are each read newest first:
    /// LookupEvents takes one event name a request, a Lake query takes them all.
    func streams(of eventNames: [String]) -> [[String]]
    /// Hands `page` every event of one stream with `start <= eventTime <= end`, newest first, a
    /// page at a time. Returns false when it stopped at `deadline` with more left to read.
    func read(_ stream: [String], from start: Date, to end: Date, deadline: Date?, page: ([ActivityEvent]) async throws -> Void)
        async throws -> Bool
}
