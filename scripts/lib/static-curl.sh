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

# ensure_static_curl ARCH
ensure_static_curl() {
    local arch=$1
    local build_dir
    build_dir=$(static_curl_build_dir "$arch")
    STATIC_CURL_PREFIX="$build_dir/prefix"
    [ -f "$STATIC_CURL_PREFIX/lib/libcurl.a" ] && return 0

    log "building static libcurl $CURL_DEBIAN_VERSION for $arch (once; reused by later runs)"
    rm -rf "$build_dir"
    mkdir -p "$build_dir"
    fetch_curl_source "$build_dir"
    prepare_static_dependencies "$arch" "$build_dir/deps"
    configure_and_build_curl "$arch" "$build_dir/src" "$build_dir/deps" "$STATIC_CURL_PREFIX"
    if [ "$arch" = arm64 ]; then write_arm64_curl_pkg_config "$build_dir"; fi
}

# static_curl_build_dir ARCH: x86_64 beside the other tools; arm64 inside the trixie chroot, whose
# OpenSSL it links and whose Swift build compiles against its headers.
static_curl_build_dir() {
    case "$1" in
        x86_64) echo "$TOOLS_DIR/curl-$CURL_DEBIAN_VERSION-glibc$GLIBC_TARGET_VERSION" ;;
        arm64) echo "$ARM64_ROOT/opt/curl-$CURL_DEBIAN_VERSION-glibc$GLIBC_TARGET_VERSION" ;;
        *) die "unknown architecture '$1'" ;;
    esac
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

# The Swift build in the chroot compiles CCurl against the headers of the libcurl the relink
# links (7.88.1, not trixie's), and its own throw-away link needs the archives libcurl.a calls.
write_arm64_curl_pkg_config() {
    local build_dir=$1
    local prefix_in_root="${build_dir#"$ARM64_ROOT"}/prefix"
    mkdir -p "$build_dir/pkgconfig"
    cat > "$build_dir/pkgconfig/libcurl.pc" <<PC
Name: libcurl
Description: static libcurl $CURL_DEBIAN_VERSION for the arm64 bootstrap (scripts/lib/static-curl.sh)
Version: ${CURL_DEBIAN_VERSION%%-*}
Cflags: -I$prefix_in_root/include
Libs: -L$prefix_in_root/lib -lcurl $(openssl_static_libraries arm64 | sed 's/\([^ ]*\)/-l\1/g') -lpthread -ldl
PC
}

# arm64_curl_pkg_config_dir: where write_arm64_curl_pkg_config puts libcurl.pc, seen from the chroot.
arm64_curl_pkg_config_dir() {
    local build_dir
    build_dir=$(static_curl_build_dir arm64)
    echo "${build_dir#"$ARM64_ROOT"}/pkgconfig"
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
