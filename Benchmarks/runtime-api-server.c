// A Runtime API server made for benchmarks: it starts the function itself (so it can time
// exec -> first /next), feeds it COUNT invocations of one event, times each invocation from the
// moment the /next answer is written to the moment the /response (or /error) body is fully read,
// then reads the function's peak RSS and kills it.
//
// Single-threaded poll loop, no allocation per request beyond buffer growth, TCP_NODELAY: it costs
// a few microseconds per invocation, so it is never what a benchmark measures.
//
// usage: runtime-api-server --event FILE [--count N] [--warmup W] [--timeout-s S] [--log FILE]
//                           [--latencies FILE]
//                           -- PROGRAM [ARGS...]
// The function's stdout and stderr go to the log file (default /dev/null), so this program's stdout
// carries only its report: key=value lines (see print_report). Exits 1 if the function failed to
// complete every invocation.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 16
#define MAX_HEADER_BYTES (64 * 1024)
#define MAX_BODY_BYTES (16 * 1024 * 1024)

static void die(const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    fputs("runtime-api-server: ", stderr);
    vfprintf(stderr, format, arguments);
    fputc('\n', stderr);
    va_end(arguments);
    exit(2);
}

static int64_t monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static int64_t epoch_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

typedef struct {
    int fd;
    char *buffer;
    size_t length, capacity;
    int waiting_for_next;  // a /next that is held open once every invocation was served
    int sent_continue;
} Connection;

typedef struct {
    const char *event;
    size_t event_length;
    long count, warmup;
    long served, answered, errors, init_errors;
    char current_request_id[64];
    int64_t exec_ns, first_next_ns, current_sent_ns, measure_start_ns, last_answer_ns;
    int64_t *latencies_ns;  // one per measured (non-warm-up) invocation
    long latency_count;
    char first_error[512];
} Bench;

static void write_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t written = send(fd, data, length, MSG_NOSIGNAL);
        if (written < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                struct pollfd wait_writable = {.fd = fd, .events = POLLOUT};
                poll(&wait_writable, 1, 1000);
                continue;
            }
            return;  // the peer went away; the read side notices
        }
        data += written;
        length -= (size_t)written;
    }
}

