#!/usr/bin/env bash
# Cross-builds kevo for 64-bit Arm Linux into build-aarch64/ and runs its engine and analysis
# tests under qemu-user (docs/aarch64.md). Idempotent: installs only what is missing.
#
#   tools/cross_aarch64.sh                 install, build, run the default test prefixes
#   tools/cross_aarch64.sh PREFIX...       the same, running the tests whose names start so
#   KEVO_CROSS_NO_TESTS=1 tools/...        install and build only
#
# The toolchain is Debian's gcc-aarch64-linux-gnu; the libraries kevo links (the Makefile's PKGS:
# openblas, cjson, libpng, cairo, libjpeg, nettle) are the arm64 packages installed beside the
# amd64 ones through dpkg multiarch, found with aarch64-linux-gnu-pkg-config. The test data
# (fixture models, oracle outputs) is made on the host by `make oracles`, as for the native
# tests, and reused as is.
#
# qemu-aarch64 runs without -L: libc6:arm64 (multiarch) provides /lib/ld-linux-aarch64.so.1 and
# every library in /lib/aarch64-linux-gnu. With -L /usr/aarch64-linux-gnu qemu would take the
# dynamic loader of the cross libc (libc6-arm64-cross, an older 2.36 build) and the libc of the
# multiarch one, and the process spins in its start-up. The tests start the CLI through
# /bin/sh (kevo_test_cli), which cannot exec an aarch64 binary without binfmt_misc, so KEVO_BIN
# is a two-line wrapper that runs build-aarch64/kevo through qemu-aarch64.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=build-aarch64
TRIPLE=aarch64-linux-gnu
# The default selection (under 8 minutes of qemu on a 2-core machine): the engine against
# PyTorch on the fixtures (engine_*, model_*, info_*, cli_run_*), the scalar kernels, the lens,
# divergences, stages and the analyze CLI with its figures, the maps, and t-SNE's pieces against
# scikit-learn. Left out for time (each 1-7 minutes under qemu, all passing): the demo model,
# the statistical t-SNE comparisons over 20 seeds, tsne_threads_identical and the t-SNE CLI run
# (tools/cross_aarch64.sh tsne runs them all).
DEFAULT_TESTS=(engine model info cli_run kernels convert analysis analyze stages answer scaling
               maps tsne_knn tsne_sqdist tsne_calibration tsne_joint tsne_gradient tsne_simd
               tsne_pca tsne_rejects tsne_cli_inputs tsne_cli_refusals)

host_pkgs=(gcc-aarch64-linux-gnu qemu-user pkg-config)
# The arm64 twins of tools/deps.sh's libraries (the Makefile's PKGS, checked below).
arm64_pkgs=(libc6-dev libgomp1 libopenblas-dev libcjson-dev libpng-dev libcairo2-dev
            libjpeg62-turbo-dev nettle-dev libpcre2-dev libutf8proc-dev)

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
# Architecture-qualified: with arm64 enabled, a package installed for both (pkg-config is)
# prints one status per architecture.
host_arch=$(dpkg --print-architecture)
for p in "${host_pkgs[@]}"; do installed "$p:$host_arch" || missing+=("$p"); done
for p in "${arm64_pkgs[@]}"; do installed "$p:arm64" || missing+=("$p:arm64"); done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "cross_aarch64: missing Debian packages: ${missing[*]}" >&2
        echo "run:  sudo dpkg --add-architecture arm64 && sudo apt-get update &&" \
             "sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
    echo "cross_aarch64: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        dpkg --add-architecture arm64
    fi
    # The arm64 package lists appear only after an update.
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# A library added to the Makefile's PKGS needs its arm64 package in arm64_pkgs above.
pkgs=$(sed -n 's/^PKGS *:= *//p' Makefile)
for m in $pkgs; do
    "$TRIPLE-pkg-config" --exists "$m" ||
        { echo "cross_aarch64: no arm64 pkg-config module '$m': add its -dev package to" \
               "arm64_pkgs in $0" >&2; exit 1; }
done

# The host build makes the test data (and installs the Python oracles' packages if missing).
make --no-print-directory oracles

jobs=$(nproc 2>/dev/null || echo 2)
make --no-print-directory -s -j"$jobs" BUILD="$BUILD" CC="$TRIPLE-gcc" \
    PKG_CONFIG="$TRIPLE-pkg-config" "$BUILD/kevo" "$BUILD/kevo-test"
"$TRIPLE-readelf" -h "$BUILD/kevo" | grep -q 'Machine: *AArch64' ||
    { echo "cross_aarch64: $BUILD/kevo is not an aarch64 binary" >&2; exit 1; }

cat > "$BUILD/kevo-qemu" <<'EOF'
#!/bin/sh
# KEVO_BIN for the tests: the aarch64 kevo beside this file, through qemu-user.
exec qemu-aarch64 "$(dirname "$0")/kevo" "$@"
EOF
chmod +x "$BUILD/kevo-qemu"

[ -n "${KEVO_CROSS_NO_TESTS:-}" ] && exit 0
tests=("$@")
[ ${#tests[@]} -eq 0 ] && tests=("${DEFAULT_TESTS[@]}")
echo "cross_aarch64: qemu-aarch64 $BUILD/kevo-test ${tests[*]}" >&2
start=$(date +%s)
status=0
# Arm has the `ref` path only; a KEVO_ISA meant for the x86 runs would make kevo-test refuse.
unset KEVO_ISA
KEVO_BIN="$BUILD/kevo-qemu" KEVO_DATA=build/data \
    qemu-aarch64 "$BUILD/kevo-test" "${tests[@]}" || status=$?
echo "cross_aarch64: the tests took $(( $(date +%s) - start )) s under qemu" >&2
exit $status
