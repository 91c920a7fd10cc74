// The row to beat for PriceCacheHandler's writes: the same price update written in C as one would
// by hand, with libcurl (lambda-loop.h, the same Runtime API loop as the C echo), cJSON and hiredis.
//
// A direct invoke `{"symbol","close","open","high","low","volume","timestamp","source"?}` is parsed,
// checked (every field present, strings or numbers; symbol a non-empty string) and written as
// `HSET price:{symbol} close .. open .. high .. low .. volume .. timestamp .. source ..` plus
// `EXPIRE price:{symbol} 300`, both pipelined in one round trip. An `aws:kinesis` event
// (`{"Records":[...]}`) does the same for every record's base64 `data`, every record's two commands
// in one round trip, and answers the records that failed in `batchItemFailures`.
//
// Minimal on purpose (what the Swift function does on top is its own cost): no TLS, no AUTH, no
// latest-wins (an older update overwrites a newer one), no SQS, numbers not validated as decimals.
//
// Environment: REDIS_ENDPOINT (host), REDIS_PORT (default 6379); AWS_LAMBDA_RUNTIME_API.
#include "lambda-loop.h"

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdint.h>

#define PRICE_TTL_SECONDS "300"
#define FIELD_COUNT 6
#define MAX_SYMBOL_BYTES 64

static const char *const fields[FIELD_COUNT] = {"close", "open", "high", "low", "volume", "timestamp"};

typedef struct {
    const char *host;
    int port;
    redisContext *redis;
    Buffer answer, decoded;
} Function;

static int connect_redis(Function *function) {
    if (function->redis && !function->redis->err) return 1;
    if (function->redis) redisFree(function->redis);
    struct timeval timeout = {1, 0};
    function->redis = redisConnectWithTimeout(function->host, function->port, timeout);
    return function->redis && !function->redis->err;
}

static int answer_text(Function *function, const char *text) {
    function->answer.length = 0;
    return buffer_append(&function->answer, text, strlen(text));
}

static int fail(Function *function, const char *type, const char *message) {
    char text[512];
    snprintf(text, sizeof text, "{\"errorType\":\"%s\",\"errorMessage\":\"%s\"}", type, message);
    answer_text(function, text);
    return 1;
}

// A field's text: a JSON string as sent, a JSON number printed back (cJSON keeps no number text).
static const char *field_text(const cJSON *value, char *number, size_t size) {
    if (cJSON_IsString(value)) return value->valuestring;
    if (cJSON_IsNumber(value)) {
        snprintf(number, size, "%.17g", value->valuedouble);
        return number;
    }
    return NULL;
}

// Appends the update's HSET and EXPIRE to hiredis's output buffer (sent by the next reply read);
// 0 when the update is invalid (nothing appended).
static int queue_update(Function *function, const cJSON *update) {
    const cJSON *symbol = cJSON_GetObjectItemCaseSensitive(update, "symbol");
    if (!cJSON_IsString(symbol) || !symbol->valuestring[0] || strlen(symbol->valuestring) > MAX_SYMBOL_BYTES) return 0;
    char key[sizeof "price:" + MAX_SYMBOL_BYTES], numbers[FIELD_COUNT][32];
    int key_length = snprintf(key, sizeof key, "price:%s", symbol->valuestring);

    const char *arguments[2 + 2 * (FIELD_COUNT + 1)];
    size_t lengths[2 + 2 * (FIELD_COUNT + 1)];
    int count = 0;
    arguments[count] = "HSET", lengths[count++] = 4;
    arguments[count] = key, lengths[count++] = (size_t)key_length;
    for (int index = 0; index < FIELD_COUNT; index++) {
        const char *text = field_text(cJSON_GetObjectItemCaseSensitive(update, fields[index]), numbers[index], sizeof numbers[index]);
        if (!text) return 0;
        arguments[count] = fields[index], lengths[count++] = strlen(fields[index]);
        arguments[count] = text, lengths[count++] = strlen(text);
    }
    const cJSON *source = cJSON_GetObjectItemCaseSensitive(update, "source");
    const char *source_text = cJSON_IsString(source) ? source->valuestring : "speed_layer";
    arguments[count] = "source", lengths[count++] = 6;
    arguments[count] = source_text, lengths[count++] = strlen(source_text);
    const char *expire[3] = {"EXPIRE", key, PRICE_TTL_SECONDS};
    size_t expire_lengths[3] = {6, (size_t)key_length, sizeof PRICE_TTL_SECONDS - 1};
    // Appending fails only when memory runs out; half a pair queued would shift every reply after it.
    if (redisAppendCommandArgv(function->redis, count, arguments, lengths) != REDIS_OK ||
        redisAppendCommandArgv(function->redis, 3, expire, expire_lengths) != REDIS_OK) {
        fputs("price-function: out of memory\n", stderr);
        exit(1);
    }
    return 1;
}

