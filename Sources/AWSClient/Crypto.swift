import COpenSSL
import FoundationEssentials

/// SHA-256 and HMAC-SHA256 from OpenSSL's libcrypto: all SigV4 needs.
enum Crypto {
    static func sha256<Bytes: ContiguousBytes>(_ data: Bytes) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let succeeded = data.withUnsafeBytes { bytes in
            EVP_Digest(bytes.baseAddress, bytes.count, &digest, &length, EVP_sha256(), nil)
        }
        precondition(succeeded == 1, "libcrypto's SHA-256 failed")
        return Array(digest.prefix(Int(length)))
    }

    static func hmacSHA256<Key: ContiguousBytes, Bytes: ContiguousBytes>(key: Key, _ data: Bytes) -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { keyBytes in
            data.withUnsafeBytes { bytes in
                HMAC(EVP_sha256(), keyBytes.baseAddress, Int32(keyBytes.count),
                     bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, &mac, &length)
            }
        }
        precondition(result != nil, "libcrypto's HMAC-SHA256 failed")
        return Array(mac.prefix(Int(length)))
    }
}

extension Sequence<UInt8> {
    /// Lower-case hexadecimal, as SigV4 writes hashes and signatures.
    var hexEncoded: String {
        let digits = Array("0123456789abcdef".utf8)
        var characters: [UInt8] = []
        characters.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            characters.append(digits[Int(byte >> 4)])
            characters.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: characters, as: UTF8.self)
    }
}
