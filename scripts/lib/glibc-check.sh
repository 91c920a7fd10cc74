# Checks that an ELF executable starts on Amazon Linux 2 (glibc 2.26) without anything else, for
# x86_64 or arm64: exactly what the dynamic loader checks, read from the file itself.
# Requires: versions.sh sourced. Prints the offenders and returns 1 on failure.

# select_glibc_architecture ARCH: sets GLIBC_LIBRARIES (glibc's own libraries and its loader,
# present on every Lambda runtime image), GLIBC_LOADER and ELF_MACHINE (readelf's name for ARCH).
select_glibc_architecture() {
    case "$1" in
        x86_64)
            GLIBC_LOADER=/lib64/ld-linux-x86-64.so.2
            ELF_MACHINE="Advanced Micro Devices X86-64"
            ;;
        arm64)
            GLIBC_LOADER=/lib/ld-linux-aarch64.so.1
            ELF_MACHINE=AArch64
            ;;
        *) printf 'unknown architecture "%s" (choose x86_64 or arm64)\n' "$1" >&2; return 1 ;;
    esac
    GLIBC_LIBRARIES="libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 ${GLIBC_LOADER##*/}"
}

# check_glibc_compat ARCH FILE
check_glibc_compat() {
    local arch=$1 file=$2 failed=0
    select_glibc_architecture "$arch" || return 1
    check_machine "$file" || return 1
    check_loader "$file" || failed=1
    check_needed_libraries "$file" || failed=1
    check_symbol_versions "$file" || failed=1
    return $failed
}

# A binary for the other architecture would pass the other checks and fail on Lambda with
# "exec format error".
check_machine() {
    local machine
    machine=$(readelf -h "$1" | sed -n 's/^ *Machine: *//p')
    [ "$machine" = "$ELF_MACHINE" ] && return 0
    printf '%s is built for "%s", expected %s\n' "$1" "$machine" "$ELF_MACHINE" >&2
    return 1
}

check_loader() {
    local interpreter
    interpreter=$(readelf -l "$1" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p')
    [ "$interpreter" = "$GLIBC_LOADER" ] && return 0
    printf '%s: program interpreter is "%s", expected %s\n' "$1" "$interpreter" "$GLIBC_LOADER" >&2
    return 1
}

check_needed_libraries() {
    local file=$1 library offenders=()
    for library in $(readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        case " $GLIBC_LIBRARIES " in
            *" $library "*) ;;
            *) offenders+=("$library") ;;
        esac
    done
    [ ${#offenders[@]} -eq 0 ] && return 0
    printf '%s needs shared libraries that are not part of glibc:\n' "$file" >&2
    printf '  %s\n' "${offenders[@]}" >&2
    return 1
}

# Two views of the same requirement: readelf -V lists the version needs the loader checks, per
# library; readelf --dyn-syms names the imported symbol behind each one (what a human needs to find
# the culprit). readelf, not objdump: Debian's objdump reads only its own architecture's files. Versions needed from non-glibc libraries are already reported by the NEEDED check.
check_symbol_versions() {
    local file=$1 version offenders=()
    while read -r version; do
        is_newer_than_target "${version#GLIBC_}" && offenders+=("$version")
    done < <(glibc_version_needs "$file")
    [ ${#offenders[@]} -eq 0 ] && return 0

    printf '%s needs symbols newer than GLIBC_%s:\n' "$file" "$GLIBC_TARGET_VERSION" >&2
    for version in "${offenders[@]}"; do
        readelf -W --dyn-syms "$file" | awk -v version="$version" '
            $7 == "UND" && $8 ~ ("@" version "$") { print "  " $8 }' | sed 's/@@*/@/'
    done | sort -u >&2
    return 1
}

# glibc_version_needs FILE: the GLIBC_* versions FILE needs from glibc's libraries, one a line.
glibc_version_needs() {
    readelf -V "$1" | sed -n '/\.gnu\.version_r/,$p' | awk -v glibc=" $GLIBC_LIBRARIES " '
        { for (i = 1; i < NF; i++) {
              if ($i == "File:") library = $(i + 1)
              if ($i == "Name:" && index(glibc, " " library " ") && $(i + 1) ~ /^GLIBC_/) print $(i + 1)
        } }' | sort -u
}

# is_newer_than_target VERSION: true when glibc VERSION (e.g. 2.27, 2.3.4) is above the target.
is_newer_than_target() {
    [ "$1" != "$GLIBC_TARGET_VERSION" ] &&
        [ "$(printf '%s\n%s\n' "$1" "$GLIBC_TARGET_VERSION" | sort -V | tail -n 1)" = "$1" ]
}
