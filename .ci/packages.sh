#!/usr/bin/env bash
# .ci/packages.sh — the Debian packages of this tree (debian/): dpkg-buildpackage -us -uc -b on a
# copy of the tree (tests skipped there: nocheck, the suite has run), lintian with no error, then
# `apt-get install ./*.deb` on this machine and the installed files used as a user would:
# pkg-config, the README's C example compiled against the package, install_example.c run,
# `siglip` (test_cli.py's cases on /usr/bin/siglip), the man pages, the unit
# (systemd-analyze verify), and `import siglip` classifying as transformers does. The packages
# are purged again at the end (KEEP_PACKAGES=1 keeps them). Needs root (apt-get).
# Usage: .ci/packages.sh [WORK_DIR]   (default: a temporary directory, removed at the end)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
export DEBIAN_FRONTEND=noninteractive
packages=(libsiglip0 libsiglip-dev siglip-tools python3-siglip)

given=${1:-}
work=${given:-$(mktemp -d)}
cleanup() {
  [ "${KEEP_PACKAGES:-0}" = 1 ] || apt-get purge -y -q "${packages[@]}" >/dev/null 2>&1 || true
  [ -n "$given" ] || rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "packages: FAIL: $*" >&2; exit 1; }

version=$(sed -n "s/^ *version: '\([^']*\)',*$/\1/p" meson.build | head -1)
[ "$(dpkg-parsechangelog -l debian/changelog -S Version)" = "$version" ] ||
  fail "debian/changelog's version is not meson.build's $version"

echo "== dpkg-buildpackage (in $work)"
rm -rf "$work/libsiglip"
mkdir -p "$work/libsiglip"
# The tree as a checkout holds it: no build folders, git data or npm modules.
tar -C "$src" --exclude='./build*' --exclude=./.git --exclude=node_modules \
    --exclude=__pycache__ --exclude='./.mesonpy*' -cf - . | tar -C "$work/libsiglip" -xf -
start=$SECONDS
# Debian's tools only: a python3 or meson of a user's PATH (pyenv, venv) has no say in a package.
(cd "$work/libsiglip" &&
 PATH=/usr/sbin:/usr/bin:/sbin:/bin \
 DEB_BUILD_OPTIONS="nocheck parallel=${PACKAGES_JOBS:-2}" dpkg-buildpackage -us -uc -b \
   >"$work/build.log" 2>&1) || { tail -60 "$work/build.log"; fail "dpkg-buildpackage"; }
echo "built in $((SECONDS - start)) s: $(cd "$work" && ls ./*.deb | tr '\n' ' ')"

echo "== lintian"
# Errors fail; warnings are listed (docs/install.md names the ones known).
lintian --fail-on error --tag-display-limit 0 "$work"/*.changes | tee "$work/lintian.log" ||
  fail "lintian reports errors"

echo "== apt-get install ./*.deb"
debs=()
for p in "${packages[@]}"; do debs+=("$(ls "$work"/${p}_*.deb)"); done
apt-get install -y -q --no-install-recommends "${debs[@]}" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; fail "apt-get install"; }

echo "== the installed packages"
[ "$(pkg-config --modversion siglip)" = "$version" ] ||
  fail "pkg-config --modversion siglip: '$(pkg-config --modversion siglip)', expected $version"
echo "pkg-config --modversion siglip: $version"

# The README's C example ("The C API in ten lines"; or wherever the docs moved it), compiled and
# linked against the package: its #include lines at the top, its statements in main().
example=$(awk '/^```c$/ {inside = 1; block = ""; next}
               inside && /^```$/ {inside = 0; if (block ~ /siglip_zero_shot/) {print block; exit}}
               inside {block = block $0 "\n"}' README.md $(ls docs/*.md 2>/dev/null))
[ -n "$example" ] || fail "no C example calling siglip_zero_shot in README.md or docs/"
{
  echo '#include <stdio.h>'
  printf '%s\n' "$example" | grep '^#include'
  echo 'int main(void) {'
  printf '%s\n' "$example" | grep -v '^#include'
  echo 'return 0; }'
} >"$work/readme_example.c"
cc -std=c17 -Wall -Werror -o "$work/readme_example" "$work/readme_example.c" \
   $(pkg-config --cflags --libs siglip) || fail "the README's C example does not build"
ldd "$work/readme_example" | grep -E 'libsiglip\.so\.0 => (/usr)?/lib/' >/dev/null ||
  fail "the README example does not link the packaged library"
echo "README C example: builds against the package"
# A program that runs (tests/install_example.c), and its logit against transformers' forward.
cc -std=c17 -Wall -Werror -o "$work/install_example" tests/install_example.c \
   $(pkg-config --cflags --libs siglip) || fail "tests/install_example.c does not build"
out=$("$work/install_example" tests/data/tiny tests/data/images/rgb_40x40.png "a photo of 2 cats" \
       "${SIGLIP_TEST_DEVICE:-auto}") || fail "install_example"
# Expected: transformers' masked forward, text 0 against image 0 (as tests/test_install.sh).
python3 - "${out##* }" <<'PY' || fail "install_example's logit ${out##* }"
import sys
sys.path.insert(0, "tests")
import test_cli
got = float(sys.argv[1])
want = test_cli.read_safetensors("tests/data/tiny-expected.safetensors")[
    "public.f32.masked.logits_per_image"][2][0]
print("install_example logit %.9g, transformers %.9g" % (got, want))
sys.exit(abs(got - want) > 1e-4)
PY

# The tool: test_cli.py's cases against the transformers fixtures, on /usr/bin/siglip.
export SIGLIP_TEST_DATA=$src/tests/data
for case in help classify-tiny embed-tiny; do
  python3 tests/test_cli.py /usr/bin/siglip "$case" || fail "siglip $case"
done
for page in siglip siglip-classify siglip-serve; do
  man -w "$page" >/dev/null || fail "man $page: no page installed"
done
systemd-analyze verify /lib/systemd/system/siglip-serve.service ||
  fail "systemd-analyze verify siglip-serve.service"
echo "siglip: test_cli cases, man pages and siglip-serve.service ok"

# The Python package from /usr/lib/python3/dist-packages, with the packaged library.
(cd / && /usr/bin/python3 -c "import siglip; print('import siglip:', siglip.__file__)")
/usr/bin/python3 - "$src" <<'PY' || fail "python3-siglip"
import os, sys
sys.path.insert(0, os.path.join(sys.argv[1], "python", "tests"))
from install_check import check_classify
env = {k: v for k, v in os.environ.items() if k not in ("SIGLIP_LIBRARY", "PYTHONPATH")}
worst = check_classify("/usr/bin/python3", env, "/usr/lib/python3/dist-packages")
print("python3-siglip: the pipeline as transformers' (max |score diff| %.3g)" % worst)
PY
echo "packages: ok"
