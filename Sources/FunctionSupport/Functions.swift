import AWSAdapters
import AWSClient
import Compliance
import FoundationEssentials
import HTTPTransport
import LambdaRuntime
import Logging

/// The entry points of the function executables: each reads its configuration in the init
/// phase (a bad setting fails there, on `/runtime/init/error`), builds its AWS clients, and hands
/// events to the domain logic in `Compliance`.
public enum Functions {
    public static func registryWriter() async -> Never {
        await registryFunction("registry-writer") { context, aws in
            let configuration = try RegistryWriterConfiguration(environment: context.environment)
            return RegistryWriter(
                configuration: configuration, directory: aws.directory(configuration.identityStoreId),
                registry: aws.registry(configuration.table), logger: context.logger
            ).handle
        }
    }

    public static func registryCleaner() async -> Never {
        await registryFunction("registry-cleaner") { context, aws in
            let configuration = try RegistryCleanerConfiguration(environment: context.environment)
            return RegistryCleaner(
                configuration: configuration, directory: aws.directory(configuration.identityStoreId),
                registry: aws.registry(configuration.table), logger: context.logger
            ).handle
        }
    }

    /// The writer and the cleaner: CloudTrail lifecycle events or a reconcile in, a change out.
    private static func registryFunction(
        _ product: String,
        _ makeHandler: @escaping (LambdaInitContext, AWSServices) throws -> @Sendable (RegistryTrigger) async throws -> RegistryChange
    ) async -> Never {
        SelfCheck.runIfAsked(product: product)
        return await LambdaRuntime.main { context in
            RegistryHandler(handle: try makeHandler(context, try AWSServices(context)))
        }
    }

    public static func monitor(_ control: Control) async -> Never {
        SelfCheck.runIfAsked(product: control == .passwordExpiry ? "password-expiry-monitor" : "inactivity-monitor")
        return await LambdaRuntime.main { context in
            let configuration = try MonitorConfiguration(control: control, environment: context.environment)
            // Identity Store answers about 20 requests a second: the state check of flagged users stays under it.
            let aws = try AWSServices(context, pacing: [.identityStore: RateLimiter(perSecond: 20, adaptive: true)])
            let monitor = ComplianceMonitor(
                configuration: configuration,
                registry: aws.registry(configuration.table),
                ledger: aws.ledger(configuration.activityTable),
                directory: aws.directory(configuration.identityStoreId),
                activity: aws.activitySource(configuration.activitySource), alerts: aws.alerts(configuration),
                isPassingFailure: isRetryableFailure, logger: context.logger)
            return MonitorHandler(monitor: monitor, findings: aws.findings(configuration.findings))
        }
    }
}

extension Functions {
    public static func credentialReport() async -> Never {
        SelfCheck.runIfAsked(product: "credential-report")
        return await LambdaRuntime.main { context in
            let configuration = try CredentialReportConfiguration(environment: context.environment)
            // SSO Admin and Identity Store each allow about 20 requests a second: stay under each,
            // and slow down when throttled (should AWS count them together, the throttling says so).
            let rate = Double(configuration.requestsPerSecond)
            let aws = try AWSServices(context, pacing: [
                .ssoAdmin: RateLimiter(perSecond: rate, adaptive: true),
                .identityStore: RateLimiter(perSecond: rate, adaptive: true),
            ])
            let client = aws.client
            let report = CredentialReport(
                configuration: configuration,
                directory: IdentityCenterAccessDirectory(
                    ssoAdmin: SSOAdminClient(client: client), identityStore: IdentityStoreClient(client: client),
                    organizations: OrganizationsClient(client: client), instanceArn: configuration.instanceArn,
                    identityStoreId: configuration.identityStoreId),
                activity: aws.activitySource(configuration.activitySource),
                ledger: aws.ledger(configuration.activityTable),
                store: S3ReportStore(s3: S3Client(client: client), bucket: configuration.bucket, kmsKeyId: configuration.kmsKeyId),
                requestCount: { client.requestsSent }, logger: context.logger)
            return ReportHandler(report: report)
        }
    }
}

