// dladdr is a GNU extension.
#define _GNU_SOURCE
#include "CCurl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdarg.h>

static struct {
    CURLcode (*global_init)(long);
    char *(*version)(void);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
    CURLMcode (*multi_wakeup)(CURLM *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    const char *(*multi_strerror)(CURLMcode);
} api;

static int loaded = 0;
static char library_path[4096];

#define RESOLVE(field, symbol)                                  \
    do {                                                        \
        *(void **)(&api.field) = dlsym(library, #symbol);      \
        if (api.field == NULL) return "libcurl lacks " #symbol; \
    } while (0)

// The runtime-libs layer's libcurl, built for HTTP and HTTPS only (scripts/packaging/build-libcurl),
// goes by a name of its own: under libcurl.so.4, Lambda's library path would find the image's first.
// Elsewhere (tests, a developer's machine) the system's libcurl serves.
static const char *const candidates[] = {"libcurl-https.so.4", "libcurl.so.4"};

const char *ccurl_load(void) {
    if (loaded) return NULL;
    void *library = NULL;
    for (size_t index = 0; library == NULL && index < sizeof candidates / sizeof *candidates; index++) {
        library = dlopen(candidates[index], RTLD_NOW | RTLD_LOCAL);
    }
    if (library == NULL) return "cannot load libcurl-https.so.4 or libcurl.so.4";
    RESOLVE(global_init, curl_global_init);
    RESOLVE(version, curl_version);
    RESOLVE(easy_init, curl_easy_init);
    RESOLVE(easy_cleanup, curl_easy_cleanup);
    RESOLVE(easy_setopt, curl_easy_setopt);
    RESOLVE(easy_getinfo, curl_easy_getinfo);
    RESOLVE(easy_strerror, curl_easy_strerror);
    RESOLVE(slist_append, curl_slist_append);
    RESOLVE(slist_free_all, curl_slist_free_all);
    RESOLVE(multi_init, curl_multi_init);
    RESOLVE(multi_cleanup, curl_multi_cleanup);
    RESOLVE(multi_setopt, curl_multi_setopt);
    RESOLVE(multi_add_handle, curl_multi_add_handle);
    RESOLVE(multi_remove_handle, curl_multi_remove_handle);
    RESOLVE(multi_perform, curl_multi_perform);
    RESOLVE(multi_poll, curl_multi_poll);
    RESOLVE(multi_wakeup, curl_multi_wakeup);
    RESOLVE(multi_info_read, curl_multi_info_read);
    RESOLVE(multi_strerror, curl_multi_strerror);
    Dl_info info;
    if (dladdr(*(void **)(&api.version), &info) != 0 && info.dli_fname != NULL) {
        snprintf(library_path, sizeof library_path, "%s", info.dli_fname);
    }
    loaded = 1;
    return NULL;
}

CURLcode ccurl_global_init(void) { return api.global_init(CURL_GLOBAL_DEFAULT); }
const char *ccurl_version(void) { return api.version(); }
const char *ccurl_library_path(void) { return loaded ? library_path : NULL; }

CURL *ccurl_easy_init(void) { return api.easy_init(); }
void ccurl_easy_cleanup(CURL *handle) { api.easy_cleanup(handle); }

CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return api.easy_setopt(handle, option, value);
}
CURLcode ccurl_easy_setopt_offset(CURL *handle, CURLoption option, curl_off_t value) {
    return api.easy_setopt(handle, option, value);
}
CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, const void *value) {
    return api.easy_setopt(handle, option, value);
}
CURLcode ccurl_easy_setopt_data_callback(CURL *handle, CURLoption option,
                                         size_t (*callback)(char *, size_t, size_t, void *)) {
    return api.easy_setopt(handle, option, callback);
}
CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return api.easy_getinfo(handle, info, value);
}
const char *ccurl_easy_strerror(CURLcode code) { return api.easy_strerror(code); }

struct curl_slist *ccurl_slist_append(struct curl_slist *list, const char *value) {
    return api.slist_append(list, value);
}
void ccurl_slist_free_all(struct curl_slist *list) { api.slist_free_all(list); }

CURLM *ccurl_multi_init(void) { return api.multi_init(); }
CURLMcode ccurl_multi_cleanup(CURLM *multi) { return api.multi_cleanup(multi); }
CURLMcode ccurl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return api.multi_setopt(multi, option, value);
}
CURLMcode ccurl_multi_add_handle(CURLM *multi, CURL *handle) { return api.multi_add_handle(multi, handle); }
CURLMcode ccurl_multi_remove_handle(CURLM *multi, CURL *handle) {
    return api.multi_remove_handle(multi, handle);
}
CURLMcode ccurl_multi_perform(CURLM *multi, int *running) { return api.multi_perform(multi, running); }
CURLMcode ccurl_multi_poll(CURLM *multi, int timeout_ms, int *numfds) {
    return api.multi_poll(multi, NULL, 0, timeout_ms, numfds);
}
CURLMcode ccurl_multi_wakeup(CURLM *multi) { return api.multi_wakeup(multi); }
CURLMsg *ccurl_multi_info_read(CURLM *multi, int *queued) { return api.multi_info_read(multi, queued); }
const char *ccurl_multi_strerror(CURLMcode code) { return api.multi_strerror(code); }
