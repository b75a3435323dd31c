#include "CCurlShim.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// libcurl's ABI, declared here so no curl header is needed to build. These values are part of
// libcurl's stable ABI (option number = type base + index) and have not changed since 7.x.
typedef void CURL;
struct curl_slist;
typedef int64_t curl_off_t;

enum {
    OPT_LONG = 0,
    OPT_POINTER = 10000,
    OPT_FUNCTION = 20000,
    OPT_OFF_T = 30000,
};
enum {
    CURLOPT_WRITEDATA = OPT_POINTER + 1,
    CURLOPT_URL = OPT_POINTER + 2,
    CURLOPT_PROXY = OPT_POINTER + 4,
    CURLOPT_ERRORBUFFER = OPT_POINTER + 10,
    CURLOPT_NOPROXY = OPT_POINTER + 177,
    CURLOPT_WRITEFUNCTION = OPT_FUNCTION + 11,
    CURLOPT_POSTFIELDS = OPT_POINTER + 15,
    CURLOPT_USERAGENT = OPT_POINTER + 18,
    CURLOPT_HTTPHEADER = OPT_POINTER + 23,
    CURLOPT_HEADERDATA = OPT_POINTER + 29,
    CURLOPT_CUSTOMREQUEST = OPT_POINTER + 36,
    CURLOPT_NOPROGRESS = OPT_LONG + 43,
    CURLOPT_NOBODY = OPT_LONG + 44,
    CURLOPT_FOLLOWLOCATION = OPT_LONG + 52,
    CURLOPT_XFERINFODATA = OPT_POINTER + 57,
    CURLOPT_HEADERFUNCTION = OPT_FUNCTION + 79,
    CURLOPT_HTTPGET = OPT_LONG + 80,
    CURLOPT_NOSIGNAL = OPT_LONG + 99,
    CURLOPT_POSTFIELDSIZE_LARGE = OPT_OFF_T + 120,
    CURLOPT_TIMEOUT_MS = OPT_LONG + 155,
    CURLOPT_CONNECTTIMEOUT_MS = OPT_LONG + 156,
    CURLOPT_PROTOCOLS = OPT_LONG + 181,
    CURLOPT_XFERINFOFUNCTION = OPT_FUNCTION + 219,
    CURLOPT_PROTOCOLS_STR = OPT_POINTER + 318,
};
enum { CURLINFO_RESPONSE_CODE = 0x200000 + 2 };
enum { CURL_GLOBAL_DEFAULT = 3, CURLPROTO_HTTP = 1, CURLPROTO_HTTPS = 2 };
enum { CURLE_OK = 0, CURLE_FAILED_INIT = 2, CURLE_OUT_OF_MEMORY = 27 };

typedef size_t (*data_callback)(char *, size_t, size_t, void *);
typedef int (*xferinfo_callback)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t);

static struct {
    int (*global_init)(long);
    CURL *(*easy_init)(void);
    int (*easy_setopt)(CURL *, int, ...);
    int (*easy_perform)(CURL *);
    int (*easy_getinfo)(CURL *, int, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(int);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded;
static char load_error[512];

static void load_libcurl(void) {
#if defined(__APPLE__)
    static const char *const candidates[] = {"/usr/lib/libcurl.4.dylib", "libcurl.4.dylib", "libcurl.dylib"};
#else
    // libcurl-gnutls is ABI-compatible and present wherever git is installed on Debian/Ubuntu.
    static const char *const candidates[] = {"libcurl.so.4", "libcurl.so", "libcurl-gnutls.so.4"};
#endif
    void *library = NULL;
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates && library == NULL; i++) {
        library = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
    }
    if (library == NULL) {
        const char *reason = dlerror();
        snprintf(load_error, sizeof load_error, "%s", reason ? reason : "libcurl was not found");
        return;
    }
#define LOAD(field, name)                                                                          \
    *(void **)(&curl.field) = dlsym(library, name);                                                \
    if (curl.field == NULL) {                                                                      \
        snprintf(load_error, sizeof load_error, "libcurl lacks %s", name);                         \
        return;                                                                                    \
    }
    LOAD(global_init, "curl_global_init")
    LOAD(easy_init, "curl_easy_init")
    LOAD(easy_setopt, "curl_easy_setopt")
    LOAD(easy_perform, "curl_easy_perform")
    LOAD(easy_getinfo, "curl_easy_getinfo")
    LOAD(easy_cleanup, "curl_easy_cleanup")
    LOAD(easy_strerror, "curl_easy_strerror")
    LOAD(slist_append, "curl_slist_append")
    LOAD(slist_free_all, "curl_slist_free_all")
#undef LOAD
    // curl_global_init is not thread-safe on older libcurl: pthread_once runs it exactly once.
    int code = curl.global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK) {
        snprintf(load_error, sizeof load_error, "curl_global_init failed (%d)", code);
        return;
    }
    loaded = 1;
}

int latchkey_curl_load(char *error, size_t error_length) {
    pthread_once(&load_once, load_libcurl);
    if (!loaded && error != NULL && error_length > 0) snprintf(error, error_length, "%s", load_error);
    return loaded;
}

void latchkey_curl_cancel(latchkey_curl_cancel_flag *flag) {
    __atomic_store_n(&flag->cancelled, 1, __ATOMIC_RELEASE);
}

typedef struct {
    char *bytes;
    size_t length;
    size_t capacity;
    size_t limit;
} buffer;

