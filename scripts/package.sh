#!/usr/bin/env bash
# Builds dist/<Function>.zip for AWS Lambda's provided.al2023 and provided.al2 runtimes (x86_64):
# one executable `bootstrap` at the zip's root that needs nothing but glibc 2.26.
#
#   scripts/package.sh [FUNCTION...]     (default: PriceCacheHandler SignalHandler)
#
# The first run installs what it needs into .tools/ (a pinned zig from PyPI, a static libcurl
# built from Debian's source package); later runs reuse it. See docs/deployment.md.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$REPO_ROOT/scripts/lib/versions.sh"
. "$REPO_ROOT/scripts/lib/tools.sh"
. "$REPO_ROOT/scripts/lib/static-curl.sh"
. "$REPO_ROOT/scripts/lib/relink.sh"
. "$REPO_ROOT/scripts/lib/glibc-check.sh"

DEFAULT_FUNCTIONS=(PriceCacheHandler SignalHandler)
PACKAGEABLE_FUNCTIONS=(PriceCacheHandler SignalHandler RuntimeEcho)
# 7 MB was measured for a comparable bootstrap; well above that means something (Foundation and
# ICU, a debug build) slipped in, and every MB is cold-start time.
MAX_ZIP_BYTES=$((10 * 1024 * 1024))
# A build directory of its own: --static-swift-stdlib release flags would otherwise invalidate
# the everyday .build/ of whoever runs this.
SCRATCH_PATH="$REPO_ROOT/.build-lambda"
DIST_DIR="$REPO_ROOT/dist"

main() {
    local functions=("$@")
    [ ${#functions[@]} -gt 0 ] || functions=("${DEFAULT_FUNCTIONS[@]}")
    local function
    for function in "${functions[@]}"; do validate_function_name "$function"; done

    ensure_debian_packages
    ensure_zig_cc
    ensure_static_curl

    mkdir -p "$DIST_DIR"
    for function in "${functions[@]}"; do package_function "$function"; done
}

validate_function_name() {
    case " ${PACKAGEABLE_FUNCTIONS[*]} " in
        *" $1 "*) ;;
        *) die "unknown function '$1' (choose from: ${PACKAGEABLE_FUNCTIONS[*]})" ;;
    esac
}

# package_function NAME: build, relink, check, zip; any failure stops the script.
package_function() {
    local function=$1
    log "building $function"
    swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH_PATH" --product "$function" >&2 \
        || die "swift build of $function failed"

    local bin_dir staging="$SCRATCH_PATH/lambda-zip/$function"
    bin_dir=$(swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH_PATH" --show-bin-path)
    rm -rf "$staging"
    mkdir -p "$staging"
    relink_bootstrap "$function" "$bin_dir" "$staging/bootstrap"
    check_glibc_compat "$staging/bootstrap" \
        || die "$function's bootstrap would not start on provided.al2 (glibc $GLIBC_TARGET_VERSION); see above"
    write_zip "$staging" "$DIST_DIR/$function.zip"
    report_size "$staging/bootstrap" "$DIST_DIR/$function.zip"
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
