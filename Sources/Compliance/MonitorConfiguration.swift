/// The two PCI DSS controls the monitors enforce.
public enum Control: String, Sendable {
    /// PCI DSS 8.3.9: passwords changed at least every 90 days.
    case passwordExpiry = "PASSWORD_EXPIRY"
    /// PCI DSS 8.2.6: accounts inactive for 90 days are removed or disabled.
    case inactivity = "USER_INACTIVITY"

    /// The requirement the control meets, as alerts and findings name it.
    public var requirement: String {
        switch self {
        case .passwordExpiry: "PCI DSS 8.3.9"
        case .inactivity: "PCI DSS 8.2.6"
        }
    }

    var thresholdVariable: String {
        switch self {
        case .passwordExpiry: "PASSWORD_MAX_AGE_DAYS"
        case .inactivity: "INACTIVITY_MAX_DAYS"
        }
    }
}

/// Where CloudTrail activity is read from.
public enum ActivitySourceChoice: Sendable, Equatable {
    case lookupEvents
    case lake(EventDataStoreId)

    init(_ reader: EnvironmentReader) throws(ConfigurationError) {
        switch reader.optional("ACTIVITY_SOURCE") ?? "lookup-events" {
        case "lookup-events":
            self = .lookupEvents
        case "lake":
            guard let store = reader.optional("CLOUDTRAIL_LAKE_EVENT_DATA_STORE") else {
                throw ConfigurationError("ACTIVITY_SOURCE=lake needs CLOUDTRAIL_LAKE_EVENT_DATA_STORE")
            }
            self = .lake(try EventDataStoreId(store))
        case let other:
            throw ConfigurationError("ACTIVITY_SOURCE must be lookup-events or lake, not '\(other)'")
        }
    }

    /// How far back the source can see: LookupEvents holds 90 days; a Lake store keeps what it
    /// was set up to keep, at most ten years.
    var maximumLookbackDays: Int { self == .lookupEvents ? 90 : 3650 }

    var name: String {
        switch self {
        case .lookupEvents: "lookup-events"
        case .lake: "lake"
        }
    }
}

/// Where a judging run also keeps its findings (`FINDINGS`).
public enum FindingsChoice: String, Sendable {
    case none
    case securityHub = "securityhub"
}

public struct MonitorConfiguration: Sendable {
    public let control: Control
    public let table: String
    /// The activity ledger: how far CloudTrail has been read, and evidence of unregistered users.
    public let activityTable: String
    public let identityStoreId: String
    public let alertQueueUrl: String
    /// An SNS topic that gets every alert the queue gets (`ALERT_TOPIC_ARN`).
    public let alertTopicArn: String?
    public let findings: FindingsChoice
    public let thresholdDays: Int
    public let warningDays: Int
    /// User names and ids never alerted (break-glass accounts), lower-cased.
    public let excludedUsers: Set<String>
    public let activitySource: ActivitySourceChoice

    public init(control: Control, environment: [String: String]) throws(ConfigurationError) {
        let reader = EnvironmentReader(environment: environment)
        self.control = control
        table = try reader.required("REGISTRY_TABLE")
        activityTable = try reader.required("ACTIVITY_TABLE")
        identityStoreId = try reader.identityStoreId()
        alertQueueUrl = try reader.httpURL("ALERT_QUEUE_URL")
        alertTopicArn = try reader.snsTopicArn("ALERT_TOPIC_ARN")
        let findings = reader.optional("FINDINGS") ?? "none"
        guard let choice = FindingsChoice(rawValue: findings) else {
            throw ConfigurationError("FINDINGS must be none or securityhub, not '\(findings)'")
        }
        self.findings = choice
        thresholdDays = try reader.integer(control.thresholdVariable, default: 90, in: 1...365)
        warningDays = try reader.integer("WARNING_DAYS", default: 14, in: 0...365)
        guard warningDays < thresholdDays else {
            throw ConfigurationError("WARNING_DAYS (\(warningDays)) must be less than \(control.thresholdVariable) (\(thresholdDays))")
        }
        excludedUsers = Set(reader.list("EXCLUDED_USERS").map { $0.lowercased() })
        activitySource = try ActivitySourceChoice(reader)
    }
}
