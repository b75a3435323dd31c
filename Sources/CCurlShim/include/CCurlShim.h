#ifndef CCURLSHIM_H
#define CCURLSHIM_H
// One synchronous HTTP exchange through libcurl, loaded with dlopen on first use so that
// programs which never make a request never pay for libcurl and its ~20 libraries at start-up.
#include <stddef.h>

/// Returned by `latchkey_curl_perform` when libcurl could not be loaded (see `error`).
#define LATCHKEY_CURL_UNAVAILABLE (-1)

/// Set from another thread to abort a running exchange (checked by curl's progress callback).
typedef struct {
    int cancelled;
} latchkey_curl_cancel_flag;

void latchkey_curl_cancel(latchkey_curl_cancel_flag *flag);
int latchkey_curl_cancel_flag_is_set(latchkey_curl_cancel_flag *flag);

typedef struct {
    /// 0 on success, a CURLcode (> 0) or LATCHKEY_CURL_UNAVAILABLE.
    int code;
    /// Human-readable failure (curl's error buffer or dlopen's message); empty on success.
    char error[512];
    long status;
    /// Every header line received, status lines included, as sent (CRLF separated).
    char *headers;
    size_t headers_length;
    char *body;
    size_t body_length;
} latchkey_curl_result;

/// Performs one request and fills `result` (free it with `latchkey_curl_result_free`).
/// `headers` are `count` complete lines ("Name: value"). `proxy` NULL lets libcurl read the
/// proxy variables itself; "" connects directly; anything else is the proxy URL, used for this
/// request whatever `no_proxy` says (the caller has applied it).
/// Redirects are not followed; only http and https are allowed; the response body is capped at
/// `max_body_bytes` (exceeding it fails with CURLE_WRITE_ERROR).
void latchkey_curl_perform(const char *method, const char *url, const char *const *headers,
                           size_t header_count, const void *body, size_t body_length,
                           long timeout_ms, long connect_timeout_ms, const char *user_agent,
                           const char *proxy, size_t max_body_bytes,
                           latchkey_curl_cancel_flag *cancel, latchkey_curl_result *result);

void latchkey_curl_result_free(latchkey_curl_result *result);

/// Loads libcurl if needed; returns 1 when it is usable (message in `error` otherwise).
int latchkey_curl_load(char *error, size_t error_length);

#endif
