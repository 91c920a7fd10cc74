# The arm64 (aarch64, Graviton) cross toolchain, installed once into the git-ignored .tools/.
# Requires: tools.sh and versions.sh sourced; static-curl.sh for build_arm64_product.
#
# No aarch64 Swift SDK can be had here, but Debian trixie ships its Swift compiler (swiftlang) for
# amd64 and arm64. So: an x86_64 trixie chroot (debootstrap, from Debian's archive) runs the amd64
# compiler with --triple aarch64-unknown-linux-gnu; its resource directory is the aarch64
# lib/swift_static unpacked from the arm64 swiftlang package (the Swift runtime's static archives
# and modules for aarch64), and an arm64 multiarch sysroot in the same chroot (libc6-dev:arm64,
# libstdc++, OpenSSL, zlib, zstd) gives the C headers and libraries. SwiftPM's own link there (lld,
# trixie's glibc 2.41) is thrown away: scripts/lib/relink.sh links the objects again with zig cc
# against glibc 2.26, as for x86_64.
#
# Everything lives under $ARM64_TOOLCHAIN_DIR, named after the pinned compiler: changing the pin
# builds a new one beside it. About 4 GB on disk, 1 GB downloaded, a few minutes, once.

ARM64_TOOLCHAIN_DIR="$TOOLS_DIR/arm64-trixie-swiftlang-$SWIFTLANG_TRIXIE_VERSION"
ARM64_ROOT="$ARM64_TOOLCHAIN_DIR/root"
# Paths inside the chroot.
ARM64_SWIFT_RESOURCE_DIR=/opt/swift-aarch64/usr/libexec/swift/lib/swift_static
ARM64_SOURCE_DIR=/build/src
ARM64_SCRATCH_DIR=/build/scratch
ARM64_TRIPLE=aarch64-unknown-linux-gnu
# What the chroot's amd64 side needs (the compiler, pkg-config) and the arm64 sysroot.
ARM64_ROOT_PACKAGES=(
    # libc6-dev (amd64): SwiftPM compiles and links Package.swift for the machine it runs on.
    "swiftlang=$SWIFTLANG_TRIXIE_VERSION" pkgconf libc6-dev
    libc6-dev:arm64 "libgcc-$GCC_TRIXIE_MAJOR-dev:arm64" "libstdc++-$GCC_TRIXIE_MAJOR-dev:arm64"
    libssl-dev:arm64 zlib1g-dev:arm64 libzstd-dev:arm64
)
# Free disk space the first installation needs (the chroot is ~4 GB; downloads pass through it).
ARM64_TOOLCHAIN_MIN_FREE_KB=$((6 * 1024 * 1024))

ensure_arm64_toolchain() {
    [ -f "$ARM64_TOOLCHAIN_DIR/ready" ] && return 0
    check_arm64_host
    log "installing the arm64 toolchain (Debian trixie, swiftlang $SWIFTLANG_TRIXIE_VERSION) into ${ARM64_TOOLCHAIN_DIR#"$REPO_ROOT"/} (once; about 4 GB, a few minutes)"
    remove_arm64_root
    mkdir -p "$ARM64_TOOLCHAIN_DIR"
    debootstrap --variant=minbase --arch=amd64 trixie "$ARM64_ROOT" "$DEBIAN_TRIXIE_MIRROR" \
        > "$ARM64_TOOLCHAIN_DIR/debootstrap.log" 2>&1 \
        || die "debootstrap of Debian trixie failed; see ${ARM64_TOOLCHAIN_DIR#"$REPO_ROOT"/}/debootstrap.log"
    install_arm64_root_packages
    unpack_aarch64_swift_runtime
    in_arm64_root apt-get clean
    touch "$ARM64_TOOLCHAIN_DIR/ready"
}

# The cross build is an x86_64 program run in a chroot: it needs an x86_64 Linux host, root
# (debootstrap, chroot, mount) and the disk space. Refused up front rather than half-way.
check_arm64_host() {
    local machine
    machine=$(uname -m)
    [ "$(uname -s)" = Linux ] && [ "$machine" = x86_64 ] \
        || die "the arm64 build runs Debian trixie's x86_64 Swift compiler in a chroot: it needs an x86_64 Linux host (this one is $(uname -s) $machine)"
    [ "$(id -u)" -eq 0 ] \
        || die "the arm64 build needs root: its toolchain is a Debian chroot (debootstrap, chroot, mount); run scripts/package.sh --arch arm64 as root"
    local free_kb
    mkdir -p "$TOOLS_DIR"
    free_kb=$(df -Pk "$TOOLS_DIR" | awk 'NR == 2 { print $4 }')
    [ "$free_kb" -ge "$ARM64_TOOLCHAIN_MIN_FREE_KB" ] \
        || die "the arm64 toolchain needs about 6 GB free under ${TOOLS_DIR#"$REPO_ROOT"/} (the trixie chroot is ~4 GB); $((free_kb / 1024)) MB are free"
}

# A half-installed root from an interrupted run is removed, but never through a live mount.
remove_arm64_root() {
    [ -e "$ARM64_ROOT" ] || return 0
    if grep -q " $ARM64_ROOT/" /proc/mounts; then
        die "something is still mounted under $ARM64_ROOT (see /proc/mounts); unmount it and run again"
    fi
    rm -rf "$ARM64_ROOT"
}

