#!/usr/bin/env bash
# Installs what building, running and testing need on a fresh Debian 12 machine (as root, or with
# sudo). Safe to run again: apt and pip skip what is already there.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(
    libcurl4-openssl-dev libssl-dev zlib1g-dev pkg-config   # the libcurl and OpenSSL system-library targets
    redis-server redis-tools                                # the local Redis of the demo and the tests
    openssl zip unzip binutils procps ca-certificates       # certificates, packaging, process control
    python3 python3-pip
    util-linux mount                                        # unshare + bind mount: the failover tests' private /etc/hosts
    debootstrap qemu-user-static                            # the arm64 toolchain's chroot, running arm64 bootstraps
)
# Pinned: the Python client reads keys back in the tests exactly as the serving layer does.
PIP_PACKAGES=(redis==5.2.1)

if ! dpkg -s "${APT_PACKAGES[@]}" >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${APT_PACKAGES[@]}" >/dev/null
fi
# The apt package starts a system-wide Redis on 6379 where an init system exists; the project never
# uses it (demo and tests start their own servers on free ports).

if ! command -v swift >/dev/null 2>&1; then
    echo "error: swift is not on PATH; install Swift 6.x (https://www.swift.org/install/linux/) first" >&2
    exit 1
fi

python3 -m pip install -q --disable-pip-version-check "${PIP_PACKAGES[@]}" 2>/dev/null \
    || python3 -m pip install -q --disable-pip-version-check --break-system-packages "${PIP_PACKAGES[@]}"
