# Builds, once per architecture, a minimal static libcurl for the bootstrap from Debian bookworm's
# source package.
# Requires: tools.sh sourced, ensure_zig_cc ARCH and ensure_glibc_forwarders ARCH done; for arm64
# also arm64-toolchain.sh sourced and ensure_arm64_toolchain done. Sets STATIC_CURL_PREFIX.
#
# Why not Debian's libcurl.a: it expects Kerberos, p11-kit, libpsl, nghttp2... at link time and
# several of those have no static archive. Why zig: compiled with the host's gcc, curl would
# reference glibc symbols newer than 2.26 (e.g. fcntl64, __libc_single_threaded).

# Debian's own archive (signed Release files, hashed sources), fetched through a private apt
# configuration so the machine's sources.list stays untouched.
CURL_APT_SOURCES="deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian-security bookworm-security main"

# libcurl's limit for one header line (CURL_MAX_HTTP_HEADER; stock 100 KiB): it drops a line of
# that many bytes or more before any callback sees it (lib/dynbuf.c, "out of memory"), so the
# runtime could say only where it was. Below it the runtime's own check (64 KiB, ResponseHead.swift)
# sees the line and names it with its size. 1 MiB covers the issue's 300 KB client context three
# times over, and nearly 300 times Lambda's largest real header (a 3,583-byte client context); it
# is also what libcurl may buffer for one line, small beside a function's 128 MB minimum.
# libcurl's limit on all headers together (MAX_HTTP_RESP_HEADER_SIZE, 300 KiB in lib/http.h, not
# #ifndef-guarded) stays: it counts a line only after the header callback has seen it (lib/http.c,
# Curl_client_write before Curl_bump_headersize), so it never hides an oversized line from the
# runtime, and the runtime's own limit on all headers (256 KiB) is met first.
STATIC_CURL_MAX_HEADER_LINE=$((1024 * 1024))

# ensure_static_curl ARCH
ensure_static_curl() {
    local arch=$1
    local build_dir
    build_dir=$(static_curl_build_dir "$arch")
    STATIC_CURL_PREFIX="$build_dir/prefix"
    if [ ! -f "$STATIC_CURL_PREFIX/lib/libcurl.a" ]; then
        log "building static libcurl $CURL_DEBIAN_VERSION for $arch (once; reused by later runs)"
        rm -rf "$build_dir"
        mkdir -p "$build_dir"
        fetch_curl_source "$build_dir"
        raise_header_line_limit "$build_dir/src"
        prepare_static_dependencies "$arch" "$build_dir/deps"
        configure_and_build_curl "$arch" "$build_dir/src" "$build_dir/deps" "$STATIC_CURL_PREFIX"
    fi
    write_curl_pkg_config "$arch" "$build_dir"
}

# static_curl_build_dir ARCH: x86_64 beside the other tools; arm64 inside the trixie chroot, whose
# OpenSSL it links and whose Swift build compiles against its headers. The name carries the header
# line limit, so that a change of it builds libcurl again.
static_curl_build_dir() {
    local name="curl-$CURL_DEBIAN_VERSION-glibc$GLIBC_TARGET_VERSION-header$STATIC_CURL_MAX_HEADER_LINE"
    case "$1" in
        x86_64) echo "$TOOLS_DIR/$name" ;;
        arm64) echo "$ARM64_ROOT/opt/$name" ;;
        *) die "unknown architecture '$1'" ;;
    esac
}

# raise_header_line_limit SRC: CURL_MAX_HTTP_HEADER set to STATIC_CURL_MAX_HEADER_LINE in the
# public curl.h itself, not by -D for the library's build alone: curl.h guards the define with
# #ifndef, and the installed copy is what the runtime compiles against (write_curl_pkg_config), so
# the limit the runtime reports in an error is the one of the library it is linked with.
raise_header_line_limit() {
    local header="$1/include/curl/curl.h"
    grep -q '^#define CURL_MAX_HTTP_HEADER (100\*1024)$' "$header" \
        || die "$header no longer defines CURL_MAX_HTTP_HEADER as (100*1024): check how this curl version limits a header line"
    sed -i "s|^#define CURL_MAX_HTTP_HEADER (100\*1024)\$|#define CURL_MAX_HTTP_HEADER $STATIC_CURL_MAX_HEADER_LINE /* raised for the Lambda bootstrap: scripts/lib/static-curl.sh */|" "$header"
    grep -q "^#define CURL_MAX_HTTP_HEADER $STATIC_CURL_MAX_HEADER_LINE " "$header" \
        || die "could not raise CURL_MAX_HTTP_HEADER in $header"
}