struct ReportHandler: LambdaHandler {
    let report: CredentialReport

    func handle(_ event: RunRequest, context: LambdaContext) async throws -> CredentialReportResponse {
        try await report.run(event, deadline: context.deadline(leaving: .seconds(30)))
    }
}

struct RegistryHandler: LambdaHandler {
    let handle: @Sendable (RegistryTrigger) async throws -> RegistryChange

    func handle(_ event: RegistryTrigger, context: LambdaContext) async throws -> RegistryChange {
        try await handle(event)
    }
}

struct MonitorHandler: LambdaHandler {
    let monitor: ComplianceMonitor
    /// The findings store for the invoked function's account and region (known per invocation).
    let findings: (@Sendable (_ functionArn: String) throws -> any FindingStore)?

    func handle(_ event: MonitorEvent, context: LambdaContext) async throws -> MonitorResponse {
        var monitor = monitor
        monitor.findings = try findings?(context.invokedFunctionArn)
        return try await monitor.handle(event, deadline: context.deadline(leaving: .seconds(10)))
    }
}

/// The AWS clients a function needs, from the standard AWS environment variables.
struct AWSServices {
    let client: AWSClient

    init(_ context: LambdaInitContext, pacing: [AWSService: RateLimiter] = [:]) throws {
        let caBundle = try resolveCABundle(environment: context.environment)
        let http = try CurlHTTPClient(configuration: .init(caBundle: caBundle))
        client = try AWSClient(environment: context.environment, http: http, logger: context.logger, pacing: pacing)
    }

    func registry(_ table: String) -> DynamoDBRegistry {
        DynamoDBRegistry(table: table, dynamoDB: DynamoDBClient(client: client))
    }

    func directory(_ identityStoreId: String) -> IdentityStoreDirectory {
        IdentityStoreDirectory(identityStore: IdentityStoreClient(client: client), identityStoreId: identityStoreId)
    }

    func ledger(_ table: String) -> DynamoDBActivityLedger {
        DynamoDBActivityLedger(table: table, dynamoDB: DynamoDBClient(client: client))
    }

    /// The alert queue, and the alert topic when one is configured.
    func alerts(_ configuration: MonitorConfiguration) -> any AlertSink {
        let queue = QueueAlertSink(sqs: SQSClient(client: client), queueUrl: configuration.alertQueueUrl)
        guard let topicArn = configuration.alertTopicArn else { return queue }
        return AlertFanOut(sinks: [queue, TopicAlertSink(sns: SNSClient(client: client), topicArn: topicArn)])
    }

    /// Where findings go, for the account and region of the function's ARN; nil for none.
    func findings(_ choice: FindingsChoice) -> (@Sendable (_ functionArn: String) throws -> any FindingStore)? {
        guard choice == .securityHub else { return nil }
        let securityHub = SecurityHubClient(client: client)
        return { functionArn in try SecurityHubFindingStore(securityHub: securityHub, functionArn: functionArn) }
    }

    func activitySource(_ choice: ActivitySourceChoice) -> any ActivitySource {
        let cloudTrail = CloudTrailClient(client: client)
        switch choice {
        case .lookupEvents: return LookupEventsActivitySource(cloudTrail: cloudTrail)
        case .lake(let store): return LakeActivitySource(cloudTrail: cloudTrail, eventDataStore: store)
        }
    }
}

extension LambdaContext {
    /// The invocation's deadline less a margin to report in; nil when Lambda gave none.
    func deadline(leaving margin: Duration) -> Date? {
        guard deadlineMilliseconds > 0 else { return nil }
        return Date(timeIntervalSince1970: Double(deadlineMilliseconds) / 1000).addingTimeInterval(-Double(margin.components.seconds))
    }
}

/// Lambda shows the AWS error code as the invocation's `errorType`.
extension AWSServiceError: LambdaReportableError {
    public var errorType: String { code }
}
