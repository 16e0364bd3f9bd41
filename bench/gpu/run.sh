#!/usr/bin/env bash
# run.sh — run ON the GPU machine (device tool), from the repository root, after prepare.sh:
# makes NVIDIA's OpenCL visible next to PoCL, runs the test suite on the GPU, then the benchmarks
# of issue 8 (base-patch16-224 image and text at batch 256 and 1, so400m-patch14-384 image at 32),
# each with its own timeout. Results and logs go to $OUT. SPEC=pocl BENCH=0 checks the script here.
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT" /tmp/icd
cp /etc/OpenCL/vendors/*.icd /tmp/icd/ 2>/dev/null
echo /usr/local/nvidia/lib64/libnvidia-opencl.so.1 > /tmp/icd/nvidia.icd
export OCL_ICD_VENDORS=/tmp/icd LD_LIBRARY_PATH=$PWD/.gpulibs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
siglip=build-gpu/tools/siglip
$siglip devices > "$OUT/devices.txt" 2>&1
# The C test programs on the GPU (meson may not be installed there: run them directly with the
# environment tests/meson.build gives them; they read SIGLIP_TEST_DEVICE).
export SIGLIP_TEST_DEVICE=${SPEC:-nvidia} SIGLIP_TEST_DATA=$PWD/tests/data SIGLIP_TEST_CACHE=/tmp/kcache
pass=0 fail=0 skip=0
for t in build-gpu/tests/test_*; do
  [ -x "$t" ] && [ -f "$t" ] || continue
  timeout 120 "$t" > "$OUT/$(basename "$t").log" 2>&1
  rc=$?
  case $rc in 0) pass=$((pass + 1)) ;; 77) skip=$((skip + 1)) ;; *) fail=$((fail + 1))
    echo "FAIL $(basename "$t") (exit $rc)" >> "$OUT/tests.txt" ;; esac
done
echo "$pass passed, $fail failed, $skip skipped" >> "$OUT/tests.txt"
[ "${BENCH:-1}" = 1 ] && for args in "--model base-patch16-224 --tower image --batch 1 --batch 256" \
            "--model base-patch16-224 --tower text --batch 256" \
            "--model so400m-patch14-384 --tower image --batch 32"; do
  # shellcheck disable=SC2086
  timeout 150 $siglip bench --device ${SPEC:-nvidia} --warmup 2 --iters 5 --json $args \
    >> "$OUT/bench.jsonl" 2>> "$OUT/bench.err"
done
tail -3 "$OUT/tests.txt"
cat "$OUT/bench.jsonl"
