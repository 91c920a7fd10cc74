// The least a Lambda runtime over libcurl can do per invocation, shared by the C rows of the
// benchmark (reference-loop.c: an echo; price-function.c: the direct price update). It GETs /next
// and POSTs /response (or /error) on one reused easy handle, so the keep-alive connection is
// reused for every request.
//
// What it sets, and why (the same duties the Swift runtime has):
// - no timeout on /next: Lambda freezes the process between invocations, for seconds or hours;
//   a client timeout there would fail after every thaw. Only the connect step has a short limit.
// - TCP_NODELAY: request and response are small; Nagle plus delayed ACK would add 40 ms stalls.
// - an empty "Expect:" header: otherwise curl waits for "100 Continue" before sending large bodies.
// - HTTP/1.1 forced, proxies ignored (the Runtime API is on the local link), no signals.
// Errors of the loop itself exit non-zero so the benchmark notices; a real runtime would report them.
#ifndef LAMBDA_LOOP_H
#define LAMBDA_LOOP_H

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *data;
    size_t length, capacity;
} Buffer;

// Appends `length` bytes; 0 when memory ran out.
static int buffer_append(Buffer *buffer, const char *data, size_t length) {
    if (buffer->length + length > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 65536;
        while (capacity < buffer->length + length) capacity *= 2;
        char *grown = realloc(buffer->data, capacity);
        if (!grown) return 0;
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->length, data, length);
    buffer->length += length;
    return 1;
}

static size_t append_body(char *data, size_t size, size_t count, void *context) {
    return buffer_append(context, data, size * count) ? size * count : 0;  // 0 makes curl fail the transfer
}

static size_t keep_request_id(char *line, size_t size, size_t count, void *context) {
    static const char name[] = "lambda-runtime-aws-request-id:";
    char *request_id = context;
    size_t length = size * count;
    if (length > sizeof name - 1 && strncasecmp(line, name, sizeof name - 1) == 0) {
        size_t start = sizeof name - 1, end = length;
        while (start < end && line[start] == ' ') start++;
        while (end > start && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' ')) end--;
        if (end - start >= 128) end = start + 127;
        memcpy(request_id, line + start, end - start);
        request_id[end - start] = 0;
    }
    return length;
}

static size_t discard(char *data, size_t size, size_t count, void *context) {
    (void)data;
    (void)context;
    return size * count;
}

// A handler points `answer` at its answer's bytes (valid until its next call; the event's own
// bytes for an echo) and returns 0 for a result (POSTed to /response) or non-zero for an error
// JSON (POSTed to /error).
typedef int (*lambda_handler)(const char *event, size_t length, const char **answer, size_t *answer_length,
                              void *context);

static int lambda_loop(const char *name, lambda_handler handler, void *context) {
    const char *runtime_api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!runtime_api) {
        fprintf(stderr, "%s: AWS_LAMBDA_RUNTIME_API is not set\n", name);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_ALL);
    CURL *handle = curl_easy_init();
    if (!handle) return 1;
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT, 0L);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(handle, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(handle, CURLOPT_PROXY, "");
    curl_easy_setopt(handle, CURLOPT_USERAGENT, name);

    char next_url[256], answer_url[512], request_id[128];
    snprintf(next_url, sizeof next_url, "http://%s/2018-06-01/runtime/invocation/next", runtime_api);
    struct curl_slist *post_headers = curl_slist_append(NULL, "Content-Type: application/json");
    post_headers = curl_slist_append(post_headers, "Expect:");
    Buffer event = {0};

    for (;;) {
        event.length = 0;
        request_id[0] = 0;
        curl_easy_setopt(handle, CURLOPT_URL, next_url);
        curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(handle, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, append_body);
        curl_easy_setopt(handle, CURLOPT_WRITEDATA, &event);
        curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, keep_request_id);
        curl_easy_setopt(handle, CURLOPT_HEADERDATA, request_id);
        CURLcode result = curl_easy_perform(handle);
        long status = 0;
        curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
        if (result != CURLE_OK || status != 200 || !request_id[0]) {
            fprintf(stderr, "%s: /next failed: %s, status %ld\n", name, curl_easy_strerror(result), status);
            return 1;
        }

        const char *answer = "";
        size_t answer_length = 0;
        int failed = handler(event.data ? event.data : "", event.length, &answer, &answer_length, context);
        snprintf(answer_url, sizeof answer_url, "http://%s/2018-06-01/runtime/invocation/%s/%s", runtime_api, request_id,
                 failed ? "error" : "response");
        curl_easy_setopt(handle, CURLOPT_URL, answer_url);
        curl_easy_setopt(handle, CURLOPT_POST, 1L);
        curl_easy_setopt(handle, CURLOPT_POSTFIELDS, answer);
        curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE, (long)answer_length);
        curl_easy_setopt(handle, CURLOPT_HTTPHEADER, post_headers);
        curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, discard);
        result = curl_easy_perform(handle);
        curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
        if (result != CURLE_OK || status != 202) {
            fprintf(stderr, "%s: /%s failed: %s, status %ld\n", name, failed ? "error" : "response",
                    curl_easy_strerror(result), status);
            return 1;
        }
    }
}

#endif
