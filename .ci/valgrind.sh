#!/usr/bin/env bash
# .ci/valgrind.sh — runs the host-only tests (config, safetensors, tokenizer, image, limits, fuzz
# regressions, search's top-k: no OpenCL) under valgrind's memcheck in a plain build: any invalid
# access, use of uninitialised memory or leak (definite, indirect or possible) fails the test. No
# suppressions.
# Usage: [VALGRIND_BUILD_DIR=build-valgrind] .ci/valgrind.sh [more test names...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${VALGRIND_BUILD_DIR:-build-valgrind}
tests=(test_config test_safetensors test_safetensors_medium test_tokenizer test_tokenizer_cases
       test_image test_image_extra test_immich test_regressions test_limits test_topk "$@")

command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed" >&2; exit 1; }
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --buildtype=debugoptimized
fi
ninja -C "$build" -j "${VALGRIND_JOBS:-2}" $(printf 'tests/%s ' "${tests[@]}")
status=0
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes "${VALGRIND_JOBS:-2}" \
  --timeout-multiplier 20 \
  --wrapper "valgrind --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --track-origins=yes --quiet" \
  "${tests[@]}" || status=$?
python3 .ci/summarize.py "$build/meson-logs/testlog-valgrind.json" # named after the wrapper
exit $status