static void answer(int fd, int status, const char *reason, const char *body) {
    char head[256];
    int head_length = snprintf(head, sizeof head,
                               "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                               status, reason, strlen(body));
    write_all(fd, head, (size_t)head_length);
    write_all(fd, body, strlen(body));
}

static void serve_next(Bench *bench, Connection *connection) {
    int64_t now = monotonic_ns();
    if (bench->first_next_ns == 0) bench->first_next_ns = now;
    if (bench->served >= bench->count) {
        // Like a frozen Lambda environment: /next simply does not answer.
        connection->waiting_for_next = 1;
        return;
    }
    bench->served += 1;
    snprintf(bench->current_request_id, sizeof bench->current_request_id, "bench-%08ld", bench->served);
    char head[512];
    int head_length = snprintf(head, sizeof head,
                               "HTTP/1.1 200 OK\r\n"
                               "Content-Type: application/json\r\n"
                               "Lambda-Runtime-Aws-Request-Id: %s\r\n"
                               "Lambda-Runtime-Deadline-Ms: %lld\r\n"
                               "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n"
                               "Lambda-Runtime-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1\r\n"
                               "Content-Length: %zu\r\n\r\n",
                               bench->current_request_id, (long long)(epoch_ms() + 900000), bench->event_length);
    write_all(connection->fd, head, (size_t)head_length);
    write_all(connection->fd, bench->event, bench->event_length);
    bench->current_sent_ns = monotonic_ns();
    if (bench->served == bench->warmup + 1) bench->measure_start_ns = bench->current_sent_ns;
}

static void record_answer(Bench *bench, const char *request_id, size_t id_length, int is_error,
                          const char *body, size_t body_length) {
    int64_t now = monotonic_ns();
    if (id_length != strlen(bench->current_request_id) || memcmp(request_id, bench->current_request_id, id_length) != 0) {
        die("answer for unexpected request id %.*s", (int)id_length, request_id);
    }
    bench->answered += 1;
    bench->last_answer_ns = now;
    if (is_error) {
        if (bench->errors == 0) snprintf(bench->first_error, sizeof bench->first_error, "%.*s", (int)body_length, body);
        bench->errors += 1;
    }
    if (bench->answered > bench->warmup) bench->latencies_ns[bench->latency_count++] = now - bench->current_sent_ns;
}

static const char *find_header(const char *head, size_t head_length, const char *name, size_t *value_length) {
    size_t name_length = strlen(name);
    const char *line = memchr(head, '\n', head_length);
    const char *end = head + head_length;
    while (line && line + 1 < end) {
        line += 1;
        const char *line_end = memchr(line, '\n', (size_t)(end - line));
        if (!line_end) break;
        if ((size_t)(line_end - line) > name_length && strncasecmp(line, name, name_length) == 0 && line[name_length] == ':') {
            const char *value = line + name_length + 1;
            while (value < line_end && (*value == ' ' || *value == '\t')) value++;
            const char *value_end = line_end;
            while (value_end > value && (value_end[-1] == '\r' || value_end[-1] == ' ')) value_end--;
            *value_length = (size_t)(value_end - value);
            return value;
        }
        line = line_end;
    }
    return NULL;
}

// Decodes a chunked body in place; returns the number of request bytes consumed, 0 if incomplete.
static size_t dechunk(char *body, size_t available, size_t *decoded_length) {
    size_t read = 0, written = 0;
    for (;;) {
        char *line_end = memmem(body + read, available - read, "\r\n", 2);
        if (!line_end) return 0;
        size_t chunk = strtoul(body + read, NULL, 16);
        size_t data_start = (size_t)(line_end - body) + 2;
        if (available < data_start + chunk + 2) return 0;
        if (chunk == 0) {
            char *trailer_end = memmem(body + data_start - 2, available - data_start + 2, "\r\n\r\n", 4);
            if (!trailer_end) return 0;
            *decoded_length = written;
            return (size_t)(trailer_end - body) + 4;
        }
        memmove(body + written, body + data_start, chunk);
        written += chunk;
        read = data_start + chunk + 2;
    }
}

// Handles every complete request in the connection's buffer. Returns -1 to close the connection.
static int handle_requests(Bench *bench, Connection *connection) {
    for (;;) {
        char *head_end = memmem(connection->buffer, connection->length, "\r\n\r\n", 4);
        if (!head_end) return connection->length > MAX_HEADER_BYTES ? -1 : 0;
        size_t head_length = (size_t)(head_end - connection->buffer) + 4;
        const char *head = connection->buffer;
        size_t value_length = 0, expect_length = 0;
        // curl sends "Expect: 100-continue" for large bodies unless told not to; answer it so a
        // runtime that forgets to disable it pays its real cost (one extra round trip), not a 1 s stall.
        int wants_continue = find_header(head, head_length, "Expect", &expect_length) && expect_length > 0;
        size_t body_length = 0, consumed = 0;  // consumed stays 0 while the request is incomplete
        const char *encoding = find_header(head, head_length, "Transfer-Encoding", &value_length);
        if (encoding && value_length >= 7 && strncasecmp(encoding, "chunked", 7) == 0) {
            size_t used = dechunk(connection->buffer + head_length, connection->length - head_length, &body_length);
            if (used > 0) consumed = head_length + used;
        } else {
            const char *length_value = find_header(head, head_length, "Content-Length", &value_length);
            body_length = length_value ? strtoul(length_value, NULL, 10) : 0;
            if (connection->length >= head_length + body_length) consumed = head_length + body_length;
        }
        if (consumed == 0) {
            if (body_length > MAX_BODY_BYTES || connection->length > MAX_BODY_BYTES) return -1;
            if (wants_continue && !connection->sent_continue) {
                write_all(connection->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
                connection->sent_continue = 1;
            }
            return 0;
        }
        connection->sent_continue = 0;
        const char *body = connection->buffer + head_length;

        const char *path = memchr(head, ' ', head_length);
        if (!path) return -1;
        path += 1;
        const char *path_end = memchr(path, ' ', head_length - (size_t)(path - head));
        if (!path_end) return -1;
        size_t path_length = (size_t)(path_end - path);
        static const char invocation_prefix[] = "/2018-06-01/runtime/invocation/";
        size_t prefix_length = sizeof invocation_prefix - 1;

        if (strncmp(head, "GET ", 4) == 0 && path_length == prefix_length + 4 && memcmp(path, invocation_prefix, prefix_length) == 0 &&
            memcmp(path + prefix_length, "next", 4) == 0) {
            serve_next(bench, connection);
        } else if (strncmp(head, "POST ", 5) == 0 && path_length > prefix_length && memcmp(path, invocation_prefix, prefix_length) == 0) {
            const char *id = path + prefix_length;
            const char *slash = memchr(id, '/', (size_t)(path_end - id));
            if (!slash) {
                answer(connection->fd, 404, "Not Found", "{}");
            } else {
                size_t kind_length = (size_t)(path_end - slash - 1);
                int is_response = kind_length == 8 && memcmp(slash + 1, "response", 8) == 0;
                int is_error = kind_length == 5 && memcmp(slash + 1, "error", 5) == 0;
                if (is_response || is_error) {
                    record_answer(bench, id, (size_t)(slash - id), is_error, body, body_length);
                    answer(connection->fd, 202, "Accepted", "{\"status\":\"OK\"}");
                } else {
                    answer(connection->fd, 404, "Not Found", "{}");
                }
            }
        } else if (strncmp(head, "POST ", 5) == 0 && path_length == 29 && memcmp(path, "/2018-06-01/runtime/init/error", 29) == 0) {
            bench->init_errors += 1;
            snprintf(bench->first_error, sizeof bench->first_error, "init: %.*s", (int)body_length, body);
            answer(connection->fd, 202, "Accepted", "{\"status\":\"OK\"}");
        } else {
            answer(connection->fd, 404, "Not Found", "{}");
        }
        memmove(connection->buffer, connection->buffer + consumed, connection->length - consumed);
        connection->length -= consumed;
    }
}

static long peak_rss_kib(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *status = fopen(path, "r");
    if (!status) return -1;
    long kib = -1;
    while (fgets(line, sizeof line, status)) {
        if (strncmp(line, "VmHWM:", 6) == 0) kib = strtol(line + 6, NULL, 10);
    }
    fclose(status);
    return kib;
}

static int compare_int64(const void *left, const void *right) {
    int64_t a = *(const int64_t *)left, b = *(const int64_t *)right;
    return (a > b) - (a < b);
}

static double percentile_us(const int64_t *sorted, long count, double fraction) {
    if (count == 0) return 0;
    long index = (long)(fraction * (double)(count - 1) + 0.5);
    return (double)sorted[index] / 1000.0;
}

static void print_report(Bench *bench, long rss_kib, int completed, int exited_early, int exit_status) {
    qsort(bench->latencies_ns, (size_t)bench->latency_count, sizeof(int64_t), compare_int64);
    double measured_s = (double)(bench->last_answer_ns - bench->measure_start_ns) / 1e9;
    double sum = 0;
    for (long i = 0; i < bench->latency_count; i++) sum += (double)bench->latencies_ns[i];
    printf("completed=%d\n", completed);
    if (exited_early) printf("exited_early=%d\n", WIFEXITED(exit_status) ? WEXITSTATUS(exit_status) : 128 + WTERMSIG(exit_status));
    printf("invocations=%ld\n", bench->answered);
    printf("errors=%ld\n", bench->errors);
    printf("init_errors=%ld\n", bench->init_errors);
    printf("init_ms=%.3f\n", bench->first_next_ns ? (double)(bench->first_next_ns - bench->exec_ns) / 1e6 : -1.0);
    printf("measured=%ld\n", bench->latency_count);
    printf("per_second=%.0f\n", measured_s > 0 ? (double)bench->latency_count / measured_s : 0.0);
    printf("p50_us=%.1f\n", percentile_us(bench->latencies_ns, bench->latency_count, 0.50));
    printf("p90_us=%.1f\n", percentile_us(bench->latencies_ns, bench->latency_count, 0.90));
    printf("p95_us=%.1f\n", percentile_us(bench->latencies_ns, bench->latency_count, 0.95));
    printf("p99_us=%.1f\n", percentile_us(bench->latencies_ns, bench->latency_count, 0.99));
    printf("p999_us=%.1f\n", percentile_us(bench->latencies_ns, bench->latency_count, 0.999));
    printf("mean_us=%.1f\n", bench->latency_count ? sum / (double)bench->latency_count / 1000.0 : 0.0);
    printf("peak_rss_kib=%ld\n", rss_kib);
    if (bench->first_error[0]) printf("first_error=%s\n", bench->first_error);
}

static char *read_file(const char *path, size_t *length) {
    FILE *file = fopen(path, "rb");
    if (!file) die("cannot open %s: %s", path, strerror(errno));
    struct stat info;
    if (fstat(fileno(file), &info) != 0) die("cannot stat %s", path);
    char *data = malloc((size_t)info.st_size + 1);
    if (!data) die("out of memory");
    *length = fread(data, 1, (size_t)info.st_size, file);
    fclose(file);
    return data;
}

int main(int argc, char **argv) {
    Bench bench = {.count = 1000, .warmup = 100};
    const char *event_path = NULL, *log_path = "/dev/null", *latencies_path = NULL;
    long timeout_s = 120;
    int program_index = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) { program_index = i + 1; break; }
        if (i + 1 >= argc) die("missing value for %s", argv[i]);
        if (strcmp(argv[i], "--event") == 0) event_path = argv[++i];
        else if (strcmp(argv[i], "--count") == 0) bench.count = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--warmup") == 0) bench.warmup = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--timeout-s") == 0) timeout_s = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--log") == 0) log_path = argv[++i];
        else if (strcmp(argv[i], "--latencies") == 0) latencies_path = argv[++i];
        else die("unknown option %s", argv[i]);
    }
    if (!event_path || program_index < 0 || program_index >= argc || bench.count <= bench.warmup || bench.warmup < 0) {
        die("usage: runtime-api-server --event FILE [--count N] [--warmup W] [--timeout-s S] [--log FILE] [--latencies FILE] -- PROGRAM [ARGS...]");
    }
    bench.event = read_file(event_path, &bench.event_length);
    bench.latencies_ns = calloc((size_t)bench.count, sizeof(int64_t));
    if (!bench.latencies_ns) die("out of memory");

    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t address_length = sizeof address;
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 16) != 0 ||
        getsockname(listener, (struct sockaddr *)&address, &address_length) != 0) {
        die("cannot listen on loopback: %s", strerror(errno));
    }
    char runtime_api[32];
    snprintf(runtime_api, sizeof runtime_api, "127.0.0.1:%d", ntohs(address.sin_port));
    setenv("AWS_LAMBDA_RUNTIME_API", runtime_api, 1);

    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) die("cannot open %s: %s", log_path, strerror(errno));
    fflush(stdout);
    bench.exec_ns = monotonic_ns();
    pid_t child = fork();
    if (child < 0) die("fork: %s", strerror(errno));
    if (child == 0) {
        dup2(log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
        execvp(argv[program_index], argv + program_index);
        dprintf(log_fd, "runtime-api-server: exec %s: %s\n", argv[program_index], strerror(errno));
        _exit(127);
    }

    Connection connections[MAX_CONNECTIONS] = {0};
    struct pollfd watched[MAX_CONNECTIONS + 1];
    int64_t give_up_ns = bench.exec_ns + (int64_t)timeout_s * 1000000000;
    int completed = 0, child_exited = 0, child_status = 0;
    long rss_kib = -1;
    for (;;) {
        if (bench.answered >= bench.count) {
            // Finished: wait until the function is back on /next (idle, as between invocations).
            int idle = 0;
            for (int i = 0; i < MAX_CONNECTIONS; i++) idle |= connections[i].fd > 0 && connections[i].waiting_for_next;
            if (idle) { completed = 1; break; }
        }
        if (waitpid(child, &child_status, WNOHANG) == child) { child_exited = 1; break; }
        if (monotonic_ns() > give_up_ns) { fprintf(stderr, "runtime-api-server: timed out\n"); break; }

        int watched_count = 0;
        watched[watched_count++] = (struct pollfd){.fd = listener, .events = POLLIN};
        for (int i = 0; i < MAX_CONNECTIONS; i++) {
            if (connections[i].fd > 0) watched[watched_count++] = (struct pollfd){.fd = connections[i].fd, .events = POLLIN};
        }
        if (poll(watched, (nfds_t)watched_count, 100) < 0 && errno != EINTR) die("poll: %s", strerror(errno));
        if (watched[0].revents & POLLIN) {
            int accepted = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
            if (accepted >= 0) {
                int yes = 1;
                setsockopt(accepted, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
                int slot = 0;
                while (slot < MAX_CONNECTIONS && connections[slot].fd > 0) slot++;
                if (slot == MAX_CONNECTIONS) close(accepted);
                else connections[slot] = (Connection){.fd = accepted};
            }
        }
        for (int w = 1; w < watched_count; w++) {
            if (!watched[w].revents) continue;
            Connection *connection = NULL;
            for (int i = 0; i < MAX_CONNECTIONS; i++) if (connections[i].fd == watched[w].fd) connection = &connections[i];
            if (!connection) continue;
            if (connection->capacity - connection->length < 65536) {
                size_t capacity = connection->capacity ? connection->capacity * 2 : 262144;
                char *grown = realloc(connection->buffer, capacity);
                if (!grown) die("out of memory");
                connection->buffer = grown;
                connection->capacity = capacity;
            }
            ssize_t received = recv(connection->fd, connection->buffer + connection->length, connection->capacity - connection->length, 0);
            if (received > 0) connection->length += (size_t)received;
            if (received == 0 || (received < 0 && errno != EINTR && errno != EAGAIN) || handle_requests(&bench, connection) < 0) {
                close(connection->fd);
                free(connection->buffer);
                *connection = (Connection){0};
            }
        }
    }
    if (!child_exited) {
        rss_kib = peak_rss_kib(child);
        // SIGTERM first, as Lambda does at shutdown, so a function run under a profiler
        // (valgrind --tool=callgrind) writes its profile; SIGKILL if it is still there after 10 s.
        kill(child, SIGTERM);
        struct rusage usage;
        int waited = 0;
        for (int tries = 0; tries < 1000 && (waited = (int)wait4(child, &child_status, WNOHANG, &usage)) == 0; tries++) {
            usleep(10000);
        }
        if (waited == 0) {
            kill(child, SIGKILL);
            wait4(child, &child_status, 0, &usage);
        }
        if (rss_kib < 0) rss_kib = usage.ru_maxrss;
    }
    // Each measured invocation's time in nanoseconds, one a line in invocation order (before the
    // report sorts them): where the slow ones fall, for a study of the tail.
    if (latencies_path) {
        FILE *out = fopen(latencies_path, "w");
        if (!out) die("cannot open %s: %s", latencies_path, strerror(errno));
        for (long i = 0; i < bench.latency_count; i++) fprintf(out, "%lld\n", (long long)bench.latencies_ns[i]);
        fclose(out);
    }
    print_report(&bench, rss_kib, completed, child_exited, child_status);
    return completed && bench.init_errors == 0 ? 0 : 1;
}
