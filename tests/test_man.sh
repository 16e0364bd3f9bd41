#!/usr/bin/env bash
# test_man.sh — the generated man pages (tools/help2man.py): each renders with `man -l` without a
# groff or man warning (lintian's command), and says what the tool's --help says: every option
# the help of its command lists appears in the rendered page.
# Usage: test_man.sh SIGLIP_EXE MAN_DIR
set -u
exe=$1 dir=$2
fail() { echo "test_man: FAIL: $*" >&2; exit 1; }
command -v man >/dev/null || { echo "test_man: man (man-db) missing, skipped" >&2; exit 77; }

commands=$("$exe" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\) .*/\1/p')
[ -n "$commands" ] || fail "no commands in 'siglip --help'"
tmp=$(mktemp -d) || fail mktemp
trap 'rm -rf "$tmp"' EXIT
for name in siglip $(printf 'siglip-%s\n' $commands); do
    page=$dir/$name.1
    [ -f "$page" ] || fail "$page missing (a command without a man page)"
    LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 "$page" \
        >"$tmp/out" 2>"$tmp/err" || fail "man -l $page failed: $(cat "$tmp/err")"
    [ -s "$tmp/err" ] && fail "man -l $page warns: $(head -5 "$tmp/err")"
    # Compared on joined lines: words hyphenated at a line's end (U+2010) joined again, groff's
    # minus signs (U+2212) and hyphens as ASCII dashes.
    text=$(perl -CSD -0pe 's/.\x08//g; s/\x{2010}\n\s*//g; s/[\x{2010}\x{2212}]/-/g; s/\s+/ /g' "$tmp/out")
    if [ "$name" = siglip ]; then help=$("$exe" --help); else help=$("$exe" "${name#siglip-}" --help); fi
    # Every long option of the help, and the first line of its description text.
    for opt in $(printf '%s\n' "$help" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        case $text in *"$opt"*) ;; *) fail "$name.1 lacks $opt of its --help" ;; esac
    done
    first=$(printf '%s\n' "$help" | sed -n '/^$/,$p' | sed -n '/^[A-Z]/{p;q}' | cut -c1-40)
    case $text in *"$first"*) ;; *) fail "$name.1 lacks the help's text '$first'" ;; esac
    echo "test_man: $name.1 ok"
done
