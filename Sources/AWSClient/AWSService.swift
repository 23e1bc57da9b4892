/// What the client needs to know of one AWS service to reach it and sign for it.
public struct AWSService: Sendable, Hashable, CustomStringConvertible {
    public enum WireProtocol: Sendable, Hashable {
        /// AWS JSON 1.0 or 1.1: POST to `/` with `X-Amz-Target: <targetPrefix>.<Operation>`.
        case json(version: String, targetPrefix: String)
        /// REST with XML errors (S3).
        case restXML
        /// REST with JSON bodies and errors (Security Hub).
        case restJSON
        /// AWS Query: form-encoded `Action=<Operation>&Version=<version>` POSTed to `/`, XML answers (SNS).
        case query(version: String)
    }

    /// The suffix of `AWS_ENDPOINT_URL_<ID>`.
    public let id: String
    /// The first label of the standard endpoint's host.
    public let endpointPrefix: String
    /// The service name in the SigV4 credential scope.
    public let signingName: String
    public let wireProtocol: WireProtocol
    /// Served from one region per partition (Organizations).
    public let isGlobal: Bool

    public var description: String { id }

    /// Every service the functions call; their endpoint variables are checked at start-up.
    public static let all: [AWSService] = [
        .dynamoDB, .sqs, .s3, .identityStore, .ssoAdmin, .cloudTrail, .organizations, .securityHub, .sns,
    ]

    public static let dynamoDB = AWSService(
        id: "DYNAMODB", endpointPrefix: "dynamodb", signingName: "dynamodb",
        wireProtocol: .json(version: "1.0", targetPrefix: "DynamoDB_20120810"), isGlobal: false)
    public static let sqs = AWSService(
        id: "SQS", endpointPrefix: "sqs", signingName: "sqs",
        wireProtocol: .json(version: "1.0", targetPrefix: "AmazonSQS"), isGlobal: false)
    public static let s3 = AWSService(
        id: "S3", endpointPrefix: "s3", signingName: "s3", wireProtocol: .restXML, isGlobal: false)
    public static let identityStore = AWSService(
        id: "IDENTITYSTORE", endpointPrefix: "identitystore", signingName: "identitystore",
        wireProtocol: .json(version: "1.1", targetPrefix: "AWSIdentityStore"), isGlobal: false)
    public static let ssoAdmin = AWSService(
        id: "SSO_ADMIN", endpointPrefix: "sso", signingName: "sso",
        wireProtocol: .json(version: "1.1", targetPrefix: "SWBExternalService"), isGlobal: false)
    public static let cloudTrail = AWSService(
        id: "CLOUDTRAIL", endpointPrefix: "cloudtrail", signingName: "cloudtrail",
        wireProtocol: .json(version: "1.1", targetPrefix: "CloudTrail_20131101"), isGlobal: false)
    public static let organizations = AWSService(
        id: "ORGANIZATIONS", endpointPrefix: "organizations", signingName: "organizations",
        wireProtocol: .json(version: "1.1", targetPrefix: "AWSOrganizationsV20161128"), isGlobal: true)
    public static let securityHub = AWSService(
        id: "SECURITYHUB", endpointPrefix: "securityhub", signingName: "securityhub", wireProtocol: .restJSON, isGlobal: false)
    public static let sns = AWSService(
        id: "SNS", endpointPrefix: "sns", signingName: "sns", wireProtocol: .query(version: "2010-03-31"), isGlobal: false)
}
