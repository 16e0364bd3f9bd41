#!/usr/bin/env bash
# test_install.sh — installs the build into a temporary directory (meson install --destdir) and
# builds and runs tests/install_example.c against it with only `pkg-config --cflags --libs siglip`.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR PREFIX LIBDIR
set -u
build=$1 src=$2 prefix=$3 libdir=$4
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
fail() { echo "test_install: FAIL: $*" >&2; exit 1; }
for tool in pkg-config cc readelf; do
    command -v $tool >/dev/null || { echo "test_install: $tool missing, skipped" >&2; exit 77; }
done

tmp=$(mktemp -d) || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "meson install"; }

root=$dest$prefix
lib=$dest$libdir
pcdir=$lib/pkgconfig
[ -f "$root/include/siglip.h" ] || fail "siglip.h not installed in $root/include"
[ -f "$root/include/siglip_version.h" ] || fail "siglip_version.h not installed"
[ -f "$pcdir/siglip.pc" ] || fail "siglip.pc not installed in $pcdir"
[ -x "$root/bin/siglip" ] || fail "the siglip tool is not installed in $root/bin"
for page in siglip siglip-classify siglip-serve; do
    [ -f "$root/share/man/man1/$page.1" ] || fail "man page $page.1 not installed in $root/share/man/man1"
done
so=$(ls "$lib"/libsiglip.so.0.* 2>/dev/null | head -1)
[ -n "$so" ] || fail "libsiglip.so.0.* not installed in $lib"
[ -L "$lib/libsiglip.so" ] && [ -L "$lib/libsiglip.so.0" ] || fail "libsiglip.so symlinks missing"
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libsiglip.so.0 ] || fail "SONAME is '$soname', expected libsiglip.so.0"
# Only the public API is exported (besides the linker's own _init/_fini/_edata/... symbols).
others=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^siglip_' |
         grep -Ev '^(_init|_fini|_edata|_end|__bss_start)$')
[ -z "$others" ] || fail "symbols other than siglip_* are exported: $(echo $others | head -c 300)"

# The .pc file names the configured prefix; point it at the temporary tree instead.
export PKG_CONFIG_PATH=$pcdir
flags=$(pkg-config --define-variable=prefix="$root" --cflags --libs siglip) ||
    fail "pkg-config --cflags --libs siglip"
case $flags in *"$root"*) ;; *) fail "pkg-config flags don't point into the install: $flags" ;; esac
cc -std=c17 -Wall -Werror -o "$tmp/example" "$src/tests/install_example.c" $flags ||
    fail "compiling install_example.c with: $flags"

data=${SIGLIP_TEST_DATA:-$src/tests/data}
device=${SIGLIP_TEST_DEVICE:-auto}
out=$(LD_LIBRARY_PATH=$lib "$tmp/example" "$data/tiny" "$data/images/rgb_40x40.png" \
      "a photo of 2 cats" "$device") || fail "install_example failed"
echo "$out"
LD_LIBRARY_PATH=$lib ldd "$tmp/example" | grep -q "$lib/libsiglip.so.0" ||
    fail "install_example did not load the installed library: $(LD_LIBRARY_PATH=$lib ldd "$tmp/example" | grep siglip)"
# Expected: text 0 ("a photo of 2 cats") against image 0 (rgb_40x40.png) of the transformers
# forward with the attention mask (f32.masked.logits_per_image[0][0]).
logit=${out##* }
python3 - "$data/tiny-expected.safetensors" "$logit" <<'PY' || fail "logit $logit does not match"
import json, struct, sys
blob = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", blob[:8])
info = json.loads(blob[8:8 + n])["public.f32.masked.logits_per_image"]
begin = 8 + n + info["data_offsets"][0]
(want,) = struct.unpack("<f", blob[begin:begin + 4])
got = float(sys.argv[2])
print("install_example logit %.9g, expected %.9g" % (got, want))
sys.exit(0 if abs(got - want) <= 1e-4 else 1)
PY
echo "test_install: ok"
