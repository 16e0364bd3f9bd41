#!/usr/bin/env bash
# .ci/fuzz-smoke.sh — builds the libFuzzer targets of fuzz/ with clang-14 (ASan + UBSan) in their
# own build directory and runs each for a few seconds from its seed corpus and its regression
# inputs (tests/data/regress/<target>/). A crash, sanitizer report, leak or timeout fails the run;
# the input that caused it is left in the build directory. Whole run: about 1.5 minutes.
# Usage: [FUZZ_SECONDS=8] [FUZZ_BUILD_DIR=build-fuzz-smoke] .ci/fuzz-smoke.sh [targets...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${FUZZ_BUILD_DIR:-build-fuzz-smoke}
seconds=${FUZZ_SECONDS:-8}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors safetensors_index config image_settings image
                                      spiece tokenizer tokenizer_config tokenizer_json)

# clang-14 and its libFuzzer runtime (Debian: the fuzzer runtime ships in libclang-common-14-dev,
# libfuzzer-14-dev adds libFuzzer.a for custom drivers).
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ] &&
   ! dpkg -s clang-14 libfuzzer-14-dev >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends clang-14 \
    libfuzzer-14-dev
fi
command -v clang-14 >/dev/null || { echo "fuzz-smoke: clang-14 is not installed" >&2; exit 1; }

if [ ! -f "$build/build.ninja" ]; then
  CC=clang-14 meson setup "$build" --buildtype=debugoptimized -Dfuzzing=true
fi
ninja -C "$build" -j "${FUZZ_JOBS:-2}" $(printf 'fuzz/fuzz_%s ' "${targets[@]}")

out=$build/fuzz-smoke
rm -rf "$out"
mkdir -p "$out"
status=0
# Leaks inside third-party decoders on corrupt input are not ours (.ci/lsan-fuzz.supp says which).
export LSAN_OPTIONS="suppressions=$PWD/.ci/lsan-fuzz.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
for t in "${targets[@]}"; do
  mkdir -p "$out/$t.corpus" "$out/$t.artifacts"
  inputs=("$out/$t.corpus" "fuzz/corpus/$t") # new inputs go to the first, the seeds stay as they are
  [ -d "tests/data/regress/$t" ] && inputs+=("tests/data/regress/$t")
  rc=0
  "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$out/$t.artifacts/" "${inputs[@]}" \
    >"$out/$t.log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log")
  cov=$(grep -oE 'cov: [0-9]+' "$out/$t.log" | tail -1)
  if [ $rc -ne 0 ]; then
    echo "fuzz_$t: FAILED (exit $rc) — input kept in $out/$t.artifacts/"
    tail -n 40 "$out/$t.log"
    status=1
  else
    echo "fuzz_$t: ok, ${execs:-?} runs in ${seconds}s, ${cov:-cov: ?}"
  fi
done
exit $status
