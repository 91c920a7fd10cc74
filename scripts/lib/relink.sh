# Relinks a SwiftPM release product into a bootstrap that needs only glibc <= $GLIBC_TARGET_VERSION,
# for x86_64 or arm64.
# Requires: tools.sh and static-curl.sh sourced; ensure_zig_cc ARCH, ensure_glibc_forwarders ARCH
# and ensure_static_curl ARCH done; for arm64 also arm64-toolchain.sh sourced.
#
# SwiftPM links with its toolchain against a newer glibc (Debian's 2.36 here, trixie's 2.41 for
# arm64) and shared libcurl/OpenSSL. We keep its object files and link them again with zig cc,
# whose glibc stubs carry the symbol versions of glibc $GLIBC_TARGET_VERSION, against static
# archives only.

HOST_SWIFT_BIN_DIR="$(dirname "$(readlink -f "$(command -v swift)")")"

# select_relink_architecture ARCH: where ARCH's pieces are. Sets SWIFT_STATIC_DIR (the Swift
# runtime's static archives), OBJECT_ROOT (prefix of the paths SwiftPM recorded: its build ran in
# the chroot for arm64), DEBIAN_LIB_DIR (OpenSSL, zlib), LIBSTDCXX_ARCHIVE, STATIC_CURL_PREFIX,
# OPENSSL_LIBRARIES and GLIBC_FORWARDERS_ARCHIVE.
select_relink_architecture() {
    STATIC_CURL_PREFIX="$(static_curl_build_dir "$1")/prefix"
    GLIBC_FORWARDERS_ARCHIVE=$(glibc_forwarders_archive_for "$1")
    OPENSSL_LIBRARIES=$(openssl_static_libraries "$1")
    case "$1" in
        x86_64)
            SWIFT_STATIC_DIR="$(dirname "$HOST_SWIFT_BIN_DIR")/lib/swift_static/linux"
            OBJECT_ROOT=""
            DEBIAN_LIB_DIR=/usr/lib/x86_64-linux-gnu
            LIBSTDCXX_ARCHIVE=$(gcc -print-file-name=libstdc++.a)
            [ -f "$LIBSTDCXX_ARCHIVE" ] || die "GCC's libstdc++.a not found (install libstdc++-12-dev)"
            ;;
        arm64)
            SWIFT_STATIC_DIR="$ARM64_ROOT$ARM64_SWIFT_RESOURCE_DIR/linux"
            OBJECT_ROOT="$ARM64_ROOT"
            DEBIAN_LIB_DIR="$ARM64_ROOT/usr/lib/aarch64-linux-gnu"
            LIBSTDCXX_ARCHIVE="$ARM64_ROOT/usr/lib/gcc/aarch64-linux-gnu/$GCC_TRIXIE_MAJOR/libstdc++.a"
            [ -f "$LIBSTDCXX_ARCHIVE" ] || die "$LIBSTDCXX_ARCHIVE not found: the arm64 toolchain is incomplete (remove ${ARM64_TOOLCHAIN_DIR#"$REPO_ROOT"/} and run again)"
            ;;
        *) die "unknown architecture '$1' (choose x86_64 or arm64)" ;;
    esac
}

