#!/usr/bin/env bash
# Installs what keyrevoke needs on Debian 12 (as root), and nothing that is already there.
#   cmake/install-deps.sh            build + test dependencies
#   cmake/install-deps.sh --fuzz     + clang and libFuzzer's runtime
#   cmake/install-deps.sh --coverage + gcovr (tests/run_all.sh's coverage stage)
#   cmake/install-deps.sh --bench    + wrk, curl, python3-aiohttp, gnuplot (benchmark peers and plots)
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config ca-certificates python3
          libboost1.81-dev libboost-json1.81-dev libboost-test1.81-dev libboost-program-options1.81-dev
          libssl-dev openssl curl nginx-light)
packages+=(faketime)  # tests/integration/test_clock.py runs keyrevoke with its clock set back (libfaketime)
packages+=(nodejs)  # tests/integration/test_contract.py runs Stoplight Prism (npm package, tests/contract/)
packages+=(help2man)  # the man pages keyrevoke(1) and keyrevoke-list(1), from --help (cmake/packaging.cmake)
packages+=(dpkg-dev)  # cpack -G DEB: dpkg-shlibdeps fills Depends (tests/integration/package_deb.py)
packages+=(bash-completion zsh)  # tests/integration/test_install.py runs the completion scripts
packages+=(util-linux mount)  # tests/integration/test_dial.py: unshare -m, mount --bind (a private /etc/hosts)
command -v npm >/dev/null || packages+=(npm)  # Debian's npm, unless node came with its own (NodeSource)
for arg in "$@"; do
  case "$arg" in
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    --bench) packages+=(wrk curl python3-aiohttp gnuplot-nox) ;;
    --coverage) packages+=(gcovr) ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
