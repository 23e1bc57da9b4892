import AWSClient
import Compliance
import FoundationEssentials

/// The report bucket: every object SSE-KMS, with the report's customer-managed key when one is
/// configured, else the bucket's default.
public struct S3ReportStore: ReportStore {
    let s3: any S3API
    let bucket: String
    let kmsKeyId: String?

    public init(s3: any S3API, bucket: String, kmsKeyId: String?) {
        self.s3 = s3
        self.bucket = bucket
        self.kmsKeyId = kmsKeyId
    }

    public func location(of key: String) -> String { "s3://\(bucket)/\(key)" }

    public func write(_ body: Data, key: String, contentType: String) async throws {
        try await s3.putObject(bucket: bucket, key: key, body: body, contentType: contentType, encryption: .kms(keyId: kmsKeyId))
    }

    public func read(_ key: String) async throws -> Data? {
        do {
            return try await s3.getObject(bucket: bucket, key: key)
        } catch let error as AWSServiceError where error.code == "NoSuchKey" {
            return nil
        }
    }

    public func remove(_ key: String) async throws {
        try await s3.deleteObject(bucket: bucket, key: key)
    }
}
