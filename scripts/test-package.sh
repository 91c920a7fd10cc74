#!/usr/bin/env bash
# Runs a freshly packaged zip outside the build environment, as Lambda would:
#
#   scripts/test-package.sh [FUNCTION]      (default: PriceCacheHandler; RuntimeEcho also works)
#
# The zip's bootstrap runs in a chroot that holds only glibc's libraries, /proc, minimal /etc
# files and a CA bundle at /etc/pki/tls/certs/ca-bundle.crt (where Amazon Linux keeps it), so a
# hidden dependency on this machine (a shared library, a config file, Debian's certificate path)
# makes it fail. It talks to a local Runtime API (scripts/local_runtime_api.py), obtains the Redis
# AUTH token from a local stand-in of the Parameters and Secrets extension
# (scripts/local_secrets_extension.py), and writes to a local TLS-only redis-server whose CA is the
# chroot's bundle. A price update goes in; the key is read back with redis-cli.
#
# Needs root (chroot, mount), redis-server >= 6 (TLS), redis-cli, openssl, python3, unzip.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUNCTION=${1:-PriceCacheHandler}
CA_BUNDLE_PATH=/etc/pki/tls/certs/ca-bundle.crt
SECRET_ARN="arn:aws:secretsmanager:eu-west-1:123456789012:secret:price-cache/redis-auth-Ab12Cd"
SESSION_TOKEN="local-session-token"
PRICE_EVENT='{"symbol":"AAPL","close":"205.50","open":"203.00","high":"206.00","low":"202.50","volume":"1000000","timestamp":"1697658000"}'

WORK=""
PIDS=()

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

main() {
    case "$FUNCTION" in
        PriceCacheHandler|RuntimeEcho) ;;
        *) die "unknown function '$FUNCTION' (choose PriceCacheHandler or RuntimeEcho)" ;;
    esac
    [ "$(id -u)" -eq 0 ] || die "run as root: the test needs chroot and a /proc mount"
    local tool
    for tool in redis-server redis-cli openssl python3 unzip chroot; do
        command -v "$tool" >/dev/null || die "$tool is not installed"
    done

    WORK=$(mktemp -d /tmp/test-package.XXXXXX)
    trap cleanup EXIT

    "$REPO_ROOT/scripts/package.sh" "$FUNCTION"
    check_refuses_host_linked_binary
    make_certificates "$WORK/tls"
    make_chroot "$WORK/root" "$REPO_ROOT/dist/$FUNCTION.zip" "$WORK/tls/ca.crt"
    openssl rand -hex 24 > "$WORK/auth-token"
    start_tls_redis "$WORK/redis"
    start_secrets_extension
    printf '%s' "$PRICE_EVENT" > "$WORK/event.json"
    run_bootstrap_until_answered "$WORK/event.json"
    verify_"$FUNCTION"
    log "PASS: $FUNCTION.zip ran outside the build environment"
}

# The glibc check must not be vacuous: SwiftPM's own link of the same product (glibc 2.36, shared
# libcurl and OpenSSL) has to be refused, with the culprits named.
check_refuses_host_linked_binary() {
    local host_linked report
    host_linked="$(swift build -c release --static-swift-stdlib --scratch-path "$REPO_ROOT/.build-lambda" --show-bin-path)/$FUNCTION"
    if report=$(bash -c '. "$1/scripts/lib/versions.sh"; . "$1/scripts/lib/glibc-check.sh"; check_glibc_compat "$2"' _ "$REPO_ROOT" "$host_linked" 2>&1); then
        die "the glibc check accepted $host_linked, which needs glibc 2.34+"
    fi
    grep -q '__libc_start_main@GLIBC_2.34' <<< "$report" || die "the glibc check did not name the offending symbols: $report"
    log "the glibc check refuses SwiftPM's own link ($(grep -c '@GLIBC_' <<< "$report") symbols above GLIBC_2.26)"
}

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "$WORK" ]; then
        mountpoint -q "$WORK/root/proc" && umount "$WORK/root/proc"
        rm -rf "$WORK"
    fi
}

# make_certificates DIR: a throw-away CA and a server certificate for localhost signed by it.
make_certificates() {
    local dir=$1
    mkdir -p "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test-package CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$dir/san.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
        -days 2 -extfile "$dir/san.ext" -out "$dir/server.crt" 2>/dev/null
}

# make_chroot ROOT ZIP CA_FILE: the smallest tree a provided.al2 bootstrap may rely on.
make_chroot() {
    local root=$1 zip_file=$2 ca_file=$3
    mkdir -p "$root"/{proc,tmp,var/task,etc/pki/tls/certs}
    chmod 1777 "$root/tmp"
    copy_glibc_libraries "$root"
    # Only 127.0.0.1: the redis-server below listens on IPv4 loopback.
    printf '127.0.0.1 localhost\n' > "$root/etc/hosts"
    printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
    printf 'nameserver 127.0.0.1\n' > "$root/etc/resolv.conf"
    printf 'root:x:0:0:root:/root:/bin/false\n' > "$root/etc/passwd"
    cp "$ca_file" "$root$CA_BUNDLE_PATH"
    unzip -q "$zip_file" -d "$root/var/task"
    [ -x "$root/var/task/bootstrap" ] || die "the zip has no executable bootstrap at its root"
    mount -t proc proc "$root/proc"
}

