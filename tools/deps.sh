#!/usr/bin/env bash
# Installs the Debian packages kevo needs, and only those that are missing.
#   tools/deps.sh build   C libraries and fonts for building and running kevo
#   tools/deps.sh test    the above plus the Python oracles the tests compare against (and
#                         Node.js for the GGUF oracle's reference parser), and Chromium for
#                         the report's browser test (tests/test_report_browser.c)
#   tools/deps.sh fuzz    the build packages plus clang, libFuzzer and LLVM's OpenMP (make fuzz)
#   tools/deps.sh slurm   the build packages plus Slurm, munge and GNU parallel (make test-slurm)
# Without root it installs nothing and prints the one command to run.
set -euo pipefail

build_pkgs=(gcc make pkg-config libopenblas-dev libcjson-dev libjpeg62-turbo-dev libpng-dev
            libcairo2-dev nettle-dev libpcre2-dev libutf8proc-dev fonts-dejavu-core)
test_pkgs=(python3-numpy python3-torch python3-pil python3-sentencepiece python3-sklearn chromium
           python3-scipy python3-mpmath parallel)
fuzz_pkgs=(clang libclang-rt-14-dev libomp-dev python3)
slurm_pkgs=(slurmctld slurmd slurm-client munge python3)

case "${1:-build}" in
    build) want=("${build_pkgs[@]}") ;;
    test)  want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
    fuzz)  want=("${build_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
    slurm) want=("${build_pkgs[@]}" "${slurm_pkgs[@]}") ;;
    *) echo "usage: $0 build|test|fuzz|slurm" >&2; exit 2 ;;
esac

missing=()
# The GGUF oracle checks its files with Hugging Face's parser from npm: the machine's Node.js and
# npm serve when present (whatever installed them), else Debian's.
if [ "${1:-build}" = test ] && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
    missing+=(nodejs npm)
fi
for p in "${want[@]}"; do
    # A multi-arch package prints one status per installed architecture, run together.
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "kevo needs these Debian packages: ${missing[*]}" >&2
    echo "run:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; update only when the first try fails.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
