#!/usr/bin/python3
"""gen.py — makes the extra image test cases of tests/test_image_extra.c with Pillow (python3-pil).

For every input written to in/ the expectation is what Pillow itself produces:
  expect/<name>.png            ImageOps.exif_transpose(Image.open(f)).convert("RGB")
  expect/<name>.<W>x<H>.png    that image .resize((W, H), Image.BICUBIC)
cases.txt lists "input W H" per resize (W H = 0 0: only the decoded image is checked).
bad.txt lists "input expected_status" for malformed inputs.
Run from this directory with Debian's /usr/bin/python3; outputs are committed.
"""
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
IN = os.path.join(HERE, "in")
EXPECT = os.path.join(HERE, "expect")
rng = np.random.default_rng(1234)
cases = []  # (file, W, H)
bad = []    # (file, status name)


def smooth(h, w, c, seed, noise=6):
    """A smooth colour field plus a little noise: realistic for codecs, compresses well."""
    r = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    planes = []
    for k in range(c):
        fx, fy, ph = r.uniform(0.5, 3.0), r.uniform(0.5, 3.0), r.uniform(0, 6.28)
        v = 127 + 100 * np.sin(fx * 6.28 * x / max(w, 1) + ph) * np.cos(fy * 6.28 * y / max(h, 1))
        v += r.normal(0, noise, size=(h, w))
        planes.append(v)
    a = np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)
    return a[..., 0] if c == 1 else a


def put(name, data, sizes=((40, 40),)):
    with open(os.path.join(IN, name), "wb") as f:
        f.write(data)
    for w, h in sizes:
        cases.append((name, w, h))
    if not sizes:
        cases.append((name, 0, 0))


