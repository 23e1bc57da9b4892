#ifndef CCURL_H
#define CCURL_H

// Typed, non-variadic access to libcurl, loaded at run time with dlopen.
//
// The bootstrap must not be linked against libcurl: a distribution's libcurl exports versioned
// symbols (Debian's CURL_OPENSSL_4) that Amazon Linux's libcurl does not provide. The header's
// declarations give us the types; the functions come from the runtime-libs layer's
// libcurl-https.so.4 where it is on the library path, else from the system's libcurl.so.4.
// Swift cannot call C variadic functions, so curl_easy_setopt and friends get one wrapper per
// argument type.

#include <curl/curl.h>
#include <stddef.h>

/// Loads libcurl (see above) and resolves every function used below. Returns NULL on success, else a
/// static message naming what failed. Safe to call more than once; not thread-safe on first call.
const char *ccurl_load(void);

CURLcode ccurl_global_init(void);
/// The file libcurl was loaded from (the layer's or the system's), or NULL before ccurl_load.
const char *ccurl_library_path(void);
const char *ccurl_version(void);

CURL *ccurl_easy_init(void);
void ccurl_easy_cleanup(CURL *handle);
CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode ccurl_easy_setopt_offset(CURL *handle, CURLoption option, curl_off_t value);
CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, const void *value);
CURLcode ccurl_easy_setopt_data_callback(CURL *handle, CURLoption option,
                                         size_t (*callback)(char *, size_t, size_t, void *));
CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
const char *ccurl_easy_strerror(CURLcode code);

struct curl_slist *ccurl_slist_append(struct curl_slist *list, const char *value);
void ccurl_slist_free_all(struct curl_slist *list);

CURLM *ccurl_multi_init(void);
CURLMcode ccurl_multi_cleanup(CURLM *multi);
CURLMcode ccurl_multi_setopt_long(CURLM *multi, CURLMoption option, long value);
CURLMcode ccurl_multi_add_handle(CURLM *multi, CURL *handle);
CURLMcode ccurl_multi_remove_handle(CURLM *multi, CURL *handle);
CURLMcode ccurl_multi_perform(CURLM *multi, int *running);
CURLMcode ccurl_multi_poll(CURLM *multi, int timeout_ms, int *numfds);
CURLMcode ccurl_multi_wakeup(CURLM *multi);
CURLMsg *ccurl_multi_info_read(CURLM *multi, int *queued);
const char *ccurl_multi_strerror(CURLMcode code);

/// The result of a finished transfer, out of CURLMsg's union.
static inline CURLcode ccurl_msg_result(const CURLMsg *message) { return message->data.result; }
static inline int ccurl_msg_is_done(const CURLMsg *message) { return message->msg == CURLMSG_DONE; }

#endif