// Reads the HSET and EXPIRE replies of one update: 1 when both succeeded, 0 when Redis refused one,
// -1 when the connection failed (nothing more can be read).
static int read_update_replies(Function *function) {
    int succeeded = 1;
    for (int command = 0; command < 2; command++) {
        redisReply *reply = NULL;
        if (redisGetReply(function->redis, (void **)&reply) != REDIS_OK || !reply) return -1;
        if (reply->type == REDIS_REPLY_ERROR) succeeded = 0;
        freeReplyObject(reply);
    }
    return succeeded;
}

static int base64_decode(const char *text, size_t length, Buffer *out) {
    static signed char table[256];
    if (!table['B']) {
        memset(table, -1, sizeof table);
        const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int index = 0; index < 64; index++) table[(unsigned char)alphabet[index]] = (signed char)index;
    }
    if (length % 4) return 0;
    out->length = 0;
    if (out->capacity < length) {
        char *grown = realloc(out->data, length + 1);
        if (!grown) return 0;
        out->data = grown;
        out->capacity = length + 1;
    }
    unsigned char *bytes = (unsigned char *)out->data;
    for (size_t at = 0; at < length; at += 4) {
        int a = table[(unsigned char)text[at]], b = table[(unsigned char)text[at + 1]];
        int last = at + 4 == length;
        int c = last && text[at + 2] == '=' ? 0 : table[(unsigned char)text[at + 2]];
        int d = last && text[at + 3] == '=' ? 0 : table[(unsigned char)text[at + 3]];
        if ((a | b | c | d) < 0) return 0;
        uint32_t quad = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        bytes[out->length++] = (unsigned char)(quad >> 16);
        if (!(last && text[at + 2] == '=')) bytes[out->length++] = (unsigned char)(quad >> 8);
        if (!(last && text[at + 3] == '=')) bytes[out->length++] = (unsigned char)quad;
    }
    return 1;
}

static int direct_update(Function *function, const cJSON *update) {
    if (!queue_update(function, update)) return fail(function, "Function.InvalidEvent", "invalid price update");
    int outcome = read_update_replies(function);
    if (outcome < 0) return fail(function, "Function.RedisUnavailable", "the connection failed");
    if (outcome == 0) return fail(function, "Function.RedisUnavailable", "Redis refused the write");
    answer_text(function, "{\"written\":1,\"stale\":0}");
    return 0;
}

static int kinesis_batch(Function *function, const cJSON *records) {
    int count = cJSON_GetArraySize(records), index = 0;
    char *queued = calloc((size_t)count + 1, 1);
    const cJSON *record;
    cJSON_ArrayForEach(record, records) {
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(record, "kinesis"), "data");
        if (cJSON_IsString(data) && base64_decode(data->valuestring, strlen(data->valuestring), &function->decoded)) {
            cJSON *update = cJSON_ParseWithLength(function->decoded.data, function->decoded.length);
            queued[index] = update && queue_update(function, update);
            cJSON_Delete(update);
        }
        index++;
    }
    static const char head[] = "{\"batchItemFailures\":[";
    function->answer.length = 0;
    buffer_append(&function->answer, head, sizeof head - 1);
    int failures = 0;
    index = 0;
    cJSON_ArrayForEach(record, records) {
        int succeeded = 0;
        if (queued[index]) {
            succeeded = read_update_replies(function);
            if (succeeded < 0) {
                free(queued);
                return fail(function, "Function.RedisUnavailable", "the connection failed");
            }
        }
        if (!succeeded) {
            const cJSON *sequence = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(record, "kinesis"), "sequenceNumber");
            const char *identifier = cJSON_IsString(sequence) ? sequence->valuestring : "";
            if (failures++) buffer_append(&function->answer, ",", 1);
            buffer_append(&function->answer, "{\"itemIdentifier\":\"", 19);
            buffer_append(&function->answer, identifier, strlen(identifier));
            buffer_append(&function->answer, "\"}", 2);
        }
        index++;
    }
    buffer_append(&function->answer, "]}", 2);
    free(queued);
    return 0;
}

static int handle(const char *event, size_t length, const char **answer, size_t *answer_length, void *context) {
    Function *function = context;
    int failed;
    cJSON *json = cJSON_ParseWithLength(event, length);
    if (!json) {
        failed = fail(function, "Function.InvalidEvent", "the event is not valid JSON");
    } else if (!connect_redis(function)) {
        failed = fail(function, "Function.RedisUnavailable", "cannot connect to Redis");
    } else {
        const cJSON *records = cJSON_GetObjectItemCaseSensitive(json, "Records");
        failed = cJSON_IsArray(records) ? kinesis_batch(function, records) : direct_update(function, json);
    }
    cJSON_Delete(json);
    *answer = function->answer.data;
    *answer_length = function->answer.length;
    return failed;
}

int main(void) {
    Function function = {0};
    function.host = getenv("REDIS_ENDPOINT");
    function.port = getenv("REDIS_PORT") ? atoi(getenv("REDIS_PORT")) : 6379;
    if (!function.host) {
        fputs("price-function: REDIS_ENDPOINT is not set\n", stderr);
        return 2;
    }
    connect_redis(&function);  // at init, as the Swift function does (a failure is retried per invocation)
    return lambda_loop("price-function", handle, &function);
}