def save(im, name, fmt, sizes=((40, 40),), **kw):
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    put(name, b.getvalue(), sizes)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def raw_png(arr, depth, color_type, extra=b""):
    """A PNG written by hand (Pillow cannot save 16-bit RGB/RGBA/LA or 2-bit grey)."""
    h, w = arr.shape[:2]
    if depth == 16:
        rows = arr.astype(">u2").reshape(h, -1).view(np.uint8).reshape(h, -1)
    elif depth < 8:
        per = 8 // depth
        flat = arr.reshape(h, w)
        padded = np.zeros((h, (w + per - 1) // per * per), np.uint8)
        padded[:, :w] = flat
        g = padded.reshape(h, -1, per)
        rows = np.zeros(g.shape[:2], np.uint8)
        for i in range(per):
            rows |= (g[..., i] << (8 - depth * (i + 1))).astype(np.uint8)
    else:
        rows = arr.reshape(h, -1)
    raw = b"".join(b"\0" + r.tobytes() for r in rows)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra +
            png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def exif_bytes(orientation):
    e = Image.Exif()
    e[0x0112] = orientation
    return e.tobytes()


def expectations():
    os.makedirs(EXPECT, exist_ok=True)
    done = set()
    for name, w, h in cases:
        im = ImageOps.exif_transpose(Image.open(os.path.join(IN, name))).convert("RGB")
        if name not in done:
            im.save(os.path.join(EXPECT, name + ".png"), optimize=True)
            done.add(name)
        if w:
            if im.size[1] > im.size[0] * 100 and h < im.size[1] and w != im.size[0]:
                # Pillow >= 12.2 resizes such tall images vertically first (two single passes);
                # this Pillow may be older, so do the same explicitly.
                r = im.resize((im.size[0], h), Image.BICUBIC).resize((w, h), Image.BICUBIC)
            else:
                r = im.resize((w, h), Image.BICUBIC)
            r.save(os.path.join(EXPECT, "%s.%dx%d.png" % (name, w, h)), optimize=True)


def main():
    os.makedirs(IN, exist_ok=True)
    rgb = Image.fromarray(smooth(48, 64, 3, 1))
    big = Image.fromarray(smooth(240, 320, 3, 2, noise=2))
    # JPEG: subsamplings, grey, CMYK (Adobe), progressive, shrink and enlarge
    save(rgb, "jpeg_420.jpg", "JPEG", ((40, 40), (100, 100)), quality=90, subsampling=2)
    save(rgb, "jpeg_422.jpg", "JPEG", quality=85, subsampling=1)
    save(rgb, "jpeg_444.jpg", "JPEG", quality=95, subsampling=0)
    save(big, "jpeg_320x240.jpg", "JPEG", ((224, 224), (40, 40)), quality=80)
    save(Image.fromarray(smooth(37, 53, 1, 3)), "jpeg_gray.jpg", "JPEG", quality=90)
    save(rgb.convert("CMYK"), "jpeg_cmyk.jpg", "JPEG", quality=90)
    save(Image.fromarray(smooth(61, 29, 3, 4)), "jpeg_progressive.jpg", "JPEG", quality=85,
         progressive=True)
    # EXIF orientations 1-8 on a non-square JPEG, and on PNG (eXIf) and WebP
    for o in range(1, 9):
        save(Image.fromarray(smooth(30, 50, 3, 10 + o)), "exif_%d.jpg" % o, "JPEG",
             ((40, 40), (24, 56)), quality=90, exif=exif_bytes(o))
    save(Image.fromarray(smooth(20, 36, 3, 21)), "exif_6.png", "PNG", exif=exif_bytes(6))
    save(Image.fromarray(smooth(20, 36, 3, 22)), "exif_8.webp", "WEBP", quality=90,
         exif=exif_bytes(8))
    # PNG: every colour type and depth
    save(Image.fromarray(smooth(33, 45, 1, 30)), "png_l8.png", "PNG")
    save(Image.fromarray(smooth(33, 45, 4, 31), "RGBA"), "png_rgba8.png", "PNG")
    save(Image.fromarray(smooth(33, 45, 3, 32)).convert("RGBA").convert("LA"), "png_la8.png",
         "PNG")
    pal = Image.fromarray(smooth(30, 30, 3, 33)).convert("P", palette=Image.ADAPTIVE, colors=16)
    save(pal, "png_p4bit_trns.png", "PNG", transparency=3, bits=4)
    save(Image.fromarray(smooth(30, 30, 3, 34)).convert("P", palette=Image.ADAPTIVE, colors=200),
         "png_p8.png", "PNG", transparency=bytes(range(0, 200)))
    save(Image.fromarray(smooth(25, 31, 1, 35)).convert("1"), "png_1bit.png", "PNG")
    g16 = (smooth(21, 27, 1, 36).astype(np.uint16) * 3)  # values 0..765: clipping matters
    g16[0, :5] = [0, 1, 254, 255, 256]
    save(Image.fromarray(g16), "png_gray16.png", "PNG")
    put("png_rgb16.png", raw_png(smooth(19, 23, 3, 37).astype(np.uint16) * 257 + 11, 16, 2))
    put("png_rgba16.png", raw_png(smooth(19, 23, 4, 38).astype(np.uint16) * 250, 16, 6))
    put("png_la16.png", raw_png(smooth(19, 23, 2, 39).astype(np.uint16) * 255, 16, 4))
    put("png_gray2.png", raw_png(smooth(17, 13, 1, 40) >> 6, 2, 0))
    put("png_gray_trns.png", raw_png(smooth(17, 13, 1, 41), 8, 0,
                                     png_chunk(b"tRNS", struct.pack(">H", 100))))
    # WebP: lossy, lossless, lossy with alpha
    save(rgb, "webp_lossy.webp", "WEBP", ((40, 40), (90, 70)), quality=80)
    save(rgb, "webp_lossless.webp", "WEBP", lossless=True)
    save(Image.fromarray(smooth(48, 64, 4, 50), "RGBA"), "webp_alpha.webp", "WEBP", quality=80)
    # BMP, GIF, TGA, PNM
    save(Image.fromarray(smooth(17, 33, 3, 60)), "bmp_rgb.bmp", "BMP")
    save(Image.fromarray(smooth(17, 33, 1, 61)), "bmp_l.bmp", "BMP")
    save(Image.fromarray(smooth(17, 33, 3, 62)).convert("P", palette=Image.ADAPTIVE, colors=50),
         "bmp_p.bmp", "BMP")
    save(Image.fromarray(smooth(17, 33, 1, 63)).convert("1"), "bmp_1bit.bmp", "BMP")
    save(Image.fromarray(smooth(17, 33, 4, 64), "RGBA"), "bmp_rgba.bmp", "BMP")
    save(Image.fromarray(smooth(40, 50, 3, 70)).convert("P", palette=Image.ADAPTIVE, colors=64),
         "gif_p.gif", "GIF")
    save(Image.fromarray(smooth(40, 50, 3, 71)).convert("P", palette=Image.ADAPTIVE, colors=32),
         "gif_trns.gif", "GIF", transparency=5)
    save(Image.fromarray(smooth(23, 50, 1, 72)), "gif_l.gif", "GIF")
    save(Image.fromarray(smooth(90, 130, 3, 73)).convert("P", palette=Image.ADAPTIVE, colors=256),
         "gif_interlaced.gif", "GIF", interlace=True)
    save(Image.fromarray(smooth(22, 35, 3, 80)), "tga_rgb.tga", "TGA")
    save(Image.fromarray(smooth(22, 35, 3, 81)), "tga_rgb_rle.tga", "TGA", compression="tga_rle")
    save(Image.fromarray(smooth(22, 35, 4, 82), "RGBA"), "tga_rgba.tga", "TGA")
    save(Image.fromarray(smooth(22, 35, 1, 83)), "tga_l.tga", "TGA")
    save(Image.fromarray(smooth(22, 35, 3, 84)).convert("P", palette=Image.ADAPTIVE, colors=40),
         "tga_p.tga", "TGA")
    save(Image.fromarray(smooth(22, 35, 3, 90)), "pnm_rgb.ppm", "PPM")
    save(Image.fromarray(smooth(22, 35, 1, 91)), "pnm_gray.pgm", "PPM")
    g = smooth(22, 35, 1, 92)
    put("pnm_gray_max100.pgm", b"P5\n35 22\n100\n" + (g.astype(np.uint16) * 100 // 255).astype(
        np.uint8).tobytes())
    c = smooth(22, 35, 3, 93).astype(np.uint16) * 4
    put("pnm_rgb_max1020.ppm", b"P6 35 22 1020\n" + c.astype(">u2").tobytes())
    put("pnm_gray16.pgm", b"P5\n35 22\n65535\n" + (g.astype(np.uint16) * 3).astype(">u2").tobytes())
    # sizes: odd aspect ratios, 1x1, tall and wide strips, larger outputs, non-square outputs
    for w, h, sizes in [(1, 1, ((40, 40), (224, 224), (1, 1))), (1, 7, ((40, 40),)),
                        (301, 5, ((40, 40), (224, 50))), (3, 400, ((40, 40), (3, 20))),
                        (13, 9, ((384, 384), (56, 224))), (97, 61, ((33, 17), (97, 30), (50, 61))),
                        (40, 40, ((40, 40), (39, 41)))]:
        save(Image.fromarray(smooth(h, w, 3, 100 + w + h)), "size_%dx%d.png" % (w, h), "PNG",
             sizes)
    # bad inputs
    good_png = open(os.path.join(IN, "png_l8.png"), "rb").read()
    good_jpg = open(os.path.join(IN, "jpeg_420.jpg"), "rb").read()
    bad_files = {
        "bad_truncated.jpg": (good_jpg[: len(good_jpg) // 2], "SIGLIP_EBADMSG"),
        "bad_truncated.png": (good_png[: len(good_png) // 2], "SIGLIP_EBADMSG"),
        "bad_corrupt.jpg": (good_jpg[:200] + bytes(rng.integers(0, 256, 300, dtype=np.uint8)) +
                            b"\xff\xd9", "SIGLIP_EBADMSG"),
        "bad_corrupt.png": (good_png[:40] + b"\x00" * 60, "SIGLIP_EBADMSG"),
        "bad_empty.png": (b"", "SIGLIP_EBADMSG"),
        "bad_zero_size.png": (raw_png(np.zeros((1, 1), np.uint8), 8, 0)[:16] +
                              struct.pack(">II", 0, 5) + raw_png(np.zeros((1, 1), np.uint8), 8,
                                                                 0)[24:], "SIGLIP_EBADMSG"),
        "bad_unknown.xyz": (b"this is not an image at all\n" * 3, "SIGLIP_ENOTSUP"),
        "bad_bomb.png": (b"\x89PNG\r\n\x1a\n" + png_chunk(
            b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)) +
            png_chunk(b"IDAT", zlib.compress(b"\0" * 64)), "SIGLIP_E2BIG"),
        "bad_bomb.jpg": (good_jpg.replace(b"\xff\xc0\x00\x11\x08\x00\x30\x00\x40",
                                          b"\xff\xc0\x00\x11\x08\xc3\x50\xc3\x50"),
                         "SIGLIP_E2BIG"),
        "bad_bomb.gif": (b"GIF89a" + struct.pack("<HH", 60000, 60000) + b"\0\0\0" +
                         b",\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0;", "SIGLIP_E2BIG"),
        "bad_truncated.webp": (open(os.path.join(IN, "webp_lossy.webp"), "rb").read()[:120],
                               "SIGLIP_EBADMSG"),
        "bad_truncated.gif": (open(os.path.join(IN, "gif_p.gif"), "rb").read()[:300],
                              "SIGLIP_EBADMSG"),
        "bad_truncated.bmp": (open(os.path.join(IN, "bmp_rgb.bmp"), "rb").read()[:900],
                              "SIGLIP_EBADMSG"),
        "bad_truncated.tga": (open(os.path.join(IN, "tga_rgb.tga"), "rb").read()[:900],
                              "SIGLIP_EBADMSG"),
        "bad_truncated.ppm": (open(os.path.join(IN, "pnm_rgb.ppm"), "rb").read()[:900],
                              "SIGLIP_EBADMSG"),
        "bad_bomb.tga": (struct.pack("<BBBHHBHHHHBB", 0, 0, 2, 0, 0, 0, 0, 0, 65535, 65535, 24, 0),
                         "SIGLIP_E2BIG"),
    }
    assert b"\xff\xc0\x00\x11\x08\xc3\x50\xc3\x50" in bad_files["bad_bomb.jpg"][0]
    for name, (data, status) in bad_files.items():
        with open(os.path.join(IN, name), "wb") as f:
            f.write(data)
        bad.append((name, status))
    expectations()
    with open(os.path.join(HERE, "cases.txt"), "w") as f:
        f.write("# input W H: expect/<input>.png (decoded) and expect/<input>.<W>x<H>.png\n")
        for name, w, h in cases:
            f.write("%s %d %d\n" % (name, w, h))
    with open(os.path.join(HERE, "bad.txt"), "w") as f:
        f.write("# input expected-status\n")
        for name, status in bad:
            f.write("%s %s\n" % (name, status))


if __name__ == "__main__":
    main()
