@testable import AWSClient
import Foundation
import HTTPTransport
import Testing

@Suite struct EndpointTests {
    struct Case: Sendable, CustomStringConvertible {
        let service: AWSService
        let region: String
        let url: String
        let signingRegion: String
        var description: String { "\(service) in \(region)" }
    }

    static let standardEndpoints: [Case] = [
        Case(service: .dynamoDB, region: "eu-west-1", url: "https://dynamodb.eu-west-1.amazonaws.com", signingRegion: "eu-west-1"),
        Case(service: .ssoAdmin, region: "us-east-2", url: "https://sso.us-east-2.amazonaws.com", signingRegion: "us-east-2"),
        Case(service: .identityStore, region: "ap-southeast-2", url: "https://identitystore.ap-southeast-2.amazonaws.com", signingRegion: "ap-southeast-2"),
        Case(service: .cloudTrail, region: "cn-north-1", url: "https://cloudtrail.cn-north-1.amazonaws.com.cn", signingRegion: "cn-north-1"),
        Case(service: .sqs, region: "us-gov-west-1", url: "https://sqs.us-gov-west-1.amazonaws.com", signingRegion: "us-gov-west-1"),
        Case(service: .s3, region: "us-gov-east-1", url: "https://s3.us-gov-east-1.amazonaws.com", signingRegion: "us-gov-east-1"),
        Case(service: .organizations, region: "eu-central-1", url: "https://organizations.us-east-1.amazonaws.com", signingRegion: "us-east-1"),
        Case(service: .organizations, region: "cn-north-1", url: "https://organizations.cn-northwest-1.amazonaws.com.cn", signingRegion: "cn-northwest-1"),
        Case(service: .organizations, region: "us-gov-east-1", url: "https://organizations.us-gov-west-1.amazonaws.com", signingRegion: "us-gov-west-1"),
    ]

    @Test(arguments: standardEndpoints)
    func standardEndpoint(_ expected: Case) throws {
        let endpoint = try EndpointResolver(region: expected.region, environment: [:]).endpoint(for: expected.service)
        #expect(endpoint.url == expected.url)
        #expect(endpoint.signingRegion == expected.signingRegion)
        #expect(!endpoint.isCustom)
    }

    @Test func serviceVariableWinsOverTheGeneralOneWhichWinsOverTheStandard() throws {
        let resolver = EndpointResolver(region: "eu-west-1", environment: [
            "AWS_ENDPOINT_URL": "http://127.0.0.1:5000/",
            "AWS_ENDPOINT_URL_SSO_ADMIN": "http://localhost:6000",
        ])
        #expect(try resolver.endpoint(for: .ssoAdmin).url == "http://localhost:6000")
        #expect(try resolver.endpoint(for: .dynamoDB).url == "http://127.0.0.1:5000")
        #expect(try resolver.endpoint(for: .dynamoDB).authority == "127.0.0.1:5000")
        #expect(try resolver.endpoint(for: .dynamoDB).isCustom)
        let ignoring = EndpointResolver(region: "eu-west-1", environment: [
            "AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
        ])
        #expect(try ignoring.endpoint(for: .dynamoDB).url == "https://dynamodb.eu-west-1.amazonaws.com")
    }

    @Test(arguments: ["ftp://host", "127.0.0.1:5000", "http://", "http://host:99999", "http://user@host"])
    func malformedEndpointIsAConfigurationError(_ value: String) {
        let resolver = EndpointResolver(region: "eu-west-1", environment: ["AWS_ENDPOINT_URL_SQS": value])
        #expect(throws: AWSConfigurationError.self) { try resolver.endpoint(for: .sqs) }
    }

    @Test func regionComesFromAWSRegionThenTheDefault() throws {
        #expect(try resolveRegion(environment: ["AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-1"]) == "eu-west-1")
        #expect(try resolveRegion(environment: ["AWS_DEFAULT_REGION": "us-east-1"]) == "us-east-1")
        #expect(throws: AWSConfigurationError.self) { try resolveRegion(environment: [:]) }
        #expect(throws: AWSConfigurationError.self) { try resolveRegion(environment: ["AWS_REGION": "eu west 1"]) }
    }

    @Test func caBundleComesFromAWSCABundleThenTheSystem() throws {
        let bundle = FileManager.default.temporaryDirectory.appendingPathComponent("ca-\(UUID().uuidString).pem").path
        try Data("not checked here".utf8).write(to: URL(fileURLWithPath: bundle))
        defer { try? FileManager.default.removeItem(atPath: bundle) }
        #expect(try resolveCABundle(environment: ["AWS_CA_BUNDLE": bundle]) == bundle)
        #expect(try resolveCABundle(environment: [:]) == CurlHTTPClient.Configuration.systemCABundle)
        #expect(try resolveCABundle(environment: ["AWS_CA_BUNDLE": ""]) == CurlHTTPClient.Configuration.systemCABundle)
        #expect(throws: AWSConfigurationError.self) { try resolveCABundle(environment: ["AWS_CA_BUNDLE": bundle + ".missing"]) }
    }
}

@Suite struct CredentialTests {
    @Test func environmentCredentials() throws {
        let credentials = try AWSCredentials.resolve(environment: [
            "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3cr3t", "AWS_SESSION_TOKEN": "tok3n",
        ])
        #expect(credentials.accessKeyId == "AKID")
        #expect(credentials.secretAccessKey == "s3cr3t")
        #expect(credentials.sessionToken == "tok3n")
        #expect(!"\(credentials)".contains("s3cr3t"))
        #expect(!"\(credentials)".contains("tok3n"))
    }

    @Test func halfAKeyPairIsAClearError() {
        let error = #expect(throws: AWSConfigurationError.self) {
            try AWSCredentials.resolve(environment: ["AWS_ACCESS_KEY_ID": "AKID"])
        }
        #expect(error?.description == "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
    }

    @Test func sharedCredentialsFileProfile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("credentials-\(UUID().uuidString)")
        try """
            [default]
            aws_access_key_id = DEFAULTKEY
            aws_secret_access_key = defaultsecret

            # the auditor's profile
            [audit]
            aws_access_key_id=AUDITKEY
            aws_secret_access_key = auditsecret
            aws_session_token = audittoken
            """.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }

        let audit = try AWSCredentials.resolve(environment: ["AWS_SHARED_CREDENTIALS_FILE": file.path, "AWS_PROFILE": "audit"])
        #expect(audit.accessKeyId == "AUDITKEY")
        #expect(audit.secretAccessKey == "auditsecret")
        #expect(audit.sessionToken == "audittoken")
        let fallback = try AWSCredentials.resolve(environment: ["AWS_SHARED_CREDENTIALS_FILE": file.path])
        #expect(fallback.accessKeyId == "DEFAULTKEY")
        #expect(throws: AWSConfigurationError.self) {
            try AWSCredentials.resolve(environment: ["AWS_SHARED_CREDENTIALS_FILE": file.path, "AWS_PROFILE": "missing"])
        }
    }

    @Test func noCredentialsAnywhereIsAClearError() {
        let error = #expect(throws: AWSConfigurationError.self) {
            try AWSCredentials.resolve(environment: ["HOME": "/nonexistent-home"])
        }
        #expect(error?.description.contains("No AWS credentials") == true)
    }
}
