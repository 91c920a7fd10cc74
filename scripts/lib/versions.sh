# Pinned versions of everything the packaging and lint scripts install or build.
# Sourced by scripts/*.sh; change a pin here and the next run rebuilds what depends on it
# (each tool lives in a folder named after its version under .tools/).

# Amazon Linux 2 (provided.al2) ships glibc 2.26, Amazon Linux 2023 (provided.al2023) 2.34:
# a bootstrap that needs nothing newer than 2.26 runs on both.
GLIBC_TARGET_VERSION=2.26

# zig is only used as a C compiler/linker that can target an old glibc (its stub libc.so files
# carry the symbol versions of the requested release), installed from PyPI.
ZIG_PYPI_VERSION=0.14.1

# libcurl comes from Debian bookworm's own source package (upstream 7.88.1 with Debian's security
# patches), the same version as libcurl4-openssl-dev whose headers SwiftPM compiles against.
CURL_DEBIAN_VERSION=7.88.1-10+deb12u15

# The arm64 (Graviton) bootstraps are cross-compiled by Debian trixie's own Swift compiler (the only
# aarch64 Swift toolchain a Debian archive ships), in an x86_64 trixie chroot with an arm64
# multiarch sysroot (scripts/lib/arm64-toolchain.sh). The product targets must compile with it
# as well as with the x86_64 toolchain (Swift 6.3.1): Sources/ uses nothing newer than Swift 6.0.
DEBIAN_TRIXIE_MIRROR=http://deb.debian.org/debian
DEBIAN_TRIXIE_SECURITY_MIRROR=http://deb.debian.org/debian-security
SWIFTLANG_TRIXIE_VERSION=6.0.3-2
# GCC of trixie: its arm64 libstdc++.a and crt files serve the build and the relink.
GCC_TRIXIE_MAJOR=14

CFN_LINT_PYPI_VERSION=1.51.0
# The SAM translator that expands template.yaml into plain CloudFormation for the offline checks
# (scripts/template_checks.py); cfn-lint depends on it too, so pin the version cfn-lint accepts.
SAM_TRANSLATOR_PYPI_VERSION=1.115.0
