import FoundationEssentials

public struct CredentialReportConfiguration: Sendable {
    public let identityStoreId: String
    public let instanceArn: String
    public let bucket: String
    /// The activity ledger: role sign-ins remembered beyond CloudTrail, and how far it has been read.
    public let activityTable: String
    public let prefix: String
    public let lookbackDays: Int
    public let activitySource: ActivitySourceChoice
    /// The customer-managed key for SSE-KMS; S3's AWS-managed key when unset.
    public let kmsKeyId: String?
    /// Calls in flight at once.
    public let concurrency: Int
    /// Identity Center's request rate (about 20 a second); the report adapts below it when throttled.
    public let requestsPerSecond: Int

    public init(environment: [String: String]) throws(ConfigurationError) {
        let reader = EnvironmentReader(environment: environment)
        identityStoreId = try reader.identityStoreId()
        instanceArn = try reader.required("SSO_INSTANCE_ARN")
        guard instanceArn.hasPrefix("arn:"), instanceArn.contains(":sso:::instance/") else {
            throw ConfigurationError("SSO_INSTANCE_ARN must look like arn:aws:sso:::instance/ssoins-1234567890abcdef, not '\(instanceArn)'")
        }
        bucket = try reader.required("REPORT_BUCKET")
        activityTable = try reader.required("ACTIVITY_TABLE")
        prefix = reader.optional("REPORT_PREFIX") ?? "credential_reports/"
        activitySource = try ActivitySourceChoice(reader)
        lookbackDays = try reader.integer("REPORT_LOOKBACK_DAYS", default: 90, in: 1...activitySource.maximumLookbackDays)
        kmsKeyId = reader.optional("REPORT_KMS_KEY_ID")
        concurrency = try reader.integer("REPORT_CONCURRENCY", default: 8, in: 1...64)
        requestsPerSecond = try reader.integer("REPORT_REQUESTS_PER_SECOND", default: 20, in: 1...1000)
    }
}

/// A payload the report cannot honour as asked.
public struct ReportRequestError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
