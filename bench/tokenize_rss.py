#!/usr/bin/env python3
"""tokenize_rss.py — peak RSS growth of one siglip_tokenize call on a 64 MiB text (issue 32, item 3).

Usage: tokenize_rss.py LIBSIGLIP.so MODEL_DIR {spaced,nospace}

The text is built first; then the peak (VmHWM) is reset through /proc/self/clear_refs, the call
is made through ctypes, and the growth of the peak and of the resident size over the call is
printed with the first ids.
"""
import ctypes
import sys


def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def main():
    lib = ctypes.CDLL(sys.argv[1])
    model, kind = sys.argv[2], sys.argv[3]
    ctx, tok = ctypes.c_void_p(), ctypes.c_void_p()
    if lib.siglip_context_create(ctypes.byref(ctx), None) or \
            lib.siglip_tokenizer_load(ctx, model.encode(), ctypes.byref(tok)):
        sys.exit("cannot load the tokenizer of %s" % model)
    size = 64 << 20
    unit = {"spaced": b"a photo of a cat on the grass ", "nospace": b"aphotoofacatonthegrass"}[kind]
    text = (unit * (size // len(unit) + 1))[:size]
    texts = (ctypes.c_char_p * 1)(text)
    ids, mask = (ctypes.c_int32 * 64)(), (ctypes.c_int32 * 64)()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak RSS starts again from the current RSS
    before = status("VmRSS")
    rc = lib.siglip_tokenize(tok, texts, 1, 64, ids, mask)
    peak, after = status("VmHWM"), status("VmRSS")
    print("%s, %s 64 MiB text: status %d, peak RSS growth %.1f MiB, held after the call %.1f MiB, "
          "first ids %s" % (model, kind, rc, (peak - before) / 2**20, (after - before) / 2**20,
                            list(ids[:6])))


if __name__ == "__main__":
    main()
