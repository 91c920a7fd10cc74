#!/usr/bin/env bash
# Builds AWS Lambda zips for the provided.al2023 and provided.al2 runtimes: one executable
# `bootstrap` at the zip's root that needs nothing but glibc 2.26.
#
#   scripts/package.sh [--arch x86_64|arm64|all] [FUNCTION...]
#       (default: x86_64; PriceCacheHandler SignalHandler; RuntimeEcho also works)
#
#   x86_64 -> dist/<Function>.zip         arm64 (Graviton) -> dist/arm64/<Function>.zip
#
# The first run for an architecture installs what it needs into .tools/ (a pinned zig from PyPI, a
# static libcurl built from Debian's source package; for arm64 also a Debian trixie chroot with its
# Swift 6.0.3 compiler, about 4 GB: scripts/lib/arm64-toolchain.sh); later runs reuse it. See the
# README, "Deployment".
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$REPO_ROOT/scripts/lib/versions.sh"
. "$REPO_ROOT/scripts/lib/tools.sh"
. "$REPO_ROOT/scripts/lib/arm64-toolchain.sh"
. "$REPO_ROOT/scripts/lib/static-curl.sh"
. "$REPO_ROOT/scripts/lib/relink.sh"
. "$REPO_ROOT/scripts/lib/glibc-check.sh"

DEFAULT_FUNCTIONS=(PriceCacheHandler SignalHandler)
PACKAGEABLE_FUNCTIONS=(PriceCacheHandler SignalHandler RuntimeEcho)
# 7 MB was measured for a comparable bootstrap; well above that means something (Foundation and
# ICU, a debug build) slipped in, and every MB is cold-start time.
MAX_ZIP_BYTES=$((10 * 1024 * 1024))
# A build directory of its own: --static-swift-stdlib release flags would otherwise invalidate
# the everyday .build/ of whoever runs this. (arm64 builds in its chroot.)
SCRATCH_PATH="$REPO_ROOT/.build-lambda"
DIST_DIR="$REPO_ROOT/dist"

usage() {
    printf 'usage: scripts/package.sh [--arch x86_64|arm64|all] [FUNCTION...]\n' >&2
    printf '  functions: %s (default: %s)\n' "${PACKAGEABLE_FUNCTIONS[*]}" "${DEFAULT_FUNCTIONS[*]}" >&2
    exit 2
}

main() {
    local architectures=(x86_64) functions=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --arch)
                [ $# -ge 2 ] || usage
                case "$2" in
                    x86_64|arm64) architectures=("$2") ;;
                    all) architectures=(x86_64 arm64) ;;
                    *) die "unknown architecture '$2' (choose x86_64, arm64 or all)" ;;
                esac
                shift 2
                ;;
            --arch=*) set -- --arch "${1#--arch=}" "${@:2}" ;;
            -h|--help) usage ;;
            -*) die "unknown option '$1'" ;;
            *) functions+=("$1"); shift ;;
        esac
    done
    [ ${#functions[@]} -gt 0 ] || functions=("${DEFAULT_FUNCTIONS[@]}")
    local function arch
    for function in "${functions[@]}"; do validate_function_name "$function"; done

    # Checked before anything is built, so a host that cannot build arm64 learns it at once.
    local extra_packages=()
    for arch in "${architectures[@]}"; do
        if [ "$arch" = arm64 ]; then
            check_arm64_host
            extra_packages+=(debootstrap)
        fi
    done
    ensure_debian_packages "${extra_packages[@]}"
    for arch in "${architectures[@]}"; do
        prepare_architecture "$arch"
        mkdir -p "$(dist_dir_for "$arch")"
        for function in "${functions[@]}"; do package_function "$arch" "$function"; done
    done
}

validate_function_name() {
    case " ${PACKAGEABLE_FUNCTIONS[*]} " in
        *" $1 "*) ;;
        *) die "unknown function '$1' (choose from: ${PACKAGEABLE_FUNCTIONS[*]})" ;;
    esac
}

# prepare_architecture ARCH: every tool ARCH's build and relink need, installed once.
prepare_architecture() {
    local arch=$1
    if [ "$arch" = arm64 ]; then ensure_arm64_toolchain; fi
    ensure_zig_cc "$arch"
    ensure_glibc_forwarders "$arch"
    ensure_static_curl "$arch"
}

# dist_dir_for ARCH: x86_64 zips stay where they always were; arm64 ones go to dist/arm64/.
dist_dir_for() {
    case "$1" in
        x86_64) echo "$DIST_DIR" ;;
        *) echo "$DIST_DIR/$1" ;;
    esac
}

# package_function ARCH NAME: build, relink, check, zip; any failure stops the script.
package_function() {
    local arch=$1 function=$2 bin_dir
    log "building $function for $arch"
    bin_dir=$(build_product "$arch" "$function")

    local staging="$bin_dir/lambda-zip/$function"
    rm -rf "$staging"
    mkdir -p "$staging"
    relink_bootstrap "$arch" "$function" "$bin_dir" "$staging/bootstrap"
    check_glibc_compat "$arch" "$staging/bootstrap" \
        || die "$function's $arch bootstrap would not start on provided.al2 (glibc $GLIBC_TARGET_VERSION); see above"
    local zip_file
    zip_file="$(dist_dir_for "$arch")/$function.zip"
    write_zip "$staging" "$zip_file"
    report_size "$staging/bootstrap" "$zip_file"
}

# build_product ARCH NAME: swift build -c release of NAME for ARCH; prints its bin directory.
build_product() {
    local arch=$1 function=$2
    if [ "$arch" = arm64 ]; then
        build_arm64_product "$function"
        return
    fi
    # The static libcurl's .pc first: CCurl compiles against the headers of the libcurl the relink
    # links. SwiftPM would reuse its cached build plan, and with it the compiler flags pkg-config gave
    # for another libcurl build: --disable-build-manifest-caching plans again (a second or so); the
    # macro keeps clang from reusing a CCurl module of another build (static-curl.sh).
    PKG_CONFIG_PATH="$(curl_pkg_config_dir x86_64)${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
        swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH_PATH" --disable-build-manifest-caching \
        -Xcc "$(curl_build_macro x86_64)" --product "$function" >&2 || die "swift build of $function failed"
    swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH_PATH" --show-bin-path
}

# write_zip STAGING ZIP: a zip with only `bootstrap`, mode 755 (Lambda execs it as is). A fixed
# timestamp makes the zip depend only on the binary, so `aws cloudformation package` (which names
# the S3 object after the zip's MD5) does not redeploy an unchanged function.
write_zip() {
    local staging=$1 zip_file=$2
    chmod 755 "$staging/bootstrap"
    touch -d '2000-01-01T00:00:00Z' "$staging/bootstrap"
    rm -f "$zip_file"
    (cd "$staging" && zip -q -X -9 "$zip_file" bootstrap) || die "zip failed for $zip_file"
}

report_size() {
    local bootstrap=$1 zip_file=$2 zip_bytes
    zip_bytes=$(stat -c %s "$zip_file")
    printf '%s: %s zipped (bootstrap %s)\n' "${zip_file#"$REPO_ROOT"/}" \
        "$(human_size "$zip_bytes")" "$(human_size "$(stat -c %s "$bootstrap")")"
    [ "$zip_bytes" -le "$MAX_ZIP_BYTES" ] \
        || die "$zip_file is larger than $(human_size "$MAX_ZIP_BYTES"): did Foundation (not FoundationEssentials) or a debug build slip in?"
}

human_size() { awk -v bytes="$1" 'BEGIN { printf "%.1f MB", bytes / 1048576 }'; }

main "$@"