static size_t append(char *data, size_t size, size_t count, void *context) {
    buffer *target = context;
    size_t length = size * count;
    if (length > target->limit - target->length) return 0;  // over the cap: abort the transfer
    if (target->length + length + 1 > target->capacity) {
        size_t capacity = target->capacity ? target->capacity : 4096;
        while (capacity < target->length + length + 1) capacity *= 2;
        char *grown = realloc(target->bytes, capacity);
        if (grown == NULL) return 0;
        target->bytes = grown;
        target->capacity = capacity;
    }
    memcpy(target->bytes + target->length, data, length);
    target->length += length;
    target->bytes[target->length] = 0;
    return length;
}

int latchkey_curl_cancel_flag_is_set(latchkey_curl_cancel_flag *flag) {
    return __atomic_load_n(&flag->cancelled, __ATOMIC_ACQUIRE);
}

static int progress(void *context, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
    (void)a, (void)b, (void)c, (void)d;
    latchkey_curl_cancel_flag *flag = context;
    return flag != NULL && latchkey_curl_cancel_flag_is_set(flag);  // non-zero aborts the transfer
}

void latchkey_curl_perform(const char *method, const char *url, const char *const *headers,
                           size_t header_count, const void *body, size_t body_length,
                           long timeout_ms, long connect_timeout_ms, const char *user_agent,
                           const char *proxy, size_t max_body_bytes,
                           latchkey_curl_cancel_flag *cancel, latchkey_curl_result *result) {
    memset(result, 0, sizeof *result);
    if (!latchkey_curl_load(result->error, sizeof result->error)) {
        result->code = LATCHKEY_CURL_UNAVAILABLE;
        return;
    }
    CURL *handle = curl.easy_init();
    if (handle == NULL) {
        result->code = CURLE_FAILED_INIT;
        snprintf(result->error, sizeof result->error, "curl_easy_init failed");
        return;
    }
    struct curl_slist *list = NULL;
    int out_of_memory = 0;
    for (size_t i = 0; i < header_count && !out_of_memory; i++) {
        struct curl_slist *next = headers[i] ? curl.slist_append(list, headers[i]) : NULL;
        if (next == NULL) out_of_memory = 1; else list = next;
    }
    // No "Expect: 100-continue" round trip before the body.
    struct curl_slist *next = out_of_memory ? NULL : curl.slist_append(list, "Expect:");
    if (next == NULL) out_of_memory = 1; else list = next;

    buffer head = {.limit = 1 << 20}, payload = {.limit = max_body_bytes};
    int code = out_of_memory ? CURLE_OUT_OF_MEMORY : CURLE_OK;
    if (code == CURLE_OK) {
        // Buffer of at least CURL_ERROR_SIZE (256) bytes that curl fills with a readable reason.
        curl.easy_setopt(handle, CURLOPT_ERRORBUFFER, result->error);
        curl.easy_setopt(handle, CURLOPT_URL, url);
        curl.easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
        curl.easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
        if (curl.easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
            curl.easy_setopt(handle, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
        }
        curl.easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl.easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
        if (user_agent != NULL) curl.easy_setopt(handle, CURLOPT_USERAGENT, user_agent);
        // The caller already applied NO_PROXY (and decided: "" = connect directly), so curl never
        // reads proxy variables from the environment. The NOPROXY list is a second line of defence:
        // loopback, link-local and the AWS container/IMDS addresses are never sent to a proxy
        // (the CIDR entries need libcurl 7.86 or later; older versions skip them).
        curl.easy_setopt(handle, CURLOPT_PROXY, proxy != NULL ? proxy : "");
        curl.easy_setopt(handle, CURLOPT_NOPROXY,
                         "localhost,127.0.0.0/8,::1,169.254.0.0/16,fe80::/10,fd00:ec2::23,fd00:ec2::254");
        curl.easy_setopt(handle, CURLOPT_HTTPHEADER, list);
        curl.easy_setopt(handle, CURLOPT_HEADERFUNCTION, (data_callback)append);
        curl.easy_setopt(handle, CURLOPT_HEADERDATA, &head);
        curl.easy_setopt(handle, CURLOPT_WRITEFUNCTION, (data_callback)append);
        curl.easy_setopt(handle, CURLOPT_WRITEDATA, &payload);
        curl.easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
        curl.easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, (xferinfo_callback)progress);
        curl.easy_setopt(handle, CURLOPT_XFERINFODATA, cancel);
        if (strcmp(method, "GET") == 0) {
            curl.easy_setopt(handle, CURLOPT_HTTPGET, 1L);
        } else if (strcmp(method, "HEAD") == 0) {
            curl.easy_setopt(handle, CURLOPT_NOBODY, 1L);
        } else {
            // POSTFIELDS makes it a POST with this exact body (not copied: it outlives perform).
            curl.easy_setopt(handle, CURLOPT_POSTFIELDS, body_length > 0 ? body : "");
            curl.easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
            if (strcmp(method, "POST") != 0) curl.easy_setopt(handle, CURLOPT_CUSTOMREQUEST, method);
        }
        code = curl.easy_perform(handle);
    }
    if (code == CURLE_OK) {
        curl.easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &result->status);
        result->error[0] = 0;
    } else if (result->error[0] == 0) {
        snprintf(result->error, sizeof result->error, "%s", curl.easy_strerror(code));
    }
    result->code = code;
    result->headers = head.bytes;
    result->headers_length = head.length;
    result->body = payload.bytes;
    result->body_length = payload.length;
    curl.easy_cleanup(handle);
    curl.slist_free_all(list);
}

void latchkey_curl_result_free(latchkey_curl_result *result) {
    free(result->headers);
    free(result->body);
    result->headers = NULL;
    result->body = NULL;
}
