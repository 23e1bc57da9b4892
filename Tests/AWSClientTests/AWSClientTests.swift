@testable import AWSClient
import Foundation
import HTTPTransport
import Logging
import Synchronization
import TestHTTPServer
import Testing

/// Records the backoff it is asked for instead of sleeping.
final class RecordingSleeper: Sleeper {
    private let recorded = Mutex<[Duration]>([])
    var delays: [Duration] { recorded.withLock { $0 } }
    func sleep(for duration: Duration) async throws { recorded.withLock { $0.append(duration) } }
}

/// A server that plays a script of answers, then repeats the last one.
func scriptedServer(_ replies: [Reply]) throws -> TestHTTPServer {
    let remaining = Mutex(replies)
    return try TestHTTPServer { _ in
        remaining.withLock { $0.count > 1 ? $0.removeFirst() : $0[0] }
    }
}

let testCredentials = AWSCredentials(accessKeyId: "AKIDTEST", secretAccessKey: "secret-value-never-logged", sessionToken: "token-value")

func makeClient(
    _ server: TestHTTPServer, sleeper: RecordingSleeper = RecordingSleeper(), quota: Int = 500, random: Double = 0.5
) throws -> AWSClient {
    try AWSClient(
        credentials: testCredentials, region: "eu-west-1",
        endpointResolver: EndpointResolver(region: "eu-west-1", environment: ["AWS_ENDPOINT_URL": server.baseURL]),
        http: CurlHTTPClient(),
        retryStrategy: RetryStrategy(quotaCapacity: quota, sleeper: sleeper, random: { random }),
        logger: Logger(label: "test"))
}

struct Item: Codable, Equatable { let name: String }