# Where an architecture's Debian headers and static archives are: this machine for x86_64, the
# trixie chroot's arm64 multiarch sysroot for arm64.
library_sysroot() {
    case "$1" in
        x86_64) echo "" ;;
        arm64) echo "$ARM64_ROOT" ;;
        *) die "unknown architecture '$1'" ;;
    esac
}

# openssl_static_libraries ARCH: the static archives libcurl's TLS needs, in link order. Trixie's
# OpenSSL 3.5 (arm64) compresses certificates with zstd too; bookworm's 3.0 only with zlib.
openssl_static_libraries() {
    case "$1" in
        arm64) echo ssl crypto z zstd ;;
        *) echo ssl crypto z ;;
    esac
}

# write_curl_pkg_config ARCH BUILD_DIR: the libcurl.pc the Swift build of ARCH finds first, so that
# CCurl compiles against the headers of the libcurl the relink links (their CURL_MAX_HTTP_HEADER
# above all). arm64: the Swift build in the chroot (7.88.1, not trixie's), whose own throw-away link
# needs the archives libcurl.a calls. x86_64: only the headers differ from the system's
# libcurl4-openssl-dev (the same version); SwiftPM's own link keeps the system's shared libcurl.
write_curl_pkg_config() {
    local arch=$1 build_dir=$2 prefix libs
    case "$arch" in
        arm64)
            prefix="${build_dir#"$ARM64_ROOT"}/prefix"
            libs="-L$prefix/lib -lcurl $(openssl_static_libraries arm64 | sed 's/\([^ ]*\)/-l\1/g') -lpthread -ldl"
            ;;
        *)
            prefix="$build_dir/prefix"
            libs="-lcurl"
            ;;
    esac
    mkdir -p "$build_dir/pkgconfig"
    cat > "$build_dir/pkgconfig/libcurl.pc" <<PC
Name: libcurl
Description: static libcurl $CURL_DEBIAN_VERSION for the $arch bootstrap (scripts/lib/static-curl.sh)
Version: ${CURL_DEBIAN_VERSION%%-*}
Cflags: -I$prefix/include
Libs: $libs
PC
}

# curl_build_macro ARCH: a -D for the Swift build that names ARCH's static libcurl build. Clang keys
# its module cache on command-line macros but not on include paths (and SwiftPM drops a -D from a
# .pc), so without it a CCurl module compiled against another build's headers would be reused, and
# the runtime would report that build's header limit.
curl_build_macro() {
    local name
    name=$(basename "$(static_curl_build_dir "$1")" | tr -c 'A-Za-z0-9\n' '_')
    echo "-DCCURL_STATIC_BUILD=$name"
}

# curl_pkg_config_dir ARCH: where write_curl_pkg_config puts libcurl.pc (for arm64 seen from the
# chroot, where its Swift build runs).
curl_pkg_config_dir() {
    local build_dir
    build_dir=$(static_curl_build_dir "$1")
    case "$1" in
        arm64) echo "${build_dir#"$ARM64_ROOT"}/pkgconfig" ;;
        *) echo "$build_dir/pkgconfig" ;;
    esac
}

apt_private() {
    local apt_dir="$TOOLS_DIR/apt"
    apt-get -q -o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" \
        -o APT::Sandbox::User=root "$@"
}

# fetch_curl_source DIR: unpacks the pinned source package into DIR/src with only the patches of
# Debian's OpenSSL flavour applied.
fetch_curl_source() {
    local dir=$1 apt_dir="$TOOLS_DIR/apt"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
    printf '%s\n' "$CURL_APT_SOURCES" > "$apt_dir/sources.list"
    apt_private update >&2 || die "apt-get update for the deb-src lines failed"
    (cd "$dir" && apt_private source --download-only "curl=$CURL_DEBIAN_VERSION" >&2) \
        || die "curl $CURL_DEBIAN_VERSION is no longer in Debian's archive: update CURL_DEBIAN_VERSION in scripts/lib/versions.sh to the version 'apt-cache showsrc curl' lists"
    dpkg-source -x "$dir/curl_$CURL_DEBIAN_VERSION.dsc" "$dir/src" >&2 || die "dpkg-source -x failed"

    # The last two patches of the series turn the tree into Debian's GnuTLS and NSS flavours
    # (renaming the library); debian/rules pops them for the OpenSSL build, and so do we.
    local patch
    for patch in 99_nss.patch 90_gnutls.patch; do
        (cd "$dir/src" && patch -R -p1 -s < "debian/patches/$patch") || die "could not revert $patch"
    done
    # Debian's patches touch configure.ac and Makefile.am: regenerate as dh_autoreconf does.
    (cd "$dir/src" && autoreconf -fi >/dev/null 2>&1) || die "autoreconf failed in the curl source"
}

