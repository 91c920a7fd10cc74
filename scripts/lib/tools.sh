# Installs, once, the tools the packaging and lint scripts need, into the git-ignored .tools/.
# Requires: REPO_ROOT set, scripts/lib/versions.sh sourced.

TOOLS_DIR="$REPO_ROOT/.tools"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian packages the build needs: static OpenSSL/zlib archives and headers, autotools to
# regenerate curl's configure after Debian's patches, dpkg-source to unpack the source package,
# GCC's libstdc++.a (the Swift runtime's C++ library), zip/unzip, binutils for the glibc checks. Installed only when one is missing, so a second run
# never touches apt.
ensure_debian_packages() {
    local wanted=(libssl-dev zlib1g-dev libcurl4-openssl-dev autoconf automake libtool make
                  dpkg-dev gcc libstdc++-12-dev zip unzip binutils python3-venv)
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

# zig cc as a plain compiler command (configure scripts want one executable in CC) that always
# targets x86_64 Linux with glibc $GLIBC_TARGET_VERSION. Sets ZIG_CC.
ensure_zig_cc() {
    ensure_pip_package ziglang "$ZIG_PYPI_VERSION"
    ZIG_CC="$TOOLS_DIR/bin/zig-cc-glibc$GLIBC_TARGET_VERSION"
    # zig keeps a compilation cache; keep it with the other tools rather than in $HOME.
    export ZIG_GLOBAL_CACHE_DIR="$TOOLS_DIR/zig-cache"
    [ -x "$ZIG_CC" ] && return 0
    mkdir -p "$TOOLS_DIR/bin"
    cat > "$ZIG_CC" <<WRAPPER
#!/bin/sh
export ZIG_GLOBAL_CACHE_DIR="$TOOLS_DIR/zig-cache"
exec "$TOOLS_DIR/venv/bin/python" -m ziglang cc -target x86_64-linux-gnu.$GLIBC_TARGET_VERSION "\$@"
WRAPPER
    chmod 755 "$ZIG_CC"
}
