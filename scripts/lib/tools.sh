# Installs, once, the tools the packaging and lint scripts need, into the git-ignored .tools/.
# Requires: REPO_ROOT set, scripts/lib/versions.sh sourced.

TOOLS_DIR="$REPO_ROOT/.tools"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian packages the build needs: static OpenSSL/zlib archives and headers, autotools to
# regenerate curl's configure after Debian's patches, dpkg-source to unpack the source package,
# GCC's libstdc++.a (the Swift runtime's C++ library), zip/unzip, binutils for the glibc checks. Installed only when one is missing, so a second run
# never touches apt.
# ensure_debian_packages [EXTRA...]: also EXTRA (debootstrap for the arm64 toolchain).
ensure_debian_packages() {
    local wanted=(libssl-dev zlib1g-dev libcurl4-openssl-dev autoconf automake libtool make
                  dpkg-dev gcc libstdc++-12-dev zip unzip binutils python3-venv "$@")
    local missing=()
    local package
    for package in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing Debian packages (${missing[*]}); install them or run as root"
    log "installing Debian packages: ${missing[*]}"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
}

# A private Python environment, so pinned PyPI tools never clash with the machine's own.
ensure_python_venv() {
    [ -x "$TOOLS_DIR/venv/bin/python" ] && return 0
    log "creating $TOOLS_DIR/venv"
    python3 -m venv "$TOOLS_DIR/venv" || die "python3 -m venv failed (install python3-venv)"
}

# ensure_pip_package NAME VERSION: installs NAME==VERSION into the private environment unless
# exactly that version is already there.
ensure_pip_package() {
    local name=$1 version=$2
    ensure_python_venv
    local installed
    installed=$("$TOOLS_DIR/venv/bin/python" -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p' || true)
    [ "$installed" = "$version" ] && return 0
    log "installing $name==$version from PyPI"
    "$TOOLS_DIR/venv/bin/python" -m pip install -q "$name==$version" >&2 || die "pip install $name==$version failed"
}

# Lambda's architecture names (what template.yaml and the zips use) to the GNU multiarch tuple:
# Debian's library folders and zig's target names.
multiarch_tuple() {
    case "$1" in
        x86_64) echo x86_64-linux-gnu ;;
        arm64) echo aarch64-linux-gnu ;;
        *) die "unknown architecture '$1' (choose x86_64 or arm64)" ;;
    esac
}

# zig_cc_for ARCH: the wrapper ensure_zig_cc ARCH writes. (x86_64 keeps the name it always had.)
zig_cc_for() {
    case "$1" in
        x86_64) echo "$TOOLS_DIR/bin/zig-cc-glibc$GLIBC_TARGET_VERSION" ;;
        *) echo "$TOOLS_DIR/bin/zig-cc-$1-glibc$GLIBC_TARGET_VERSION" ;;
    esac
}

# ensure_zig_cc ARCH: zig cc as a plain compiler command (configure scripts want one executable in
# CC) that always targets ARCH Linux with glibc $GLIBC_TARGET_VERSION. Sets ZIG_CC.
ensure_zig_cc() {
    local arch=$1 tuple
    tuple=$(multiarch_tuple "$arch")
    ensure_pip_package ziglang "$ZIG_PYPI_VERSION"
    ZIG_CC=$(zig_cc_for "$arch")
    # zig keeps a compilation cache; keep it with the other tools rather than in $HOME.
    export ZIG_GLOBAL_CACHE_DIR="$TOOLS_DIR/zig-cache"
    [ -x "$ZIG_CC" ] && return 0
    mkdir -p "$TOOLS_DIR/bin"
    cat > "$ZIG_CC" <<WRAPPER
#!/bin/sh
export ZIG_GLOBAL_CACHE_DIR="$TOOLS_DIR/zig-cache"
exec "$TOOLS_DIR/venv/bin/python" -m ziglang cc -target $tuple.$GLIBC_TARGET_VERSION "\$@"
WRAPPER
    chmod 755 "$ZIG_CC"
}

glibc_forwarders_archive_for() { echo "$TOOLS_DIR/lib/$1-glibc$GLIBC_TARGET_VERSION/libglibc-forwarders.a"; }

# ensure_glibc_forwarders ARCH: scripts/lib/glibc-forwarders.c compiled for ARCH into a static
# archive (rebuilt when the source changes). Sets GLIBC_FORWARDERS_ARCHIVE. An archive, so a
# forwarder is linked only where something calls it. Requires ensure_zig_cc ARCH first.
ensure_glibc_forwarders() {
    local arch=$1 source="$REPO_ROOT/scripts/lib/glibc-forwarders.c"
    GLIBC_FORWARDERS_ARCHIVE=$(glibc_forwarders_archive_for "$arch")
    local dir
    dir=$(dirname "$GLIBC_FORWARDERS_ARCHIVE")
    [ -f "$GLIBC_FORWARDERS_ARCHIVE" ] && [ "$GLIBC_FORWARDERS_ARCHIVE" -nt "$source" ] && return 0
    mkdir -p "$dir"
    "$(zig_cc_for "$arch")" -O2 -Wall -Werror -c -o "$dir/glibc-forwarders.o" "$source" >&2 \
        || die "compiling $source for $arch failed"
    rm -f "$GLIBC_FORWARDERS_ARCHIVE"
    "$TOOLS_DIR/venv/bin/python" -m ziglang ar rcs "$GLIBC_FORWARDERS_ARCHIVE" "$dir/glibc-forwarders.o" \
        || die "zig ar failed for $GLIBC_FORWARDERS_ARCHIVE"
}