# prepare_static_dependencies ARCH DIR: a private prefix holding only ARCH's OpenSSL and zlib
# headers and static archives. configure must never see /usr/include or /usr/lib: the host's glibc
# headers and shared libraries would leak in and raise the required glibc version.
prepare_static_dependencies() {
    local arch=$1 deps=$2 sysroot tuple
    sysroot=$(library_sysroot "$arch")
    tuple=$(multiarch_tuple "$arch")
    mkdir -p "$deps/include/openssl" "$deps/lib"
    cp "$sysroot"/usr/include/openssl/*.h "$sysroot/usr/include/$tuple"/openssl/*.h "$deps/include/openssl/"
    cp "$sysroot/usr/include/zlib.h" "$sysroot/usr/include/zconf.h" "$deps/include/"
    local library
    for library in $(openssl_static_libraries "$arch"); do
        ln -sf "$sysroot/usr/lib/$tuple/lib$library.a" "$deps/lib/lib$library.a"
    done
}

# configure_and_build_curl ARCH SRC DEPS PREFIX: HTTP(S) only, no optional libraries: the bootstrap
# talks to the Runtime API (plain HTTP) and the secrets extension (plain HTTP on localhost).
configure_and_build_curl() {
    local arch=$1 src=$2 deps=$3 prefix=$4
    local disabled_protocols=(ldap ldaps rtsp dict telnet tftp pop3 imap smtp gopher mqtt smb)
    local without_libraries=(libidn2 librtmp libssh2 nghttp2 libpsl brotli zstd gssapi)
    local options=(--prefix="$prefix" --disable-shared --enable-static --enable-ipv6
                   --with-openssl="$deps" --with-zlib="$deps" --disable-manual
                   # Amazon Linux keeps its CA bundle here; Debian's default path does not exist there.
                   --with-ca-bundle=/etc/pki/tls/certs/ca-bundle.crt --without-ca-path)
    local name
    for name in "${disabled_protocols[@]}"; do options+=("--disable-$name"); done
    for name in "${without_libraries[@]}"; do options+=("--without-$name"); done
    # A cross build: configure must not try to run what it compiles.
    if [ "$arch" != x86_64 ]; then options+=("--host=$(multiarch_tuple "$arch")"); fi
    # What libcrypto.a itself calls beyond zlib (configure adds -lz): its link tests need it too.
    local extra_libraries=""
    if [[ " $(openssl_static_libraries "$arch") " == *" zstd "* ]]; then extra_libraries="-lzstd"; fi

    (
        cd "$src"
        # PKG_CONFIG=false: pkg-config would hand configure the host's shared-library flags.
        # The forwarders: trixie's arm64 OpenSSL calls a few glibc 2.38 functions, and configure's
        # link tests against it would fail without them (and decide there is no OpenSSL). As -l, so
        # that libtool does not copy the archive into libcurl.a.
        CC="$(zig_cc_for "$arch")" CPPFLAGS="-I$deps/include" LDFLAGS="-L$deps/lib" \
            LIBS="$extra_libraries -L$(dirname "$GLIBC_FORWARDERS_ARCHIVE") -lglibc-forwarders -ldl -lpthread" \
            PKG_CONFIG=false ./configure "${options[@]}" > "$src/../configure.log" 2>&1 \
            || die "curl configure failed; see $src/../configure.log"
        make -j"$(nproc)" -C lib > "$src/../make.log" 2>&1 || die "curl build failed; see $src/../make.log"
        make -C lib install >> "$src/../make.log" 2>&1 && make -C include install >> "$src/../make.log" 2>&1 \
            || die "curl install failed; see $src/../make.log"
    )
}
