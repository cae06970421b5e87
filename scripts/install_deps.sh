#!/usr/bin/env bash
# Installs the Debian packages encmol needs, if any are missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libeigen3-dev libopenblas-dev liblapack-dev
  librdkit-dev libboost-dev
  xtb libxtb-dev
  libsodium-dev libzstd-dev zlib1g-dev
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  gnuplot-nox
  clang libclang-rt-14-dev
  libgrpc++-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev prometheus-cpp-dev
  libsqlite3-dev libpq-dev postgresql openssl
  pybind11-dev python3-dev python3-numpy python3-pytest
  python3-sklearn python3-ase python3-rdkit python3-matplotlib
  python3-setuptools python3-wheel python3-pip python3-venv
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "encmol: missing Debian packages: ${missing[*]}"
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  echo "encmol: installing them with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "encmol: not root; run this as root, then re-run make:"
  echo "  sudo sh -c '$cmd'"
  exit 1
fi
