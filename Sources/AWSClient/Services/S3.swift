import FoundationEssentials
import HTTPTransport

public enum ServerSideEncryption: Sendable, Hashable {
    case s3Managed
    /// SSE-KMS, with the bucket's default key when `keyId` is nil.
    case kms(keyId: String?)
}

public struct PutObjectOutput: Sendable {
    public let eTag: String?
    public let versionId: String?

    public init(eTag: String?, versionId: String?) {
        self.eTag = eTag
        self.versionId = versionId
    }
}

public protocol S3API: Sendable {
    @discardableResult
    func putObject(bucket: String, key: String, body: Data, contentType: String, encryption: ServerSideEncryption) async throws -> PutObjectOutput
    /// The object's bytes; `NoSuchKey` when there is none.
    func getObject(bucket: String, key: String) async throws -> Data
    /// Removes the object; removing one that is not there succeeds, as in S3.
    func deleteObject(bucket: String, key: String) async throws
}

public struct S3Client: S3API {
    let client: AWSClient

    public init(client: AWSClient) {
        self.client = client
    }

    @discardableResult
    public func putObject(
        bucket: String, key: String, body: Data, contentType: String, encryption: ServerSideEncryption
    ) async throws -> PutObjectOutput {
        var headers: HTTPHeaders = ["Content-Type": contentType]
        switch encryption {
        case .s3Managed:
            headers.add("X-Amz-Server-Side-Encryption", "AES256")
        case .kms(let keyId):
            headers.add("X-Amz-Server-Side-Encryption", "aws:kms")
            if let keyId { headers.add("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", keyId) }
        }
        let address = Self.address(bucket: bucket, key: key, endpoint: client.endpoint(for: .s3))
        let response = try await client.rest(
            .s3, "PutObject", method: "PUT", hostPrefix: address.hostPrefix, path: address.path, headers: headers, body: body)
        return PutObjectOutput(eTag: response.headers["ETag"], versionId: response.headers["x-amz-version-id"])
    }

    public func getObject(bucket: String, key: String) async throws -> Data {
        let address = Self.address(bucket: bucket, key: key, endpoint: client.endpoint(for: .s3))
        return try await client.rest(.s3, "GetObject", method: "GET", hostPrefix: address.hostPrefix, path: address.path).body
    }

    public func deleteObject(bucket: String, key: String) async throws {
        let address = Self.address(bucket: bucket, key: key, endpoint: client.endpoint(for: .s3))
        _ = try await client.rest(.s3, "DeleteObject", method: "DELETE", hostPrefix: address.hostPrefix, path: address.path)
    }

    /// Virtual-hosted (`bucket.s3.<region>…/key`) on AWS's own endpoints; path-style
    /// (`…/bucket/key`) on a configured endpoint (an emulator) or for a bucket name with dots,
    /// which would not match the wildcard certificate.
    static func address(bucket: String, key: String, endpoint: Endpoint) -> (hostPrefix: String, path: String) {
        if endpoint.isCustom || bucket.contains(".") {
            return ("", "/\(bucket)/\(key)")
        }
        return ("\(bucket).", "/\(key)")
    }
}