install_arm64_root_packages() {
    # Security updates matter: the chroot's OpenSSL and zlib end up inside the bootstrap.
    cat > "$ARM64_ROOT/etc/apt/sources.list" <<SOURCES
deb $DEBIAN_TRIXIE_MIRROR trixie main
deb $DEBIAN_TRIXIE_MIRROR trixie-updates main
deb $DEBIAN_TRIXIE_SECURITY_MIRROR trixie-security main
SOURCES
    in_arm64_root dpkg --add-architecture arm64 || die "dpkg --add-architecture arm64 failed in the chroot"
    in_arm64_root apt-get update -q > "$ARM64_TOOLCHAIN_DIR/apt.log" 2>&1 \
        || die "apt-get update in the trixie chroot failed; see ${ARM64_TOOLCHAIN_DIR#"$REPO_ROOT"/}/apt.log"
    in_arm64_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${ARM64_ROOT_PACKAGES[@]}" >> "$ARM64_TOOLCHAIN_DIR/apt.log" 2>&1 \
        || die "installing ${ARM64_ROOT_PACKAGES[*]} in the trixie chroot failed (is swiftlang $SWIFTLANG_TRIXIE_VERSION still in trixie? 'apt-cache policy swiftlang' in the chroot lists it); see ${ARM64_TOOLCHAIN_DIR#"$REPO_ROOT"/}/apt.log"
}

# The arm64 swiftlang package is only unpacked, never installed: its lib/swift_static (the
# aarch64 Swift runtime, Foundation and their modules) becomes the cross build's resource
# directory. Its clang headers come along (swift_static/clang points at them).
unpack_aarch64_swift_runtime() {
    local download=/var/cache/apt/archives
    in_arm64_root sh -c "cd $download && apt-get download -q swiftlang:arm64=$SWIFTLANG_TRIXIE_VERSION" \
        >> "$ARM64_TOOLCHAIN_DIR/apt.log" 2>&1 \
        || die "downloading swiftlang:arm64=$SWIFTLANG_TRIXIE_VERSION failed; see ${ARM64_TOOLCHAIN_DIR#"$REPO_ROOT"/}/apt.log"
    local deb destination="$ARM64_ROOT/opt/swift-aarch64"
    deb=$(ls "$ARM64_ROOT$download"/swiftlang_*_arm64.deb)
    rm -rf "$destination"
    mkdir -p "$destination"
    dpkg-deb --fsys-tarfile "$deb" \
        | tar -x -C "$destination" ./usr/libexec/swift/lib/swift_static ./usr/libexec/swift/lib/clang \
        || die "unpacking lib/swift_static from $deb failed"
    rm -f "$deb"
    [ -f "$ARM64_ROOT$ARM64_SWIFT_RESOURCE_DIR/linux/aarch64/swiftrt.o" ] \
        || die "the arm64 swiftlang package has no lib/swift_static/linux/aarch64/swiftrt.o: its layout changed"
}

# in_arm64_root COMMAND...: COMMAND in the chroot, with /proc and /dev mounted in a private mount
# namespace (they vanish with the command, even when it is killed) and a clean environment.
in_arm64_root() {
    unshare --mount --propagation private -- /bin/sh -c '
        root=$1; shift
        mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" || exit 1
        exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
            PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
    ' in_arm64_root "$ARM64_ROOT" "$@"
}

# build_arm64_product PRODUCT: swift build of PRODUCT for aarch64 in the chroot, from a copy of the
# working tree (uncommitted changes included). Prints the bin directory as seen from the host.
build_arm64_product() {
    local product=$1
    sync_sources_into_arm64_root
    # pkg-config: the static libcurl's own .pc first (its headers are what the relink links), then
    # the arm64 ones (OpenSSL); never the chroot's amd64 ones. No cached build plan and a macro
    # naming the libcurl build, lest an earlier build's flags or CCurl module be reused
    # (scripts/package.sh, build_product).
    local curl_pc_dir
    curl_pc_dir=$(curl_pkg_config_dir arm64)
    in_arm64_root env PKG_CONFIG_PATH="$curl_pc_dir:/usr/lib/aarch64-linux-gnu/pkgconfig" \
        PKG_CONFIG_LIBDIR="$curl_pc_dir:/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig" \
        sh -c 'cd "$1" && shift && exec swift build "$@"' build "$ARM64_SOURCE_DIR" \
        -c release --static-swift-stdlib --triple "$ARM64_TRIPLE" --sdk / \
        -Xswiftc -resource-dir -Xswiftc "$ARM64_SWIFT_RESOURCE_DIR" -Xswiftc -use-ld=lld \
        -Xcc "$(curl_build_macro arm64)" \
        --scratch-path "$ARM64_SCRATCH_DIR" --disable-build-manifest-caching --product "$product" >&2 \
        || die "swift build of $product for arm64 (swiftlang $SWIFTLANG_TRIXIE_VERSION) failed (see above): the product targets must compile with Swift 6.0.3 too"
    echo "$ARM64_ROOT$ARM64_SCRATCH_DIR/$ARM64_TRIPLE/release"
}

# The chroot sees a copy of the working tree without build products or tools. Timestamps are kept,
# so SwiftPM rebuilds only what changed.
sync_sources_into_arm64_root() {
    local destination="$ARM64_ROOT$ARM64_SOURCE_DIR"
    rm -rf "$destination"
    mkdir -p "$destination"
    tar -C "$REPO_ROOT" --exclude=./.git --exclude='./.build*' --exclude=./.tools --exclude=./dist \
        --exclude=./.venv --exclude=./.swiftpm -cf - . | tar -C "$destination" -xf - \
        || die "copying the sources into the arm64 chroot failed"
}
