#!/usr/bin/env bash
# .ci/oclgrind.sh — runs the kernel unit tests (--quick sizes) and a tiny-model forward on
# oclgrind's simulated OpenCL device with its memory-access, data-race and uninitialized-value
# checks. Any oclgrind report fails the run. Slow (every work-item is interpreted): ~15 minutes,
# so it is a documented command, not part of .ci/run.
# Usage: [BUILD_DIR=build] .ci/oclgrind.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
command -v oclgrind >/dev/null || { echo "oclgrind.sh: apt-get install oclgrind" >&2; exit 1; }
[ -f "$build/build.ninja" ] || meson setup "$build"
ninja -C "$build" tests/test_ops tests/test_parity_tiny
export SIGLIP_TEST_DATA=$PWD/tests/data SIGLIP_TEST_DEVICE=oclgrind
log=$build/oclgrind.log
: > "$log"
status=0
# The forward with the CPU-device paths (packed GEMM, row attention), which CLBlast's kernels
# would otherwise replace on oclgrind's "GPU" (hours in the simulator); test_ops covers both.
tuning=$build/oclgrind-tuning.json
echo '{"gemm": "panels", "attention": "rows"}' > "$tuning"
export SIGLIP_TEST_TUNING=$PWD/$tuning
for cmd in "$build/tests/test_ops --quick" "$build/tests/test_parity_tiny --quick"; do
  echo "== oclgrind $cmd" | tee -a "$log"
  # shellcheck disable=SC2086
  oclgrind --check-api --data-races --uninitialized $cmd >> "$log" 2>&1 || status=1
done
# oclgrind prints its findings as "Invalid read/write", "data race", "Uninitialized value" etc.
if grep -nE "Invalid (read|write)|[Dd]ata race|Uninitialized|Unsupported instruction|Oclgrind - " \
     "$log"; then
  echo "oclgrind.sh: oclgrind reported problems (see $log)" >&2
  status=1
fi
grep -E "checks, [0-9]+ failed" "$log" || true
exit $status
