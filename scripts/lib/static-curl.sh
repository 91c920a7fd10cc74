# Builds, once, a minimal static libcurl for the bootstrap from Debian bookworm's source package.
# Requires: tools.sh sourced, ensure_zig_cc done (ZIG_CC set). Sets STATIC_CURL_PREFIX.
#
# Why not Debian's libcurl.a: it expects Kerberos, p11-kit, libpsl, nghttp2... at link time and
# several of those have no static archive. Why zig: compiled with the host's gcc, curl would
# reference glibc symbols newer than 2.26 (e.g. fcntl64, __libc_single_threaded).

# Debian's own archive (signed Release files, hashed sources), fetched through a private apt
# configuration so the machine's sources.list stays untouched.
CURL_APT_SOURCES="deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian-security bookworm-security main"

ensure_static_curl() {
    local build_dir="$TOOLS_DIR/curl-$CURL_DEBIAN_VERSION-glibc$GLIBC_TARGET_VERSION"
    STATIC_CURL_PREFIX="$build_dir/prefix"
    [ -f "$STATIC_CURL_PREFIX/lib/libcurl.a" ] && return 0

    log "building static libcurl $CURL_DEBIAN_VERSION (once; reused by later runs)"
    rm -rf "$build_dir"
    mkdir -p "$build_dir"
    fetch_curl_source "$build_dir"
    prepare_static_dependencies "$build_dir/deps"
    configure_and_build_curl "$build_dir/src" "$build_dir/deps" "$STATIC_CURL_PREFIX"
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

# prepare_static_dependencies DIR: a private prefix holding only the OpenSSL and zlib headers and
# static archives. configure must never see /usr/include or /usr/lib: the host's glibc headers and
# shared libraries would leak in and raise the required glibc version.
prepare_static_dependencies() {
    local deps=$1 multiarch=/usr/include/x86_64-linux-gnu
    mkdir -p "$deps/include/openssl" "$deps/lib"
    cp /usr/include/openssl/*.h "$multiarch"/openssl/*.h "$deps/include/openssl/"
    cp /usr/include/zlib.h /usr/include/zconf.h "$deps/include/"
    local archive
    for archive in libssl.a libcrypto.a libz.a; do
        ln -sf "/usr/lib/x86_64-linux-gnu/$archive" "$deps/lib/$archive"
    done
}

# configure_and_build_curl SRC DEPS PREFIX: HTTP(S) only, no optional libraries: the bootstrap
# talks to the Runtime API (plain HTTP) and the secrets extension (plain HTTP on localhost).
configure_and_build_curl() {
    local src=$1 deps=$2 prefix=$3
    local disabled_protocols=(ldap ldaps rtsp dict telnet tftp pop3 imap smtp gopher mqtt smb)
    local without_libraries=(libidn2 librtmp libssh2 nghttp2 libpsl brotli zstd gssapi)
    local options=(--prefix="$prefix" --disable-shared --enable-static --enable-ipv6
                   --with-openssl="$deps" --with-zlib="$deps" --disable-manual
                   # Amazon Linux keeps its CA bundle here; Debian's default path does not exist there.
                   --with-ca-bundle=/etc/pki/tls/certs/ca-bundle.crt --without-ca-path)
    local name
    for name in "${disabled_protocols[@]}"; do options+=("--disable-$name"); done
    for name in "${without_libraries[@]}"; do options+=("--without-$name"); done

    (
        cd "$src"
        # PKG_CONFIG=false: pkg-config would hand configure the host's shared-library flags.
        CC="$ZIG_CC" CPPFLAGS="-I$deps/include" LDFLAGS="-L$deps/lib" LIBS="-ldl -lpthread" \
            PKG_CONFIG=false ./configure "${options[@]}" > "$src/../configure.log" 2>&1 \
            || die "curl configure failed; see $src/../configure.log"
        make -j"$(nproc)" -C lib > "$src/../make.log" 2>&1 || die "curl build failed; see $src/../make.log"
        make -C lib install >> "$src/../make.log" 2>&1 && make -C include install >> "$src/../make.log" 2>&1 \
            || die "curl install failed; see $src/../make.log"
    )
}
