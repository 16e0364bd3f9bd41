#!/usr/bin/env python3
"""help2man.py — writes the man pages siglip(1) and siglip-COMMAND(1) from the tool's own --help.

The text of every page is what `siglip --help` and `siglip COMMAND --help` print (the one source of
both, so the pages cannot drift from the help); this script only lays it out in roff: the usage
lines become SYNOPSIS, option lists become tagged paragraphs, indented blocks stay as they are.
Run by the `man` custom_target of tools/meson.build:

    help2man.py SIGLIP_EXE OUTDIR VERSION COMMAND...

COMMAND... is the list meson.build declares (the target's outputs); it must equal the commands
`siglip --help` lists, so a new subcommand without a page fails the build.
"""
import os
import re
import subprocess
import sys

OPTION_LINE = re.compile(r"^ {2,}-")


def help_text(exe, *args):
    out = subprocess.run([exe, *args], check=True, capture_output=True, text=True,
                         env=dict(os.environ, LC_ALL="C.UTF-8"))
    return out.stdout


def escape(text):
    """Roff-escapes one line of running text: backslashes, option dashes, non-ASCII characters."""
    text = text.replace("\\", "\\e")
    # The dashes of options (--json, -m) are minus signs in roff; others stay hyphens.
    text = re.sub(r"(?<![\w.])--?[A-Za-z][\w-]*", lambda m: m.group(0).replace("-", "\\-"), text)
    text = "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in text)
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def paragraphs(lines):
    """Splits lines into blocks separated by blank lines."""
    block = []
    for line in lines:
        if line.strip():
            block.append(line.rstrip())
        elif block:
            yield block
            block = []
    if block:
        yield block


def split_option(line, column):
    """An option line → (tag, description). The description starts after two spaces, or, when the
    tag fills its column, after the first space at or past the column."""
    body = line.strip()
    m = re.match(r"^(\S.*?)\s{2,}(\S.*)$", body)
    if m:
        return m.group(1), m.group(2)
    indent = len(line) - len(line.lstrip())
    cut = line.find(" ", max(column - 1, indent + 1))
    if cut < 0:
        return body, ""
    return line[:cut].strip(), line[cut:].strip()


def option_block(block):
    """Roff of an option list: each option a .TP, continuation lines joined to its description."""
    column = min((len(l) - len(l.lstrip()) for l in block if not OPTION_LINE.match(l)),
                 default=0)
    out = []
    for line in block:
        if OPTION_LINE.match(line):
            tag, desc = split_option(line, column)
            out += [".TP", "\\fB" + escape(tag) + "\\fR"]
            if desc:
                out.append(escape(desc))
        else:
            out.append(escape(line.strip()))
    return out


def body_roff(lines):
    """Roff of the help's body (everything after the usage lines)."""
    out = []
    for block in paragraphs(lines):
        if not block[0].startswith(" ") and block[0].endswith(":") and len(block[0]) < 40:
            out.append(".SS " + escape(block[0][:-1]))  # "Common options:", "Commands:"
            block = block[1:]
            if not block:
                continue
        if all(OPTION_LINE.match(l) or l.startswith("    ") for l in block) and \
                OPTION_LINE.match(block[0]):
            out += option_block(block)
        elif any(l.startswith(" ") for l in block):
            # A table (the commands, the endpoints): kept as laid out.
            out += [".PP", ".nf"] + [escape(l) for l in block] + [".fi"]
        else:
            out += [".PP"] + [escape(l) for l in block]
    return out


def split_usage(text):
    """(synopsis lines, the rest) of a help text that opens with 'Usage: ...' lines."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("Usage: "):
        raise SystemExit("help2man.py: the help does not open with 'Usage:': %r" % text[:80])
    synopsis = [lines[0][len("Usage: "):]]
    i = 1
    while i < len(lines) and lines[i].startswith(" ") and lines[i].strip():
        synopsis.append(lines[i].strip())
        i += 1
    return synopsis, lines[i:]


def page(name, summary, version, text, see_also):
    synopsis, rest = split_usage(text)
    out = ['.TH "%s" 1 "" "siglip %s" "User Commands"' % (name.upper(), version),
           ".SH NAME", "%s \\- %s" % (escape(name), escape(summary)),
           ".SH SYNOPSIS", ".nf"]
    out += ["\\fB" + escape(line) + "\\fR" if i == 0 else escape("    " + line)
            for i, line in enumerate(synopsis)]
    out += [".fi", ".SH DESCRIPTION"] + body_roff(rest)
    out += [".SH SEE ALSO", ",\n".join("\\fB%s\\fR(1)" % escape(s) for s in see_also)]
    return "\n".join(out) + "\n"


def main():
    exe, outdir, version, *declared = sys.argv[1:]
    top = help_text(exe, "--help")
    listed = re.findall(r"^  (\w+) +(.+)$", top.split("Commands:\n", 1)[1].split("\n\n")[0],
                        re.M)
    if sorted(c for c, _ in listed) != sorted(declared):
        raise SystemExit("help2man.py: `siglip --help` lists %s, tools/meson.build declares %s"
                         % (sorted(c for c, _ in listed), sorted(declared)))
    summary = next(l for l in split_usage(top)[1] if l.strip())  # the line under the usage
    pages = {"siglip": (summary.rstrip("."), top,
                        ["siglip-" + c for c, _ in listed])}
    for cmd, summary in listed:
        pages["siglip-" + cmd] = (summary, help_text(exe, cmd, "--help"), ["siglip"])
    for name, (summary, text, see_also) in pages.items():
        with open("%s/%s.1" % (outdir, name), "w", encoding="utf-8") as f:
            f.write(page(name, summary, version, text, see_also))


if __name__ == "__main__":
    main()
