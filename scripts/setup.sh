#!/usr/bin/env bash
# Installs what tinyforge needs on a fresh Debian/Ubuntu machine: the host C compiler, the Arm
# cross toolchain with newlib, the RV32 and Xtensa lx106 cross toolchains with picolibc, QEMU for
# the emulated Arm, RISC-V and Xtensa boards (qemu-system-misc has qemu-system-xtensa), and the
# npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(gcc libc6-dev gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm socat
  gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc chromium
  gcc-xtensa-lx106 binutils-xtensa-lx106 picolibc-xtensa-lx106-elf)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "setup: npm ci"
npm ci --no-audit --no-fund
