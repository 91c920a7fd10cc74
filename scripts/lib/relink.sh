# Relinks a SwiftPM release product into a bootstrap that needs only glibc <= $GLIBC_TARGET_VERSION.
# Requires: tools.sh sourced, ZIG_CC and STATIC_CURL_PREFIX set.
#
# SwiftPM links with the host toolchain against Debian's glibc 2.36 and shared libcurl/OpenSSL.
# We keep its object files and link them again with zig cc, whose glibc stubs carry the symbol
# versions of glibc $GLIBC_TARGET_VERSION, against static archives only.

SWIFT_BIN_DIR="$(dirname "$(readlink -f "$(command -v swift)")")"
SWIFT_STATIC_DIR="$(dirname "$SWIFT_BIN_DIR")/lib/swift_static/linux"
DEBIAN_LIB_DIR=/usr/lib/x86_64-linux-gnu

# relink_bootstrap PRODUCT BIN_DIR OUTPUT
relink_bootstrap() {
    local product=$1 bin_dir=$2 output=$3
    local link_file_list="$bin_dir/$product.product/Objects.LinkFileList"
    [ -f "$link_file_list" ] || die "$link_file_list not found: did swift build -c release build $product?"

    local objects=()
    mapfile -t objects < <(sed -e "s/^'//" -e "s/'\$//" "$link_file_list")

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
    "$ZIG_CC" -O2 -s -o "$output" "$SWIFT_STATIC_DIR/x86_64/swiftrt.o" "${objects[@]}" \
        "$shim_dir/entry.c" "${libraries[@]}" >&2 \
        || die "relinking $product with zig cc failed"
}

# write_entry_shim PRODUCT FILE
write_entry_shim() {
    local product=$1 file=$2
    cat > "$file" <<C
/* SwiftPM compiles an executable's top-level code as ${product}_main (so tests can link the
   module) and adds main at link time with --defsym, which zig's linker does not have. */
int ${product}_main(int argc, char **argv);
int main(int argc, char **argv) { return ${product}_main(argc, argv); }

/* GCC 12's libstdc++.a reads this glibc 2.32 variable to skip atomics in single-threaded
   programs; 0 means "may be multi-threaded, always use atomics", which is always correct. */
char __libc_single_threaded = 0;
C
}

# required_libraries OBJECT...: every -l flag the Swift modules ask for (their autolink entries)
# plus what the static Swift runtime needs (the toolchain's static-stdlib-args.lnk), once each.
required_libraries() {
    {
        "$SWIFT_BIN_DIR/swift-autolink-extract" "$@" -o - || die "swift-autolink-extract failed"
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
        curl) printf '%s\n' "$STATIC_CURL_PREFIX/lib/libcurl.a" "$DEBIAN_LIB_DIR"/lib{ssl,crypto,z}.a ;;
        ssl|crypto|z) echo "$DEBIAN_LIB_DIR/lib$name.a" ;;
        # zig would map -lstdc++ to its own libc++; the Swift runtime was built against libstdc++.
        stdc++)
            local archive
            archive=$(gcc -print-file-name=libstdc++.a)
            [ -f "$archive" ] || die "GCC's libstdc++.a not found (install libstdc++-12-dev)"
            echo "$archive"
            ;;
        *)
            [ -f "$SWIFT_STATIC_DIR/lib$name.a" ] || die "no static archive for -l$name: teach library_argument in scripts/lib/relink.sh where it comes from"
            echo "$SWIFT_STATIC_DIR/lib$name.a"
            ;;
    esac
}
