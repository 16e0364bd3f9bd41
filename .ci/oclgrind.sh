#!/usr/bin/env bash
# .ci/oclgrind.sh — runs kernels on oclgrind's simulated OpenCL device with its memory-access,
# data-race and uninitialized-value checks; any oclgrind report fails the run.
# --sizes (what .ci/run does): every kernel once at a real model's sizes (tests/oclgrind_ops.c:
#   base and so400m GEMM depth 768 / 1152 and attention keys 197 / 729, the text tower's 64).
# Without it also the kernel unit tests (--quick sizes) and a tiny-model forward: slow (every
#   work-item is interpreted, ~15 minutes), a documented command.
# Usage: [BUILD_DIR=build] .ci/oclgrind.sh [--sizes]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
command -v oclgrind >/dev/null || { echo "oclgrind.sh: apt-get install oclgrind" >&2; exit 1; }
[ -f "$build/build.ninja" ] || meson setup "$build"
ninja -C "$build" tests/test_ops tests/test_parity_tiny tests/oclgrind_ops
cmds=("$build/tests/oclgrind_ops base" "$build/tests/oclgrind_ops so400m"
      "$build/tests/oclgrind_ops text")
[ "${1:-}" = --sizes ] || cmds+=("$build/tests/test_ops --quick" "$build/tests/test_parity_tiny --quick")
export SIGLIP_TEST_DATA=$PWD/tests/data SIGLIP_TEST_DEVICE=oclgrind
log=$build/oclgrind.log
: > "$log"
status=0
# The forward with the CPU-device paths (packed GEMM, row attention), which CLBlast's kernels
# would otherwise replace on oclgrind's "GPU" (hours in the simulator); test_ops covers both.
tuning=$build/oclgrind-tuning.json
echo '{"gemm": "panels", "attention": "rows"}' > "$tuning"
export SIGLIP_TEST_TUNING=$PWD/$tuning
# Invalid reads and writes (always checked), API misuse and data races: every command; values
# read uninitialized (--uninitialized): tests/oclgrind_ops.c. oclgrind 21.10's uninitialized-value
# plugin has defects that tests/oclgrind_defects.c shows without library code: it keeps a released
# buffer's shadow for the next buffer in the same slot and remakes a buffer's shadow at the size of
# each host write or fill (false reports of values a kernel wrote), and crashes on shuffles with
# undefined mask lanes (which cl/sum8.h keeps out of the kernels). oclgrind_ops releases no buffer
# before its end and reserves the device scratch first, so its reports are real; test_ops and the
# tiny forward reuse buffers (and write parts of the model's workspace), so they run without it.
for cmd in "${cmds[@]}"; do
  checks=""
  case "$cmd" in *oclgrind_ops*) checks="--uninitialized" ;; esac
  echo "== oclgrind $cmd" | tee -a "$log"
  start=$SECONDS
  # shellcheck disable=SC2086
  oclgrind --check-api --data-races $checks $cmd >> "$log" 2>&1 || { echo "exit status $?" >> "$log"; status=1; }
  echo "   $((SECONDS - start)) s" | tee -a "$log"
done
# oclgrind prints its findings as "Invalid read/write", "data race", "Uninitialized value" etc.
findings="Invalid (read|write)|[Dd]ata race|[Uu]ninitialized|Unsupported instruction|Oclgrind - "
if grep -qE "$findings" "$log"; then
  grep -m 12 -nE -A4 "$findings" "$log" # the first few (a pipe into head would end in SIGPIPE)
  echo "oclgrind.sh: oclgrind reported $(grep -cE "$findings" "$log") problems (see $log)" >&2
  status=1
fi
grep -E "checks, [0-9]+ failed" "$log" || true
exit $status
