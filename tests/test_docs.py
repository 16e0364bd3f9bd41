#!/usr/bin/env python3
"""test_docs.py — the README and docs/ hold together: every Markdown link between them (and to
files of the repository) resolves, every #anchor names a heading of its target (GitHub's slugs),
and the README stays a front page (at most 350 lines). Usage: test_docs.py SOURCE_ROOT."""
import os
import re
import sys

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading):
    """GitHub's anchor for a heading: lowercase, punctuation but '-' and '_' dropped, spaces to '-'."""
    h = heading.strip().lower()
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")


def outside_code(text):
    """The text's lines outside fenced code blocks and with inline code removed."""
    fenced = False
    for line in text.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            yield re.sub(r"`[^`]*`", "", line) if not line.startswith("#") else line


def anchors(path):
    return {slug(l.lstrip("#")) for l in outside_code(open(path, encoding="utf-8").read())
            if re.match(r"#{1,6} ", l)}


def main():
    root = sys.argv[1]
    pages = [os.path.join(root, "README.md")] + sorted(
        os.path.join(root, "docs", f) for f in os.listdir(os.path.join(root, "docs"))
        if f.endswith(".md"))
    problems, links = [], 0
    for page in pages:
        for line in outside_code(open(page, encoding="utf-8").read()):
            for target in LINK.findall(line):
                if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                    continue
                links += 1
                file_part, _, anchor = target.partition("#")
                dest = os.path.normpath(os.path.join(os.path.dirname(page), file_part)) \
                    if file_part else page
                where = os.path.relpath(page, root)
                if not os.path.exists(dest):
                    problems.append(f"{where}: link to {target}: no such file")
                elif anchor and dest.endswith(".md") and anchor not in anchors(dest):
                    problems.append(f"{where}: link to {target}: no such heading")
    n_readme = len(open(pages[0], encoding="utf-8").read().rstrip("\n").split("\n"))
    if n_readme > 350:
        problems.append(f"README.md has {n_readme} lines (the front page keeps to 350)")
    for p in problems:
        print(p)
    print(f"{len(pages)} pages, {links} links checked, README {n_readme} lines")
    print(f"{1 if not problems else 0} passed, {1 if problems else 0} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
