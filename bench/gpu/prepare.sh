#!/usr/bin/env bash
# prepare.sh — run HERE (the Debian machine) before a GPU device session: builds build-gpu/ and
# copies the shared libraries the GPU machine lacks into .gpulibs/ (see ../shared/docs/
# gpu-machine.md). Then call the device tool with carry ["build-gpu", ".gpulibs"] and the
# command `bash bench/gpu/run.sh` (it writes everything under $OUT).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f build-gpu/build.ninja ] || meson setup build-gpu --buildtype=release -Dmedium_fixtures=/nonexistent
ninja -C build-gpu
rm -rf .gpulibs && mkdir -p .gpulibs
for lib in $(ldd build-gpu/src/libsiglip.so.0 build-gpu/tools/siglip | awk '/=>/ {print $3}' |
             grep -E 'clblast|cjson|jpeg|webp|utf8proc|stb' | sort -u); do
  cp -L "$lib" .gpulibs/
done
ls -l .gpulibs
du -sh build-gpu .gpulibs