let throttled = Reply.json(400, #"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}"#)
let unavailable = Reply.json(503, #"{"__type":"ServiceUnavailable","message":"try later"}"#)
let success = Reply.json(200, #"{"name":"ok"}"#)

@Suite struct RetryTests {
    @Test func throttlingIsRetriedWithBoundedBackoffUntilSuccess() async throws {
        let server = try scriptedServer([throttled, throttled, success])
        let sleeper = RecordingSleeper()
        let client = try makeClient(server, sleeper: sleeper, random: 0.5)

        let item = try await client.json(.dynamoDB, "GetItem", Item(name: "in"), as: Item.self)

        #expect(item == Item(name: "ok"))
        #expect(server.requests.count == 3)
        #expect(client.requestsSent == 3)
        #expect(sleeper.delays == [.milliseconds(500), .seconds(1)], "half of 1 s, then half of 2 s")
    }

    @Test func serverErrorsAnd429AreRetried() async throws {
        let server = try scriptedServer([unavailable, .json(429, "{}"), success])
        let client = try makeClient(server)
        _ = try await client.json(.sqs, "SendMessage", Item(name: "x"), as: Item.self)
        #expect(server.requests.count == 3)
    }

    @Test func lostConnectionIsRetried() async throws {
        let server = try scriptedServer([.dropConnection, success])
        let client = try makeClient(server)
        _ = try await client.json(.sqs, "SendMessage", Item(name: "x"), as: Item.self)
        #expect(server.requests.count == 2)
    }

    @Test func nonRetryableErrorSurfacesAtOnceWithCodeAndMessage() async throws {
        let server = try scriptedServer([
            .json(400, #"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}"#, headers: [("x-amzn-RequestId", "REQ123")]),
        ])
        let sleeper = RecordingSleeper()
        let client = try makeClient(server, sleeper: sleeper)
        let error = try await #require(throws: AWSServiceError.self) {
            try await client.json(.dynamoDB, "PutItem", Item(name: "x"), as: AWSEmptyOutput.self)
        }
        #expect(error.code == "ConditionalCheckFailedException")
        #expect(error.message == "The conditional request failed")
        #expect(error.requestId == "REQ123")
        #expect(error.httpStatus == 400)
        #expect(error.description == "DYNAMODB PutItem failed: ConditionalCheckFailedException: The conditional request failed (HTTP 400, request id REQ123)")
        #expect(server.requests.count == 1)
        #expect(sleeper.delays.isEmpty)
    }

    @Test func givesUpAfterMaxAttemptsWithTheLastError() async throws {
        let server = try scriptedServer([throttled])
        let client = try makeClient(server)
        let error = try await #require(throws: AWSServiceError.self) {
            try await client.json(.dynamoDB, "Scan", Item(name: "x"), as: Item.self)
        }
        #expect(error.code == "ThrottlingException")
        #expect(server.requests.count == 3)
    }

    @Test func spentRetryQuotaStopsRetries() async throws {
        let server = try scriptedServer([unavailable])
        let client = try makeClient(server, quota: 10)
        await #expect(throws: AWSServiceError.self) { try await client.json(.sqs, "SendMessage", Item(name: "a"), as: Item.self) }
        #expect(server.requests.count == 3, "two retries take the quota's 10 tokens")
        await #expect(throws: AWSServiceError.self) { try await client.json(.sqs, "SendMessage", Item(name: "b"), as: Item.self) }
        #expect(server.requests.count == 4, "no tokens left: the second call is not retried")
    }

    @Test func successReturnsRetryTokens() async throws {
        let server = try scriptedServer([unavailable, success])
        let client = try makeClient(server, quota: 10)
        _ = try await client.json(.sqs, "SendMessage", Item(name: "a"), as: Item.self)
        #expect(client.retryStrategy.quota.tokens == 10)
    }

    @Test func backoffIsFullJitterUnderAnExponentialCeilingCappedAt20Seconds() {
        let highest = RetryStrategy(random: { 0.999_999 })
        #expect(highest.backoff(beforeRetry: 0) <= .seconds(1))
        #expect(highest.backoff(beforeRetry: 0) > .milliseconds(999))
        #expect(highest.backoff(beforeRetry: 3) > .milliseconds(7999))
        #expect(highest.backoff(beforeRetry: 3) <= .seconds(8))
        #expect(highest.backoff(beforeRetry: 10) <= .seconds(20))
        #expect(highest.backoff(beforeRetry: 10) > .milliseconds(19_999))
        #expect(RetryStrategy(random: { 0 }).backoff(beforeRetry: 4) == .zero)
    }

    @Test func aPacedCallRidesOutThrottlingForFiveRoundsOfRetriesAnUnpacedOneForThreeAttempts() async throws {
        func client(_ server: TestHTTPServer, paced: Bool) throws -> AWSClient {
            try AWSClient(
                credentials: testCredentials, region: "eu-west-1",
                endpointResolver: EndpointResolver(region: "eu-west-1", environment: ["AWS_ENDPOINT_URL": server.baseURL]),
                http: CurlHTTPClient(), retryStrategy: RetryStrategy(sleeper: RecordingSleeper()), logger: Logger(label: "test"),
                pacing: paced ? [.identityStore: RateLimiter(perSecond: 1000, adaptive: true)] : [:])
        }
        let contended = try scriptedServer(Array(repeating: throttled, count: 7) + [success])
        _ = try await client(contended, paced: true).json(.identityStore, "ListGroupMemberships", Item(name: "x"), as: Item.self)
        #expect(contended.requests.count == 8, "seven throttled answers ride out in three rounds")

        let unpaced = try scriptedServer([throttled])
        await #expect(throws: AWSServiceError.self) {
            _ = try await client(unpaced, paced: false).json(.identityStore, "ListGroupMemberships", Item(name: "x"), as: Item.self)
        }
        #expect(unpaced.requests.count == 3)

        let endless = try scriptedServer([throttled])
        let error = await #expect(throws: AWSServiceError.self) {
            _ = try await client(endless, paced: true).json(.identityStore, "ListGroupMemberships", Item(name: "x"), as: Item.self)
        }
        #expect(error?.code == "ThrottlingException")
        #expect(endless.requests.count == 15, "five rounds of three attempts, then the throttling is the answer")
    }

    @Test func aRetryAfterLongerThanTheBackoffIsWaitedOutUpToAMinute() async throws {
        let busy = { (seconds: String) in Reply.json(503, #"{"__type":"ServiceUnavailable","message":"busy"}"#, headers: [("Retry-After", seconds)]) }
        let server = try scriptedServer([busy("7"), busy("600"), success])
        let sleeper = RecordingSleeper()
        _ = try await makeClient(server, sleeper: sleeper).json(.sqs, "SendMessage", Item(name: "a"), as: Item.self)
        #expect(sleeper.delays == [.seconds(7), .seconds(60)], "the backoff here is at most 1 and 2 seconds")
    }

    @Test func anAdaptiveLimiterSlowsWhenThrottledAndWinsTheRateBackOnSuccess() async throws {
        let limiter = RateLimiter(perSecond: 1000, adaptive: true)
        let server = try scriptedServer([throttled, throttled, success])
        let client = try AWSClient(
            credentials: testCredentials, region: "eu-west-1",
            endpointResolver: EndpointResolver(region: "eu-west-1", environment: ["AWS_ENDPOINT_URL": server.baseURL]),
            http: CurlHTTPClient(), retryStrategy: RetryStrategy(sleeper: RecordingSleeper()), logger: Logger(label: "test"),
            pacing: [.ssoAdmin: limiter])

        _ = try await client.json(.ssoAdmin, "ListInstances", Item(name: "x"), as: Item.self)

        // Two cuts of 30 %, then one success's 2 % of the ceiling back.
        #expect(abs(await limiter.rate - (1000 * 0.7 * 0.7 + 20)) < 1e-9)
        for _ in 0..<50 { await limiter.didSucceed() }
        #expect(await limiter.rate == 1000, "never above the configured ceiling")
        for _ in 0..<100 { await limiter.didThrottle() }
        #expect(await limiter.rate == 50, "never below 5 % of it")
        let fixed = RateLimiter(perSecond: 1000)
        await fixed.didThrottle()
        #expect(await fixed.rate == 1000, "a fixed limiter does not adapt")
    }

    @Test func maxAttemptsComesFromTheEnvironment() throws {
        #expect(try RetryStrategy(environment: ["AWS_MAX_ATTEMPTS": "5"]).maxAttempts == 5)
        #expect(try RetryStrategy(environment: [:]).maxAttempts == 3)
        #expect(throws: AWSConfigurationError.self) { try RetryStrategy(environment: ["AWS_MAX_ATTEMPTS": "lots"]) }
    }
}

@Suite struct ErrorDecodingTests {
    func decode(_ service: AWSService, status: Int, body: String, headers: [(String, String)] = []) -> AWSServiceError {
        AWSServiceError(
            service: service, operation: "Op",
            response: HTTPResponse(status: status, headers: HTTPHeaders(headers.map { (name: $0.0, value: $0.1) }), body: Data(body.utf8)),
            signedWith: testCredentials)
    }

    @Test func theSecretAndTheSessionTokenNeverReachTheMessage() {
        let quoted = decode(
            .sqs, status: 403,
            body: #"{"__type":"SignatureDoesNotMatch","message":"Canonical String:\nx-amz-security-token:token-value\nkey secret-value-never-logged"}"#)
        #expect(quoted.message == "Canonical String:\nx-amz-security-token:<redacted>\nkey <redacted>")
        let unparsed = decode(.s3, status: 502, body: "proxy saw token-value")
        #expect(unparsed.message == "proxy saw <redacted>")
    }

    @Test func identityStoreNotFound() {
        let error = decode(
            .identityStore, status: 400,
            body: #"{"__type":"ResourceNotFoundException","Message":"USER not found.","ResourceType":"USER","ResourceId":"9067-abc","RequestId":"f0a4"}"#,
            headers: [("x-amzn-RequestId", "f0a4")])
        #expect(error.code == "ResourceNotFoundException")
        #expect(error.message == "USER not found.")
        #expect(error.requestId == "f0a4")
    }

    @Test func errorTypeHeaderWinsAndLosesItsSuffix() {
        let error = decode(
            .ssoAdmin, status: 400, body: #"{"message":"1 validation error detected"}"#,
            headers: [("X-Amzn-ErrorType", "ValidationException:http://internal.amazon.com/coral/com.amazon.coral.validate/")])
        #expect(error.code == "ValidationException")
        #expect(error.message == "1 validation error detected")
    }

    @Test func sqsJSONProtocolError() {
        let error = decode(.sqs, status: 400, body: #"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}"#)
        #expect(error.code == "QueueDoesNotExist")
    }

    @Test func accessDeniedFromIAM() {
        let error = decode(
            .cloudTrail, status: 400,
            body: #"{"__type":"AccessDeniedException","Message":"User: arn:aws:iam::123456789012:user/x is not authorized to perform: cloudtrail:LookupEvents"}"#)
        #expect(error.code == "AccessDeniedException")
        #expect(error.message.contains("cloudtrail:LookupEvents"))
    }

    @Test func s3XMLError() {
        let error = decode(
            .s3, status: 404,
            body: #"<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket &amp; key do not exist</Message><BucketName>reports</BucketName><RequestId>4442587FB7D0A2F9</RequestId></Error>"#,
            headers: [("x-amz-request-id", "4442587FB7D0A2F9")])
        #expect(error.code == "NoSuchBucket")
        #expect(error.message == "The specified bucket & key do not exist")
        #expect(error.requestId == "4442587FB7D0A2F9")
    }

    @Test func xmlErrorFromInFrontOfAJSONServiceIsRead() {
        let error = decode(
            .dynamoDB, status: 403,
            body: #"<?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error></ErrorResponse>"#,
            headers: [("Content-Type", "text/html")])
        #expect(error.code == "SignatureDoesNotMatch")
        #expect(error.message == "The request signature we calculated does not match")
    }

    @Test func bodyThatIsNotJSONKeepsTheStatusAndText() {
        let error = decode(.dynamoDB, status: 502, body: "<html>Bad Gateway</html>")
        #expect(error.code == "HTTP502")
        #expect(error.message == "<html>Bad Gateway</html>")
        #expect(RetryKind(error) == .transient)
    }
}

@Suite struct BatchTests {
    func entryIds(_ request: ReceivedRequest) throws -> [String] {
        let input = try JSONSerialization.jsonObject(with: request.body) as! [String: Any]
        return (input["Entries"] as! [[String: Any]]).map { $0["Id"] as! String }
    }

    @Test func sqsSendsAgainOnlyTheEntriesThatFailedThroughNoFaultOfOurs() async throws {
        let server = try scriptedServer([
            .json(200, #"{"Successful":[{"Id":"0","MessageId":"m0"},{"Id":"2","MessageId":"m2"}],"Failed":[{"Id":"1","SenderFault":false,"Code":"InternalError"}]}"#),
            .json(200, #"{"Successful":[{"Id":"1","MessageId":"m1"}]}"#),
        ])
        let sleeper = RecordingSleeper()
        let sqs = SQSClient(client: try makeClient(server, sleeper: sleeper))

        let ids = try await sqs.sendMessageBatch(queueUrl: "https://sqs/q", bodies: ["a", "b", "c"])

        #expect(ids == ["m0", "m1", "m2"], "in the order of the bodies")
        #expect(try server.requests.map(entryIds) == [["0", "1", "2"], ["1"]])
        #expect(sleeper.delays.count == 1, "after a backoff")
    }

    @Test func sqsRefusesAtOnceWhatItsSenderGotWrong() async throws {
        let server = try scriptedServer([
            .json(200, #"{"Successful":[{"Id":"0","MessageId":"m0"}],"Failed":[{"Id":"1","SenderFault":true,"Code":"InvalidMessageContents","Message":"bad char"}]}"#),
        ])
        let error = await #expect(throws: SQSBatchError.self) {
            _ = try await SQSClient(client: try makeClient(server)).sendMessageBatch(queueUrl: "https://sqs/q", bodies: ["a", "\u{0}"])
        }
        #expect(error?.failures == ["entry 1: InvalidMessageContents: bad char"])
        #expect(server.requests.count == 1)
    }

    struct Finding: SecurityHubFinding {
        let Id: String
        var findingId: String { Id }
    }

    func findingIds(_ request: ReceivedRequest) throws -> [String] {
        let input = try JSONSerialization.jsonObject(with: request.body) as! [String: Any]
        return (input["Findings"] as! [[String: Any]]).map { $0["Id"] as! String }
    }

    @Test func securityHubImportsAHundredACallAndSendsAgainOnlyFindingsThatFailedForAPassingReason() async throws {
        let server = try scriptedServer([
            .json(200, #"{"FailedCount":1,"SuccessCount":99,"FailedFindings":[{"Id":"f-7","ErrorCode":"InternalException","ErrorMessage":"try again"}]}"#),
            .json(200, #"{"FailedCount":0,"SuccessCount":1,"FailedFindings":[]}"#),
            .json(200, #"{"FailedCount":0,"SuccessCount":20,"FailedFindings":[]}"#),
        ])
        let sleeper = RecordingSleeper()
        let findings = (0..<120).map { Finding(Id: "f-\($0)") }
        try await SecurityHubClient(client: try makeClient(server, sleeper: sleeper)).batchImportFindings(findings)

        #expect(try server.requests.map { try findingIds($0).count } == [100, 1, 20])
        #expect(try findingIds(server.requests[1]) == ["f-7"])
        #expect(server.requests.allSatisfy { $0.path == "/findings/import" && $0.method == "POST" })
        #expect(sleeper.delays.count == 1)
    }

    @Test func securityHubFailsNamingTheFindingsItRejects() async throws {
        let server = try scriptedServer([
            .json(200, #"{"FailedCount":1,"SuccessCount":1,"FailedFindings":[{"Id":"f-1","ErrorCode":"InvalidInput","ErrorMessage":"Title is required"}]}"#)
        ])
        let error = await #expect(throws: SecurityHubImportError.self) {
            try await SecurityHubClient(client: try makeClient(server)).batchImportFindings([Finding(Id: "f-0"), Finding(Id: "f-1")])
        }
        #expect(error?.failures == ["f-1: InvalidInput: Title is required"])
        #expect(server.requests.count == 1)
    }

    @Test func securityHubErrorsCarryTheirCode() async throws {
        let server = try scriptedServer([
            .json(401, #"{"Code":"InvalidAccessException","Message":"Account 123456789012 is not subscribed to AWS Security Hub"}"#)
        ])
        let error = await #expect(throws: AWSServiceError.self) {
            try await SecurityHubClient(client: try makeClient(server)).batchImportFindings([Finding(Id: "f-0")])
        }
        #expect(error?.code == "InvalidAccessException")
        #expect(error?.message.contains("not subscribed") == true)
    }

    @Test func snsPublishesAFormEncodedQueryAndReadsItsXMLAnswers() async throws {
        let server = try scriptedServer([
            .respond(status: 200, headers: [("Content-Type", "text/xml")], body: Data(
                "<PublishResponse><PublishResult><MessageId>m-1</MessageId></PublishResult></PublishResponse>".utf8)),
            .respond(status: 403, headers: [("Content-Type", "text/xml")], body: Data(
                "<ErrorResponse><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>not authorized to perform: SNS:Publish</Message></Error></ErrorResponse>".utf8)),
        ])
        let sns = SNSClient(client: try makeClient(server))
        let id = try await sns.publish(topicArn: "arn:aws:sns:eu-west-1:123456789012:alerts", message: #"{"a":"b & c"}"#, subject: "PCI DSS 8.2.6: 1 user")
        #expect(id == "m-1")
        let form = String(decoding: server.requests[0].body, as: UTF8.self)
        #expect(form == "Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aeu-west-1%3A123456789012%3Aalerts"
            + "&Message=%7B%22a%22%3A%22b%20%26%20c%22%7D&Subject=PCI%20DSS%208.2.6%3A%201%20user")
        #expect(server.requests[0].header("Content-Type")?.hasPrefix("application/x-www-form-urlencoded") == true)
        let error = await #expect(throws: AWSServiceError.self) {
            try await sns.publish(topicArn: "arn:aws:sns:eu-west-1:123456789012:alerts", message: "{}", subject: "s")
        }
        #expect(error?.code == "AuthorizationError")
    }
}

@Suite struct ProtocolTests {
    @Test func jsonRequestCarriesTargetContentTypeAndSignature() async throws {
        let server = try scriptedServer([.json(200, "{}")])
        let client = try makeClient(server)
        _ = try await client.json(.identityStore, "DescribeUser", Item(name: "u-1"), as: AWSEmptyOutput.self)

        let request = try #require(server.requests.first)
        #expect(request.method == "POST")
        #expect(request.path == "/")
        #expect(request.header("X-Amz-Target") == "AWSIdentityStore.DescribeUser")
        #expect(request.header("Content-Type") == "application/x-amz-json-1.1")
        #expect(request.header("X-Amz-Security-Token") == "token-value")
        #expect(request.header("Host") == server.hostAndPort)
        let authorization = try #require(request.header("Authorization"))
        #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDTEST/"))
        #expect(authorization.contains("/eu-west-1/identitystore/aws4_request"))
        #expect(authorization.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target,"))
        #expect(try JSONDecoder().decode(Item.self, from: request.body) == Item(name: "u-1"))
    }

    @Test func restRequestEncodesThePathAndSendsThePayloadHash() async throws {
        let server = try scriptedServer([.respond(status: 200, headers: [("ETag", "\"abc\"")])])
        let client = try makeClient(server)
        let response = try await client.rest(
            .s3, "PutObject", method: "PUT", path: "/bucket/reports/a b+c.csv",
            headers: ["Content-Type": "text/csv"], body: Data("hello".utf8))

        #expect(response.headers["ETag"] == "\"abc\"")
        let request = try #require(server.requests.first)
        #expect(request.method == "PUT")
        #expect(request.path == "/bucket/reports/a%20b%2Bc.csv")
        #expect(request.header("x-amz-content-sha256") == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        #expect(request.header("Authorization")?.contains("/eu-west-1/s3/aws4_request") == true)
        #expect(request.body == Data("hello".utf8))
    }

    @Test func undecodableSuccessIsAClearError() async throws {
        let server = try scriptedServer([.json(200, #"{"unexpected":1}"#)])
        let client = try makeClient(server)
        let error = try await #require(throws: AWSResponseDecodingError.self) {
            try await client.json(.dynamoDB, "GetItem", Item(name: "x"), as: Item.self)
        }
        #expect(error.description.contains("DYNAMODB GetItem"))
    }
}
