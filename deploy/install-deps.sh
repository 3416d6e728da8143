#!/usr/bin/env bash
# Installs exactly the Debian 12 packages ccmon needs to build, run and test.
# Idempotent: packages already present are not touched; apt runs only when something is missing.
set -euo pipefail

# build: compilers, CMake/Ninja, the libraries ccmon links.
build_pkgs=(
  build-essential cmake ninja-build pkg-config ccache
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  prometheus-cpp-dev libspdlog-dev libfmt-dev libasio-dev libyaml-cpp-dev libcurl4-openssl-dev libssl-dev
  libsqlite3-dev libpqxx-dev zlib1g-dev
  tzdata
)
# tests: GoogleTest, benchmark, libFuzzer (clang), real Prometheus/Alertmanager, tools the
# integration tests drive (Kamailio and SIPp answer the agent's SIP trunk probes).
test_pkgs=(
  libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev clang-format clang-tidy
  prometheus prometheus-alertmanager curl jq openssl tmux procps sqlite3 chromium
  kamailio sip-tester postgresql
)

want=("${build_pkgs[@]}")
if [[ "${1:-}" != "--runtime-only" ]]; then
  want+=("${test_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# The dashboard schema check runs on Node.js (tests/schema). A Node installed another way (with
# its own npm) is used as it is; Debian's packages are installed only when there is none.
if [[ "${1:-}" != "--runtime-only" ]]; then
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
fi

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
# --no-install-recommends keeps node-exporter and friends off build machines; policy-rc.d-less
# containers may print service start warnings, which are harmless here.
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian's kamailio package enables and starts kamailio.service (SIP on port 5060, every
# interface, every boot) on hosts running systemd. The tests start their own Kamailio on a
# loopback port; one installed here for them must not take 5060 from a PBX on the same box.
# Likewise Debian's postgresql creates and starts a cluster on port 5432; the tests run their
# own throwaway servers (initdb) and need only the binaries.
if [[ " ${missing[*]} " == *" postgresql "* ]] && [[ -d /run/systemd/system ]]; then
  "${sudo[@]}" systemctl disable --now postgresql.service >/dev/null 2>&1 || true
  echo "install-deps: postgresql.service disabled (tests run their own PostgreSQL)"
fi
if [[ " ${missing[*]} " == *" kamailio "* ]] && [[ -d /run/systemd/system ]]; then
  "${sudo[@]}" systemctl disable --now kamailio.service >/dev/null 2>&1 || true
  echo "install-deps: kamailio.service disabled (tests run their own Kamailio)"
fi