# relink_bootstrap ARCH PRODUCT BIN_DIR OUTPUT
relink_bootstrap() {
    local arch=$1 product=$2 bin_dir=$3 output=$4
    select_relink_architecture "$arch"
    local link_file_list="$bin_dir/$product.product/Objects.LinkFileList"
    [ -f "$link_file_list" ] || die "$link_file_list not found: did swift build -c release build $product?"

    local objects=()
    mapfile -t objects < <(sed -e "s/^'//" -e "s/'\$//" -e "s|^|$OBJECT_ROOT|" "$link_file_list")

    local shim_dir="$bin_dir/$product.bootstrap"
    mkdir -p "$shim_dir"
    write_entry_shim "$product" "$shim_dir/entry.c"

    local flags arguments libraries=() flag line
    flags=$(required_libraries "${objects[@]}") || exit 1
    for flag in $flags; do
        arguments=$(library_argument "$flag") || exit 1
        while IFS= read -r line; do libraries+=("$line"); done <<< "$arguments"
    done

    # -s: no symbol table in the zip (size is cold-start time); lld needs no archive ordering.
    # The forwarders come last: only what nothing else defines is taken from them.
    "$(zig_cc_for "$arch")" -O2 -s -o "$output" "$SWIFT_STATIC_DIR/$(uname_machine "$arch")/swiftrt.o" \
        "${objects[@]}" "$shim_dir/entry.c" "${libraries[@]}" "$GLIBC_FORWARDERS_ARCHIVE" >&2 \
        || die "relinking $product for $arch with zig cc failed"
}

# uname_machine ARCH: the Swift runtime's folder name for ARCH.
uname_machine() {
    case "$1" in
        x86_64) echo x86_64 ;;
        arm64) echo aarch64 ;;
    esac
}

# write_entry_shim PRODUCT FILE
write_entry_shim() {
    local product=$1 file=$2
    cat > "$file" <<C
/* SwiftPM compiles an executable's top-level code as ${product}_main (so tests can link the
   module) and adds main at link time with --defsym, which zig's linker does not have. */
int ${product}_main(int argc, char **argv);
int main(int argc, char **argv) { return ${product}_main(argc, argv); }

/* GCC's libstdc++.a (12 for x86_64, 14 for arm64) reads this glibc 2.32 variable to skip atomics
   in single-threaded programs; 0 means "may be multi-threaded, always use atomics", which is
   always correct. */
char __libc_single_threaded = 0;
C
}

# required_libraries OBJECT...: every -l flag the Swift modules ask for (their autolink entries)
# plus what the static Swift runtime needs (the toolchain's static-stdlib-args.lnk), once each.
required_libraries() {
    {
        # The host's tool reads any ELF object's autolink section, aarch64 ones included.
        "$HOST_SWIFT_BIN_DIR/swift-autolink-extract" "$@" -o - || die "swift-autolink-extract failed"
        awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^-l/) print $i }' "$SWIFT_STATIC_DIR/static-stdlib-args.lnk"
        # The Swift runtime and libstdc++ need an unwinder (backtraces, C++ exceptions).
        echo -lunwind
    } | awk '!seen[$0]++'
}

# library_argument -lNAME: what to hand zig for it. glibc's own libraries stay -l flags (zig
# supplies stubs with old symbol versions); everything else must be a static archive given by
# path, so that no shared library of this machine can be picked up.
library_argument() {
    local name=${1#-l}
    case "$name" in
        c|m|pthread|dl|rt|util) echo "-l$name" ;;
        # zig links its own static LLVM libunwind for -lunwind; GCC's libgcc_eh.a would need
        # _dl_find_object (glibc 2.35) and libgcc_s.so is not part of glibc.
        unwind) echo -lunwind ;;
        # libcurl.a records no dependencies of its own: add the archives it was configured with.
        curl)
            echo "$STATIC_CURL_PREFIX/lib/libcurl.a"
            local library
            for library in $OPENSSL_LIBRARIES; do echo "$DEBIAN_LIB_DIR/lib$library.a"; done
            ;;
        ssl|crypto|z|zstd) echo "$DEBIAN_LIB_DIR/lib$name.a" ;;
        # zig would map -lstdc++ to its own libc++; the Swift runtime was built against libstdc++.
        stdc++) echo "$LIBSTDCXX_ARCHIVE" ;;
        *)
            [ -f "$SWIFT_STATIC_DIR/lib$name.a" ] || die "no static archive for -l$name: teach library_argument in scripts/lib/relink.sh where it comes from"
            echo "$SWIFT_STATIC_DIR/lib$name.a"
            ;;
    esac
}
