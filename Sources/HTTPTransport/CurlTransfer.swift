import CCurl
import FoundationEssentials
import Synchronization

/// One request on one libcurl easy handle, from setup to the resumed continuation.
///
/// After `CurlMultiLoop.submit` hands it over, only the loop thread touches it, except for the
/// atomic `isCancelled` flag; hence `@unchecked Sendable`.
final class CurlTransfer: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    let isCancelled = Atomic<Bool>(false)
    var continuation: CheckedContinuation<HTTPResponse, any Error>?

    private let url: String
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
    private var responseHeaders = HTTPHeaders()
    private var responseBody = Data()

    init(_ request: HTTPRequest, connectTimeout: Duration, caBundle: String?) throws {
        guard let handle = ccurl_easy_init() else {
            throw HTTPTransportError(kind: .other, message: "libcurl could not create a handle")
        }
        self.handle = handle
        self.url = request.url
        errorBuffer.initialize(to: 0)
        try configure(for: request, connectTimeout: connectTimeout, caBundle: caBundle)
    }

    deinit {
        ccurl_easy_cleanup(handle)
        ccurl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    private func configure(for request: HTTPRequest, connectTimeout: Duration, caBundle: String?) throws {
        try set(CURLOPT_URL, string: request.url)
        try set(CURLOPT_PROTOCOLS_STR, string: "http,https")
        try set(CURLOPT_NOSIGNAL, 1)
        try set(CURLOPT_TCP_KEEPALIVE, 1)
        try set(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1)
        try set(CURLOPT_CONNECTTIMEOUT_MS, connectTimeout.milliseconds)
        try set(CURLOPT_TIMEOUT_MS, request.timeout?.milliseconds ?? 0)
        if let caBundle { try set(CURLOPT_CAINFO, string: caBundle) }
        // Not left to OpenSSL's configuration, which the layer's libcurl does not read.
        try set(CURLOPT_SSLVERSION, Int(CURL_SSLVERSION_TLSv1_2))
        try check(ccurl_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))

        let userData = Unmanaged.passUnretained(self).toOpaque()
        try check(ccurl_easy_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, curlWriteBody))
        try check(ccurl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, userData))
        try check(ccurl_easy_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, curlWriteHeader))
        try check(ccurl_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, userData))

        switch request.method {
        case "GET" where request.body.isEmpty:
            try set(CURLOPT_HTTPGET, 1)
        case "HEAD":
            try set(CURLOPT_NOBODY, 1)
        default:
            try set(CURLOPT_CUSTOMREQUEST, string: request.method)
            if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
                try check(ccurl_easy_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
                try request.body.withUnsafeBytes { bytes in
                    // COPYPOSTFIELDS copies now, so the body need not outlive this call.
                    try check(ccurl_easy_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, bytes.baseAddress ?? UnsafeRawPointer(errorBuffer)))
                }
            }
        }

        var headers = request.headers
        // libcurl would add these on its own; an empty value tells it not to.
        if headers["Content-Type"] == nil { headers.add("Content-Type", "") }
        headers.add("Expect", "")
        for field in headers {
            // "Name;" is libcurl's way to send a header with an empty value; "Name:" removes it.
            let line = field.value.isEmpty && field.name != "Content-Type" && field.name != "Expect"
                ? "\(field.name);" : "\(field.name): \(field.value)"
            headerList = ccurl_slist_append(headerList, line)
        }
        try check(ccurl_easy_setopt_pointer(handle, CURLOPT_HTTPHEADER, headerList))
    }

    /// The response, or the transport error, once libcurl reports the transfer done.
    func outcome(_ code: CURLcode) -> Result<HTTPResponse, any Error> {
        guard code == CURLE_OK else {
            return .failure(transportError(code))
        }
        var status = 0
        _ = ccurl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: responseHeaders, body: responseBody))
    }

    private func transportError(_ code: CURLcode) -> HTTPTransportError {
        let kind: HTTPTransportError.Kind
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_SSL_CONNECT_ERROR:
            kind = .connect
        case CURLE_OPERATION_TIMEDOUT:
            kind = .timeout
        case CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE, CURLE_HTTP2,
            CURLE_HTTP2_STREAM:
            kind = .connectionLost
        default:
            kind = .other
        }
        let detail = String(cString: errorBuffer)
        let reason = detail.isEmpty ? String(cString: ccurl_easy_strerror(code)) : detail
        return HTTPTransportError(kind: kind, message: "\(reason) (\(url))")
    }

    fileprivate func appendBody(_ bytes: UnsafeRawBufferPointer) {
        responseBody.append(contentsOf: bytes)
    }

    fileprivate func appendHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        let line = String(decoding: bytes, as: UTF8.self).trimming("\r\n")
        if line.hasPrefix("HTTP/") {
            // A new status line (after a 100 Continue, say) starts a new header block.
            responseHeaders = HTTPHeaders()
        } else if let colon = line.firstIndex(of: ":") {
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimming(" \t")
            responseHeaders.add(name, value)
        }
    }

    private func set(_ option: CURLoption, _ value: Int) throws {
        try check(ccurl_easy_setopt_long(handle, option, value))
    }

    private func set(_ option: CURLoption, string: String) throws {
        try check(ccurl_easy_setopt_pointer(handle, option, string))
    }

    private func check(_ code: CURLcode) throws {
        guard code == CURLE_OK else {
            throw HTTPTransportError(kind: .other, message: "libcurl rejected an option: \(String(cString: ccurl_easy_strerror(code)))")
        }
    }
}

private let curlWriteBody: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, userData in
    guard let data, let userData else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userData).takeUnretainedValue()
    transfer.appendBody(UnsafeRawBufferPointer(start: data, count: size * count))
    return size * count
}

private let curlWriteHeader: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, userData in
    guard let data, let userData else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userData).takeUnretainedValue()
    transfer.appendHeaderLine(UnsafeRawBufferPointer(start: data, count: size * count))
    return size * count
}

extension Duration {
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}

extension StringProtocol {
    func trimming(_ set: String) -> String {
        let characters = Set(set)
        var slice = self[...]
        while let first = slice.first, characters.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, characters.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