# Every shared object of Debian's libc6 package (libc, libm, libpthread, libdl, librt, libnss_*,
# libresolv, the loader), dereferenced, at the same paths; nothing else. glibc's iconv modules
# (gconv) are left out: nothing in the bootstrap converts character sets.
copy_glibc_libraries() {
    local root=$1 library
    dpkg -L libc6 | grep -E '\.so(\.[0-9]+)*$' | grep -v /gconv/ | while read -r library; do
        [ -e "$library" ] || continue
        mkdir -p "$root$(dirname "$library")"
        cp -L "$library" "$root$library"
    done
}

start_tls_redis() {
    local dir=$1
    mkdir -p "$dir"
    REDIS_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # A config file, not arguments: the token must not show in a process listing.
    cat > "$dir/redis.conf" <<CONF
port 0
tls-port $REDIS_PORT
bind 127.0.0.1
tls-cert-file $WORK/tls/server.crt
tls-key-file $WORK/tls/server.key
tls-ca-cert-file $WORK/tls/ca.crt
tls-auth-clients no
requirepass $(cat "$WORK/auth-token")
save ""
appendonly no
dir $dir
CONF
    redis-server "$dir/redis.conf" > "$dir/redis.log" 2>&1 &
    PIDS+=($!)
    local attempt
    for attempt in $(seq 50); do
        redis_cli PING 2>/dev/null | grep -q PONG && return 0
        sleep 0.1
    done
    cat "$dir/redis.log" >&2
    die "redis-server did not start with TLS on port $REDIS_PORT"
}

redis_cli() {
    REDISCLI_AUTH=$(cat "$WORK/auth-token") redis-cli --tls --cacert "$WORK/tls/ca.crt" \
        -h localhost -p "$REDIS_PORT" --no-auth-warning "$@"
}

start_secrets_extension() {
    python3 "$REPO_ROOT/scripts/local_secrets_extension.py" --port-file "$WORK/extension.port" \
        --secret-id "$SECRET_ARN" --secret-file "$WORK/auth-token" --session-token "$SESSION_TOKEN" &
    PIDS+=($!)
    wait_for_file "$WORK/extension.port"
}

wait_for_file() {
    local attempt
    for attempt in $(seq 100); do
        [ -s "$1" ] && return 0
        sleep 0.05
    done
    die "$1 did not appear"
}

# run_bootstrap_until_answered EVENT_FILE: the bootstrap, in the chroot, with only the variables
# Lambda sets plus the function's own configuration, until the Runtime API has its answer.
run_bootstrap_until_answered() {
    mkdir -p "$WORK/answers"
    python3 "$REPO_ROOT/scripts/local_runtime_api.py" --port-file "$WORK/runtime-api.port" \
        --output-dir "$WORK/answers" --timeout 60 "$@" &
    local api_pid=$!
    PIDS+=($api_pid)
    wait_for_file "$WORK/runtime-api.port"

    env -i \
        AWS_LAMBDA_RUNTIME_API="127.0.0.1:$(cat "$WORK/runtime-api.port")" \
        AWS_LAMBDA_FUNCTION_NAME="$FUNCTION" AWS_LAMBDA_FUNCTION_VERSION='$LATEST' \
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512 AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1 \
        AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/$FUNCTION" AWS_LAMBDA_LOG_STREAM_NAME=local \
        AWS_SESSION_TOKEN="$SESSION_TOKEN" LAMBDA_TASK_ROOT=/var/task _HANDLER=bootstrap TZ=:UTC \
        PATH=/usr/local/bin:/usr/bin:/bin \
        PARAMETERS_SECRETS_EXTENSION_HTTP_PORT="$(cat "$WORK/extension.port")" \
        REDIS_ENDPOINT=localhost REDIS_PORT="$REDIS_PORT" REDIS_SSL=true \
        REDIS_AUTH_SECRET_ARN="$SECRET_ARN" \
        "$(command -v chroot)" "$WORK/root" /var/task/bootstrap > "$WORK/bootstrap.log" 2>&1 &
    local bootstrap_pid=$!
    PIDS+=($bootstrap_pid)

    if ! wait "$api_pid"; then
        printf -- '--- bootstrap output ---\n' >&2
        cat "$WORK/bootstrap.log" >&2
        die "the bootstrap did not answer the event (see its output above)"
    fi
    kill "$bootstrap_pid" 2>/dev/null || true
}

verify_RuntimeEcho() {
    [ -f "$WORK/answers/0.response" ] || die "RuntimeEcho answered with an error: $(cat "$WORK/answers/0.error" 2>/dev/null)"
    cmp -s "$WORK/answers/0.response" "$WORK/event.json" || die "RuntimeEcho's answer differs from its event"
    log "RuntimeEcho echoed the event"
}

verify_PriceCacheHandler() {
    if [ ! -f "$WORK/answers/0.response" ]; then
        cat "$WORK/bootstrap.log" >&2
        die "PriceCacheHandler answered with $(cat "$WORK/answers/0.error-type" 2>/dev/null): $(cat "$WORK/answers/0.error" 2>/dev/null)"
    fi
    local close ttl
    close=$(redis_cli HGET price:AAPL close)
    ttl=$(redis_cli TTL price:AAPL)
    [ "$close" = "205.50" ] || die "price:AAPL close is '$close', expected 205.50 (answer: $(cat "$WORK/answers/0.response"))"
    [ "$ttl" -gt 0 ] 2>/dev/null || die "price:AAPL has no TTL (TTL answered '$ttl')"
    log "price:AAPL written through TLS with the token from the secrets extension (close $close, TTL $ttl s)"
}

main "$@"
