@testable import AWSClient
import Foundation
import Synchronization
import Testing

@Suite struct ServiceModelTests {
    @Test func paginatorFollowsTokensToTheEnd() async throws {
        let pages: [String?: ([Int], String?)] = [nil: ([1, 2], "a"), "a": ([3], "b"), "b": ([4, 5], nil)]
        let calls = Mutex(0)
        let paginator = Paginator<Int, String>("Test List") { token in
            calls.withLock { $0 += 1 }
            let page = pages[token]!
            return (page.0, page.1)
        }
        #expect(try await paginator.all() == [1, 2, 3, 4, 5])
        #expect(calls.withLock { $0 } == 3)
    }

    @Test func paginatorStopsWhenTheServiceRepeatsItsToken() async throws {
        let paginator = Paginator<Int, String>("Test List") { _ in ([1], "same") }
        await #expect(throws: PaginationError.self) { try await paginator.all() }
    }

    @Test func sqsBatchesHoldAtMostTenEntriesAnd256KiB() {
        let small = Array(repeating: "x", count: 23)
        #expect(SQSClient.batches(of: small) == [0..<10, 10..<20, 20..<23])
        let big = Array(repeating: String(repeating: "y", count: 100_000), count: 5)
        #expect(SQSClient.batches(of: big) == [0..<2, 2..<4, 4..<5])
        #expect(SQSClient.batches(of: []).isEmpty)
    }

    @Test func s3AddressingIsVirtualHostedOnAWSAndPathStyleOnEmulators() throws {
        let aws = try EndpointResolver(region: "eu-west-1", environment: [:]).endpoint(for: .s3)
        #expect(S3Client.address(bucket: "reports", key: "a/b.csv", endpoint: aws) == ("reports.", "/a/b.csv"))
        #expect(S3Client.address(bucket: "my.reports", key: "k", endpoint: aws) == ("", "/my.reports/k"))
        let local = try EndpointResolver(region: "eu-west-1", environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:1"]).endpoint(for: .s3)
        #expect(S3Client.address(bucket: "reports", key: "k", endpoint: local) == ("", "/reports/k"))
    }

    @Test func attributeValuesUseDynamoDBsWireFormat() throws {
        let item: DynamoDBItem = [
            "UserId": .string("u-1"), "Count": .number("42"), "Active": .bool(true), "Gone": .null,
            "Tags": .stringSet(["a"]), "Nested": .map(["L": .list([.string("x")])]),
        ]
        let json = String(decoding: try JSONEncoder().encode(item), as: UTF8.self)
        #expect(json.contains(#""UserId":{"S":"u-1"}"#))
        #expect(json.contains(#""Count":{"N":"42"}"#))
        #expect(json.contains(#""Gone":{"NULL":true}"#))
        #expect(try JSONDecoder().decode(DynamoDBItem.self, from: Data(json.utf8)) == item)
    }

    @Test func timestampsDecodeFromEpochSecondsOrISO8601() throws {
        let decoded = try JSONDecoder().decode([AWSTimestamp].self, from: Data(#"[1782900000.5, "2026-07-01T10:00:00Z"]"#.utf8))
        #expect(decoded[0].date.timeIntervalSince1970 == 1_782_900_000.5)
        #expect(decoded[1].date.timeIntervalSince1970 == 1_782_900_000)
    }
}
