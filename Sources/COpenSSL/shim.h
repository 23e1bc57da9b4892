#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H
// Only libcrypto's digest and MAC functions: SigV4 needs SHA-256 and HMAC-SHA256, nothing else.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#endif
