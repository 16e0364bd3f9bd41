#!/usr/bin/env bash
# .ci/sanitize.sh — builds libsiglip with AddressSanitizer + UndefinedBehaviorSanitizer in its own
# build directory and runs the whole test suite (OpenCL tests included, on PoCL). Any ASan, UBSan or
# LeakSanitizer report fails its test: tests/meson.build sets ASAN_/LSAN_/UBSAN_OPTIONS under
# -Db_sanitize (halt on the first report; LeakSanitizer suppressions for the OpenCL driver stack
# only, .ci/lsan.supp). Extra arguments go to `meson test` (e.g. --suite image).
# Usage: [SANITIZE_BUILD_DIR=build-sanitize] .ci/sanitize.sh [meson test args...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SANITIZE_BUILD_DIR:-build-sanitize}

if [ ! -f "$build/build.ninja" ]; then
  # b_lundef=false: the shared library is linked without the sanitizer runtimes, which the
  # executables bring in.
  meson setup "$build" --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$build" -j "${SANITIZE_JOBS:-2}"
# PoCL only: Mesa's ICDs (rusticl, clover), which the ICD loader also loads, leave one 128-byte
# allocation of a module that is unloaded before exit, so LeakSanitizer cannot name it (nor a
# suppression match it). The sanitizers check our code; the suite runs on rusticl in .ci/run.
vendors=$(mktemp -d)
chmod 755 "$vendors" # tests run some commands as another user (batch-readonly: nobody)
trap 'rm -rf "$vendors"' EXIT
for icd in /etc/OpenCL/vendors/pocl*.icd; do ln -s "$icd" "$vendors/"; done
export OCL_ICD_VENDORS=$vendors
status=0
meson test -C "$build" --print-errorlogs --num-processes "${SANITIZE_JOBS:-2}" \
  --timeout-multiplier 3 "$@" || status=$?
python3 .ci/summarize.py "$build/meson-logs/testlog.json"
# A report that somehow did not fail its test still fails the run.
if grep -qE "ERROR: (Address|Leak)Sanitizer|\.(c|h|cpp):[0-9]+:[0-9]+: runtime error:" "$build/meson-logs/testlog.txt"; then
  echo "sanitize: sanitizer reports in $build/meson-logs/testlog.txt" >&2
  status=1
fi
exit $status
