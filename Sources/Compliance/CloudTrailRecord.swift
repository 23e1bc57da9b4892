import FoundationEssentials

/// One CloudTrail record, as CloudTrail writes it (and as EventBridge's `detail` carries it).
public struct CloudTrailRecord: Sendable, Hashable, Codable {
    public struct UserIdentity: Sendable, Hashable, Codable {
        public struct OnBehalfOf: Sendable, Hashable, Codable {
            public let userId: String?
            public let identityStoreArn: String?
        }

        public let type: String?
        public let principalId: String?
        public let arn: String?
        public let accountId: String?
        public let userName: String?
        /// Identity Center's current format names the user here.
        public let onBehalfOf: OnBehalfOf?
    }

    public let eventVersion: String?
    /// ISO 8601, as CloudTrail writes it.
    public let eventTime: String
    public let eventSource: String
    public let eventName: String
    public let eventType: String?
    public let awsRegion: String?
    public let errorCode: String?
    public let errorMessage: String?
    public let userIdentity: UserIdentity?
    public let requestParameters: JSONValue?
    public let responseElements: JSONValue?
    public let additionalEventData: JSONValue?
    public let serviceEventDetails: JSONValue?
    public let eventID: String?
    public let recipientAccountId: String?
}
