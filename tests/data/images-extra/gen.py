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
    """Writes an input; sizes () checks the decoded image only, None adds no case here."""
    with open(os.path.join(IN, name), "wb") as f:
        f.write(data)
    if sizes is None:
        return
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


def expected_from_array(name, rgb):
    """For the few cases whose reference is not this Pillow (see the caller): the expected RGB."""
    os.makedirs(EXPECT, exist_ok=True)
    Image.fromarray(rgb.astype(np.uint8), "RGB").save(os.path.join(EXPECT, name + ".png"),
                                                       optimize=True)
    cases.append((name, 0, 0))
    own_expectations.add(name)


own_expectations = set()


def bmp(w, h, bits, data, palette=b"", hsize=40, comp=0, top_down=False, masks=None, colors=0,
        offset=None, after_header=b""):
    """A BMP written by hand (Pillow saves only 1/8/24/32-bit BI_RGB bottom-up files)."""
    if hsize == 12:
        info = struct.pack("<IHHHH", 12, w, h, 1, bits)
    else:
        info = struct.pack("<IiiHHIIiiII", hsize, w, -h if top_down else h, 1, bits, comp,
                           len(data), 2835, 2835, colors, 0)
        if hsize >= 56 and masks:
            info += struct.pack("<4I", *masks)
        info += b"\0" * (hsize - len(info))
    off = 14 + len(info) + len(after_header) + len(palette) if offset is None else offset
    return (b"BM" + struct.pack("<IHHI", off + len(data), 0, 0, off) + info + after_header +
            palette + b"\0" * (off - 14 - len(info) - len(after_header) - len(palette)) + data)


def bmp_rows(rows_bytes, stride):
    """Rows (top first) padded to stride and stored bottom-up."""
    return b"".join(r + b"\0" * (stride - len(r)) for r in reversed(rows_bytes))


def rle8_stream(idx, delta_at=None):
    """RLE8 of an index grid [h, w] (bottom row first in the stream): runs, one absolute run per
    row, EOL per row, EOB; delta_at (linear position) emits a delta (3 right, 1 up) there. The
    grid's pixels a delta skips must already be 0."""
    h, w = idx.shape
    flat = idx[::-1].reshape(-1)
    out, pos, total = bytearray(), 0, h * w
    while pos < total:
        if pos == delta_at:
            out += bytes([0, 2, 3, 1])
            pos += 3 + w
            continue
        x = pos % w
        row_end = pos - x + w
        if x == 2 and row_end - pos >= 5 and (delta_at is None or not pos <= delta_at < pos + 5):
            run = flat[pos:pos + 5]
            out += bytes([0, 5]) + bytes(run.tolist()) + b"\0"  # absolute, padded to a word
            pos += 5
        else:
            n = 1
            while (pos + n < row_end and flat[pos + n] == flat[pos] and n < 255 and
                   pos + n != delta_at):
                n += 1
            out += bytes([n, int(flat[pos])])
            pos += n
        if pos % w == 0:
            out += bytes([0, 0])
    return bytes(out) + bytes([0, 1])


def rle4_stream(idx):
    """RLE4 of an index grid [h, w] with even width: two-index runs and one even absolute run."""
    h, w = idx.shape
    out = bytearray()
    for row in idx[::-1]:
        x = 0
        while x < w:
            if x == 4 and w - x >= 6:
                nib = row[x:x + 6]
                out += bytes([0, 6]) + bytes([(nib[i] << 4) | nib[i + 1] for i in (0, 2, 4)])
                out += b"\0"  # 2 + 3 bytes: pad to a word
                x += 6
                continue
            n = 2
            while x + n + 1 < w and row[x + n] == row[x] and row[x + n + 1] == row[x + 1] and \
                    n < 250 and not (x < 4 < x + n + 2):
                n += 2
            out += bytes([n, (row[x] << 4) | row[x + 1]])
            x += n
        out += bytes([0, 0])
    return bytes(out) + bytes([0, 1])


def palette_bgrx(n, seed, pad=4):
    r = np.random.default_rng(seed)
    cols = r.integers(0, 256, (n, 3), dtype=np.uint8)
    return b"".join(bytes([c[2], c[1], c[0]]) + b"\0" * (pad - 3) for c in cols), cols


def blocky(h, w, n, seed):
    """An index grid with runs (for RLE) and all indices < n."""
    r = np.random.default_rng(seed)
    base = r.integers(0, n, (h, (w + 2) // 3))
    return np.repeat(base, 3, axis=1)[:, :w].astype(np.uint8)


def raw_profile_exif(orientation):
    """ImageMagick's "Raw profile type exif" text: a blank line, "exif", the length, then hex."""
    data = exif_bytes(orientation)  # Pillow's Exif.tobytes() starts with "Exif\\0\\0"
    hx = data.hex()
    return "\nexif\n%8d\n" % len(data) + "\n".join(hx[i:i + 72] for i in range(0, len(hx), 72)) + "\n"


def itxt(key, text, compressed=False):
    body = text.encode("utf-8")
    if compressed:
        body = zlib.compress(body)
    return png_chunk(b"iTXt", key + b"\0" + bytes([1 if compressed else 0, 0]) + b"\0\0" + body)


def pillow_parity_cases():
    """BMP, TGA, PNM, PNG-metadata, animated WebP and ICO variants of issue 17 (decode only)."""
    # BMP: RLE8 / RLE4, delta, top-down palette, OS/2 v1 and v2, v5, odd palettes, 24-bit
    # with a palette, 16-bit 5-6-5 and 5-5-5, out-of-range palette indices
    pal20, _ = palette_bgrx(20, 500)
    idx = blocky(9, 13, 20, 501)
    put("bmp_rle8.bmp", bmp(13, 9, 8, rle8_stream(idx), pal20, comp=1, colors=20), ())
    pal16, _ = palette_bgrx(16, 502)
    put("bmp_rle4.bmp", bmp(14, 7, 4, rle4_stream(blocky(7, 14, 16, 503)), pal16, comp=2,
                            colors=16), ())
    # A delta: this Pillow (9.4) reads two bytes too many after the escape (fixed upstream:
    # Pillow >= 10 reads right, up from the two bytes after it, as the BMP format says), so the
    # expectation is written from the index grid itself: skipped pixels are index 0.
    didx = blocky(6, 11, 20, 504)
    didx[didx == 0] = 1
    delta_at = 2 * 11 + 5
    flat = didx[::-1].reshape(-1)
    flat[delta_at:delta_at + 3 + 11] = 0
    didx = flat.reshape(6, 11)[::-1]
    put("bmp_rle8_delta.bmp", bmp(11, 6, 8, rle8_stream(didx, delta_at), pal20, comp=1,
                                  colors=20), None)
    _, cols20 = palette_bgrx(20, 500)
    expected_from_array("bmp_rle8_delta.bmp", cols20[didx])
    tidx = blocky(10, 15, 20, 505)
    put("bmp_topdown_p8.bmp", bmp(15, 10, 8, b"".join(r.tobytes() + b"\0" for r in tidx), pal20,
                                  top_down=True, colors=20), ())
    os2pal, _ = palette_bgrx(8, 506, pad=3)
    put("bmp_os2v1.bmp", bmp(9, 5, 8, bmp_rows([r.tobytes() for r in blocky(5, 9, 8, 507)], 12),
                             os2pal, hsize=12), ())
    rgb = smooth(8, 11, 3, 508)
    put("bmp_os2v2_24.bmp", bmp(11, 8, 24, bmp_rows([r[:, ::-1].tobytes() for r in rgb], 36),
                                hsize=64), ())
    put("bmp_v5_24.bmp", bmp(11, 8, 24, bmp_rows([r[:, ::-1].tobytes() for r in rgb], 36),
                             hsize=124), ())
    pal5, _ = palette_bgrx(5, 509)  # 5 colours, indices up to 9: 5..9 are past the palette
    put("bmp_pal_odd.bmp", bmp(10, 4, 8, bmp_rows([r.tobytes() for r in blocky(4, 10, 10, 510)],
                                                  12), pal5, colors=5,
                               offset=14 + 40 + 5 * 4 + 6), ())
    put("bmp_24_with_palette.bmp", bmp(11, 8, 24, bmp_rows([r[:, ::-1].tobytes() for r in rgb],
                                                           36), pal16, colors=16), ())
    v = np.random.default_rng(511).integers(0, 65536, (6, 9), dtype=np.uint16)
    rows16 = [r.astype("<u2").tobytes() for r in v]
    put("bmp_565.bmp", bmp(9, 6, 16, bmp_rows(rows16, 20), comp=3,
                           after_header=struct.pack("<3I", 0xF800, 0x7E0, 0x1F)), ())
    put("bmp_555.bmp", bmp(9, 6, 16, bmp_rows(rows16, 20)), ())
    put("bmp_555_v4.bmp", bmp(9, 6, 16, bmp_rows(rows16, 20), hsize=108, comp=3,
                              masks=(0x7C00, 0x3E0, 0x1F, 0)), ())
    rgba = smooth(5, 7, 4, 512)
    put("bmp_32_xbgr.bmp", bmp(7, 5, 32, bmp_rows([r[:, ::-1].tobytes() for r in rgba], 28),
                               hsize=108, comp=3, masks=(0xFF000000, 0xFF0000, 0xFF00, 0)), ())
    put("bmp_4bit.bmp", bmp(9, 5, 4, bmp_rows([bytes((a << 4) | b for a, b in zip(
        r[0::2], np.append(r[1::2], 0))) for r in blocky(5, 9, 16, 513)], 8), pal16,
        colors=16), ())
    # TGA: right-hand origin (raw and RLE), 16-bit
    for name, kw in (("tga_rle_right.tga", {"compression": "tga_rle"}), ("tga_raw_right.tga", {})):
        b = io.BytesIO()
        Image.fromarray(smooth(9, 14, 3, 514)).save(b, "TGA", **kw)
        d = bytearray(b.getvalue())
        d[17] |= 0x10
        put(name, bytes(d), ())
    b = io.BytesIO()
    Image.fromarray(smooth(9, 14, 3, 515)).save(b, "TGA", compression="tga_rle", orientation=1)
    d = bytearray(b.getvalue())
    d[17] |= 0x10
    put("tga_rle_top_right.tga", bytes(d), ())
    px16 = np.random.default_rng(516).integers(0, 32768, (6, 8), dtype=np.uint16)
    put("tga_rgb16.tga", struct.pack("<BBBHHBHHHHBB", 0, 0, 2, 0, 0, 0, 0, 0, 8, 6, 16, 0) +
        px16.astype("<u2").tobytes(), ())
    # PNM: plain P1/P2/P3 (comments, tokens split over lines), binary P4, 16-bit P6
    bits = (smooth(5, 7, 1, 517) > 127).astype(int)
    put("pnm_plain.pbm", b"P1\n# a comment\n7 5\n" + b"\n".join(
        (b"".join(str(v).encode() for v in r[:4]) + b" " + b" ".join(str(v).encode() for v in r[4:]))
        for r in bits) + b"\n", ())
    g = smooth(6, 8, 1, 518).astype(int) * 200 // 255
    put("pnm_plain.pgm", b"P2\n8 6\n200\n" + b"\n".join(
        b" ".join(str(v).encode() for v in r) + b" # row" for r in g) + b"\n", ())
    c = smooth(5, 6, 3, 519).astype(int)
    put("pnm_plain.ppm", b"P3 6 5 255\n" + b"\n".join(
        b"  ".join(str(v).encode() for v in r.reshape(-1)) for r in c) + b"\n", ())
    g16 = smooth(6, 8, 1, 520).astype(int) * 4
    put("pnm_plain_1020.pgm", b"P2\n8 6\n1020\n" + b"\n".join(
        b" ".join(str(v).encode() for v in r) for r in g16) + b"\n", ())
    save(Image.fromarray(smooth(9, 13, 1, 521)).convert("1"), "pnm_bits.pbm", "PPM", ())
    c16 = smooth(5, 6, 3, 522).astype(np.uint16) * 257 + 3
    put("pnm_rgb16.ppm", b"P6\n6 5\n65535\n" + c16.astype(">u2").tobytes(), ())
    # PNG: orientation from XMP (element and attribute, compressed) and from ImageMagick's raw
    # exif profile (tEXt, and zTXt after the image data); an eXIf tag wins over XMP
    arr = smooth(7, 12, 3, 523)
    xmp6 = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description xmlns:tiff='
            '"http://ns.adobe.com/tiff/1.0/"><tiff:Orientation>6</tiff:Orientation>'
            '</rdf:Description></rdf:RDF></x:xmpmeta>')
    xmp8 = xmp6.replace("><tiff:Orientation>6</tiff:Orientation>", ' tiff:Orientation="8">')
    put("png_xmp_6.png", raw_png(arr, 8, 2, itxt(b"XML:com.adobe.xmp", xmp6)), ())
    put("png_xmp_8_z.png", raw_png(arr, 8, 2, itxt(b"XML:com.adobe.xmp", xmp8, True)), ())
    put("png_rawexif_3.png", raw_png(arr, 8, 2, png_chunk(
        b"tEXt", b"Raw profile type exif\0" + raw_profile_exif(3).encode())), ())
    z = png_chunk(b"zTXt", b"Raw profile type exif\0\0" + zlib.compress(
        raw_profile_exif(5).encode()))
    p = raw_png(arr, 8, 2)
    put("png_rawexif_5_late.png", p[:-12] + z + p[-12:], ())
    put("png_exif1_xmp6.png", raw_png(arr, 8, 2, png_chunk(b"eXIf", exif_bytes(1)[6:]) +
                                      itxt(b"XML:com.adobe.xmp", xmp6)), ())
    # PNG cut short after its image data: Pillow reads it (IEND cut; IDAT's CRC and IEND gone)
    good = raw_png(smooth(9, 13, 3, 535), 8, 2)
    put("png_cut_in_iend.png", good[:-6], ())
    put("png_cut_idat_crc.png", good[:-14], ())
    # WebP: animated (Pillow takes the first frame), lossless and lossy
    frames = [Image.fromarray(smooth(12, 16, 3, 524 + i)) for i in range(3)]
    b = io.BytesIO()
    frames[0].save(b, "WEBP", save_all=True, append_images=frames[1:], duration=50, lossless=True)
    put("webp_anim_lossless.webp", b.getvalue(), ())
    fa = [Image.fromarray(smooth(12, 16, 4, 530 + i), "RGBA") for i in range(2)]
    b = io.BytesIO()
    fa[0].save(b, "WEBP", save_all=True, append_images=fa[1:], duration=50, quality=80)
    put("webp_anim_lossy_alpha.webp", b.getvalue(), ())
    # ICO: PNG frames (Pillow writes them), and DIB frames with AND masks (by hand)
    b = io.BytesIO()
    Image.fromarray(smooth(32, 32, 4, 540), "RGBA").save(b, "ICO", sizes=[(16, 16), (24, 24)])
    put("ico_png.ico", b.getvalue(), ())
    put("ico_dib.ico", ico_dib(), ())
    cur = bytearray(ico_dib())
    cur[2] = 2  # the same directory as a cursor: Pillow's CUR picks by its own rule
    put("cur_dib.cur", bytes(cur), ())
    save(Image.fromarray(smooth(9, 13, 3, 546)).convert("P", palette=Image.ADAPTIVE, colors=20),
         "dib_p.dib", "DIB", ())
    save(Image.fromarray(smooth(9, 13, 3, 547)), "dib_rgb.dib", "DIB", ())


def png_chunk_cases():
    """PNG chunk streams Pillow reads and stb alone would not, or would read differently:
    palettes shorter than the indices used (Pillow's P palette starts as a grey ramp, so a
    missing entry i is (i, i, i); stb left those entries uninitialised), no PLTE, two PLTEs,
    a PLTE after the image data, tRNS longer than the palette or in an RGBA / LA image, an
    unknown critical chunk. Expectations: Pillow's own decoding, as every case."""
    r = np.random.default_rng(700)
    pal = lambda n: bytes(r.integers(0, 256, 3 * n, dtype=np.uint8))
    idx8 = r.integers(0, 16, (17, 23)).astype(np.uint8)
    plte4 = png_chunk(b"PLTE", pal(4))
    put("png_plte_short.png", raw_png(idx8, 8, 3, plte4), ())  # 4 entries, indices 0..15
    put("png_plte_200.png", raw_png(r.integers(0, 256, (17, 23)).astype(np.uint8), 8, 3,
                                    png_chunk(b"PLTE", pal(200))), ())
    idx4 = r.integers(0, 16, (17, 23)).astype(np.uint8)
    put("png_plte_short_4bit.png", raw_png(idx4, 4, 3, png_chunk(b"PLTE", pal(3))), ())
    put("png_plte_short_2bit_odd.png", raw_png(r.integers(0, 4, (9, 13)).astype(np.uint8), 2, 3,
                                               png_chunk(b"PLTE", pal(2) + b"\x7f")), ())
    put("png_plte_none.png", raw_png(idx8, 8, 3), ())
    put("png_plte_two.png", raw_png(idx8, 8, 3, png_chunk(b"PLTE", pal(16)) + plte4), ())
    p = raw_png(idx8, 8, 3, plte4)
    put("png_plte_after_idat.png", p[:-12] + png_chunk(b"PLTE", pal(16)) + p[-12:], ())
    put("png_trns_long.png", raw_png(idx8, 8, 3, plte4 + png_chunk(b"tRNS", bytes(range(9)))),
        ())
    put("png_rgba_trns.png", raw_png(smooth(11, 14, 4, 701), 8, 6, png_chunk(b"tRNS", bytes(6))),
        ())
    put("png_la_trns.png", raw_png(smooth(11, 14, 2, 702), 8, 4, png_chunk(b"tRNS", bytes(2))),
        ())
    put("png_unknown_critical.png", raw_png(smooth(11, 14, 3, 703), 8, 2,
                                            png_chunk(b"ABCD", b"xx")), ())
    # grey / RGB tRNS longer than the 2 / 6 bytes Pillow reads (stb refused "bad tRNS len")
    put("png_grey_trns_long.png", raw_png(smooth(11, 14, 1, 704), 8, 0,
                                          png_chunk(b"tRNS", bytes(3))), ())
    put("png_rgb_trns_long.png", raw_png(smooth(11, 14, 3, 705), 8, 2,
                                         png_chunk(b"tRNS", bytes(8))), ())


def gif_by_hand(idx, gct=None, lct=None):
    """A one-frame GIF of the index grid idx [h, w] with the given colour tables (RGB bytes of 2^k
    entries), for tables Pillow will not write: shorter than the indices used. The LZW data
    holds every index as a literal 9-bit code (minimum code size 8), with a clear code before
    the table would grow to 10 bits."""
    h, w = idx.shape
    clear, per_clear = 256, 512 - 256 - 3
    codes = []
    for i, v in enumerate(idx.reshape(-1).tolist()):
        if i % per_clear == 0:
            codes.append(clear)
        codes.append(v)
    codes.append(clear + 1)  # end of information
    acc, n, lzw = 0, 0, bytearray()
    for c in codes:
        acc |= c << n
        n += 9
        while n >= 8:
            lzw.append(acc & 255)
            acc >>= 8
            n -= 8
    if n:
        lzw.append(acc & 255)
    blocks = b"".join(bytes([len(lzw[i:i + 255])]) + bytes(lzw[i:i + 255])
                      for i in range(0, len(lzw), 255))

    def table_flags(t):
        return 0 if t is None else 0x80 | ((len(t) // 3).bit_length() - 2)

    return (b"GIF89a" + struct.pack("<HHBBB", w, h, table_flags(gct), 0, 0) + (gct or b"") +
            b"," + struct.pack("<HHHHB", 0, 0, w, h, table_flags(lct)) + (lct or b"") +
            bytes([8]) + blocks + b"\0;")


def gif_table_cases():
    """GIF colour tables shorter than the indices used: Pillow reads index i past the table as
    grey (i, i, i) (its palette starts as a grey ramp); a local table replaces a longer global
    one entirely. Expectations: Pillow's own decoding."""
    r = np.random.default_rng(720)
    idx = r.integers(0, 8, (9, 14)).astype(np.uint8)
    put("gif_gct4_indices8.gif", gif_by_hand(idx, gct=bytes(r.integers(0, 256, 12,
                                                                      dtype=np.uint8))), ())
    idx = r.integers(0, 40, (9, 14)).astype(np.uint8)
    put("gif_lct4_gct256.gif", gif_by_hand(idx, gct=bytes(r.integers(0, 256, 768, dtype=np.uint8)),
                                           lct=bytes(r.integers(0, 256, 12, dtype=np.uint8))), ())


def exif_ifd0(entries, extra=b""):
    """A big-endian Exif block "Exif\\0\\0" + TIFF header + IFD0 of the given (tag, type, count,
    4-byte value or offset) entries, then `extra` (values stored out of line start at
    exif_extra_offset(len(entries)), counted from the TIFF header)."""
    b = b"MM\0*" + struct.pack(">IH", 8, len(entries))
    for tag, typ, count, value in entries:
        b += struct.pack(">HHI", tag, typ, count) + value
    return b"Exif\0\0" + b + struct.pack(">I", 0) + extra


def exif_extra_offset(n_entries):
    return 8 + 2 + 12 * n_entries + 4


def exif_encoding_cases():
    """Orientation tags in the encodings Pillow 9.4 honours (its dict lookup matches 6, 6.0 and
    the rational 12/2 alike): SSHORT, SLONG, SBYTE, FLOAT, RATIONAL, SRATIONAL, DOUBLE, several
    values (the first counts, also out of line), the tag twice (the last entry Pillow keeps
    counts). Each in a JPEG (APP1), a PNG (eXIf) and a WebP (EXIF chunk). Then PNGs whose XMP
    says 8: an Orientation entry Pillow skips (unknown type, count 0, values past the block)
    leaves the tag absent, so XMP applies; a value that is not 1..8 (13/2) is present and
    blocks it. Expectations: Pillow's own decoding."""
    o = 0x0112
    short = lambda v: struct.pack(">HH", v, 0)
    at1 = struct.pack(">I", exif_extra_offset(1))
    rules = {
        "sshort": exif_ifd0([(o, 8, 1, short(6))]),
        "slong": exif_ifd0([(o, 9, 1, struct.pack(">i", 8))]),
        "sbyte": exif_ifd0([(o, 6, 1, bytes([5, 0, 0, 0]))]),
        "float": exif_ifd0([(o, 11, 1, struct.pack(">f", 6.0))]),
        "rational": exif_ifd0([(o, 5, 1, at1)], struct.pack(">II", 12, 2)),
        "srational": exif_ifd0([(o, 10, 1, at1)], struct.pack(">ii", -8, -1)),
        "double": exif_ifd0([(o, 12, 1, at1)], struct.pack(">d", 3.0)),
        "count2": exif_ifd0([(o, 3, 2, struct.pack(">HH", 6, 3))]),
        "count3_out_of_line": exif_ifd0([(o, 3, 3, at1)], struct.pack(">HHH", 8, 6, 6)),
        "twice": exif_ifd0([(o, 3, 1, short(3)), (o, 3, 1, short(6))]),
        "twice_then_unknown_type": exif_ifd0([(o, 3, 1, short(6)), (o, 99, 1, short(3))]),
    }
    for i, (rule, exif) in enumerate(rules.items()):
        im = Image.fromarray(smooth(9, 16, 3, 740 + i))
        save(im, "exif_enc_%s.jpg" % rule, "JPEG", (), quality=90, exif=exif)
        save(im, "exif_enc_%s.png" % rule, "PNG", (), exif=exif)
        save(im, "exif_enc_%s.webp" % rule, "WEBP", (), lossless=True, exif=exif)
    xmp8 = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description xmlns:tiff='
            '"http://ns.adobe.com/tiff/1.0/" tiff:Orientation="8"/></rdf:RDF></x:xmpmeta>')
    skipped = {
        "unknown_type": exif_ifd0([(o, 99, 1, short(6))]),
        "count0": exif_ifd0([(o, 3, 0, short(6))]),
        "past_block": exif_ifd0([(o, 3, 3, at1)], struct.pack(">HH", 6, 6)),
        "not_integer": exif_ifd0([(o, 5, 1, at1)], struct.pack(">II", 13, 2)),
    }
    for i, (rule, exif) in enumerate(skipped.items()):
        put("exif_enc_%s_xmp8.png" % rule, raw_png(smooth(9, 16, 3, 760 + i), 8, 2, png_chunk(
            b"eXIf", exif[6:]) + itxt(b"XML:com.adobe.xmp", xmp8)), ())


def png_metadata_cases():
    """Which PNG chunk gives the orientation, as Pillow 9.4's getexif() finds it on an image just
    opened: the chunks after the image data count only when no "exif" entry (eXIf, or a tEXt
    keyed "exif", which Pillow keeps as bytes) came before it; XMP counts from tEXt and zTXt too
    (Pillow puts every text chunk into info). Expectations: Pillow's own decoding."""
    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description xmlns:tiff='
           '"http://ns.adobe.com/tiff/1.0/" tiff:Orientation="%d"/></rdf:RDF></x:xmpmeta>')
    no_orientation = Image.Exif()
    no_orientation[0x0131] = "gen.py"  # Software: an Exif block without Orientation
    cases = {
        "exif3_pre_exif6_post": (png_chunk(b"eXIf", exif_bytes(3)[6:]),
                                 png_chunk(b"eXIf", exif_bytes(6)[6:])),
        "exif_none_pre_xmp6_post": (png_chunk(b"eXIf", no_orientation.tobytes()[6:]),
                                    itxt(b"XML:com.adobe.xmp", xmp % 6)),
        "xmp6_text": (png_chunk(b"tEXt", b"XML:com.adobe.xmp\0" + (xmp % 6).encode()), b""),
        "xmp8_ztxt": (png_chunk(b"zTXt", b"XML:com.adobe.xmp\0\0" +
                                zlib.compress((xmp % 8).encode())), b""),
        "text_exif6": (png_chunk(b"tEXt", b"exif\0" + exif_bytes(6)), b""),
        "text_exif3_pre_raw5_post": (png_chunk(b"tEXt", b"exif\0" + exif_bytes(3)),
                                     png_chunk(b"tEXt", b"Raw profile type exif\0" +
                                               raw_profile_exif(5).encode())),
        "raw3_pre_exif6_post": (png_chunk(b"tEXt", b"Raw profile type exif\0" +
                                          raw_profile_exif(3).encode()),
                                png_chunk(b"eXIf", exif_bytes(6)[6:])),
        "text_exif6_post": (b"", png_chunk(b"tEXt", b"exif\0" + exif_bytes(6))),
    }
    for i, (name, (pre, post)) in enumerate(cases.items()):
        p = raw_png(smooth(9, 16, 3, 780 + i), 8, 2, pre)
        put("png_meta_%s.png" % name, p[:-12] + post + p[-12:], ())


class TiffWriter:
    """TIFF files written with libtiff itself (through ctypes), for the layouts Pillow can't
    save: tiles, separate planes, YCbCr JPEG, min-is-white, associated alpha, 16-bit, CMYK,
    2/4-bit, Orientation, several pages."""
    T = dict(WIDTH=256, LENGTH=257, BPS=258, COMPRESSION=259, PHOTOMETRIC=262, ORIENTATION=274,
             SPP=277, RPS=278, PLANAR=284, TILEWIDTH=322, TILELENGTH=323, EXTRASAMPLES=338,
             SAMPLEFORMAT=339, COLORMAP=320, YCBCRSUBSAMPLING=530, JPEGQUALITY=65537,
             JPEGCOLORMODE=65538)

    def __init__(self):
        import ctypes
        self.c = ctypes
        self.lib = ctypes.CDLL("libtiff.so.6")
        self.lib.TIFFOpen.restype = ctypes.c_void_p
        self.lib.TIFFOpen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]

    def write(self, path, pages):
        """pages: list of (tags {name: value or tuple of c values}, chunks [bytes], tiled)."""
        c, lib = self.c, self.lib
        t = c.c_void_p(lib.TIFFOpen(path.encode(), b"w"))
        for tags, chunks, tiled in pages:
            for name, v in tags.items():
                args = v if isinstance(v, tuple) else (c.c_int(v),)
                assert lib.TIFFSetField(t, c.c_uint32(self.T[name]), *args) == 1, name
            for i, data in enumerate(chunks):
                fn = lib.TIFFWriteEncodedTile if tiled else lib.TIFFWriteEncodedStrip
                buf = c.create_string_buffer(data, len(data))
                assert fn(t, c.c_uint32(i), buf, c.c_ssize_t(len(data))) >= 0
            assert lib.TIFFWriteDirectory(t) == 1
        lib.TIFFClose(t)

    def u16s(self, values):
        return (self.c.c_uint16 * len(values))(*values)


def tiff_cases():
    """TIFF variants (issue 17), each decoded against Pillow. (Pillow 9.4 applies a TIFF's
    Orientation twice: when loading and again in exif_transpose; the expectations are what it
    does.)"""
    # Pillow writes these itself
    rgb = Image.fromarray(smooth(13, 17, 3, 600))
    for comp in ("raw", "tiff_lzw", "tiff_adobe_deflate", "packbits", "jpeg"):
        save(rgb, "tiff_rgb_%s.tif" % comp, "TIFF", (), compression=comp)
    save(Image.fromarray(smooth(13, 17, 4, 601), "RGBA"), "tiff_rgba_lzw.tif", "TIFF", (),
         compression="tiff_lzw")
    save(Image.fromarray(smooth(13, 17, 1, 602)), "tiff_l.tif", "TIFF", ())
    save(Image.fromarray(smooth(13, 17, 1, 603)).convert("1"), "tiff_1bit_g4.tif", "TIFF", (),
         compression="group4")
    save(Image.fromarray(smooth(13, 17, 3, 604)).convert("P", palette=Image.ADAPTIVE, colors=30),
         "tiff_p.tif", "TIFF", ())
    save(Image.fromarray(smooth(13, 17, 3, 605)).convert("CMYK"), "tiff_cmyk.tif", "TIFF", (),
         compression="tiff_lzw")
    save(Image.fromarray(smooth(13, 17, 1, 606).astype(np.uint16) * 300), "tiff_gray16.tif",
         "TIFF", ())
    la = Image.fromarray(smooth(13, 17, 3, 607)).convert("LA")
    save(la, "tiff_la.tif", "TIFF", (), compression="tiff_adobe_deflate")
    # libtiff writes the rest
    tw = TiffWriter()
    c = tw.c

    def base(w, h, spp, bps, photometric, compression=1, **extra):
        tags = dict(WIDTH=w, LENGTH=h, SPP=spp, BPS=bps, PHOTOMETRIC=photometric,
                    COMPRESSION=compression, PLANAR=1)
        tags.update(extra)
        return tags

    def strips(arr, rps):
        return [arr[i:i + rps].tobytes() for i in range(0, arr.shape[0], rps)]

    def tiles(arr, th, tw_):
        h, w = arr.shape[:2]
        out = []
        for y in range(0, h, th):
            for x in range(0, w, tw_):
                t = np.zeros((th, tw_) + arr.shape[2:], arr.dtype)
                part = arr[y:y + th, x:x + tw_]
                t[:part.shape[0], :part.shape[1]] = part
                out.append(t.tobytes())
        return out

    def write(name, pages):
        path = os.path.join(IN, name)
        tw.write(path, pages)
        cases.append((name, 0, 0))

    a = smooth(37, 45, 3, 610)
    write("tiff_tiled_lzw.tif", [(base(45, 37, 3, 8, 2, 5, TILEWIDTH=16, TILELENGTH=16),
                                  tiles(a, 16, 16), True)])
    write("tiff_planar_deflate.tif", [(base(45, 37, 3, 8, 2, 8, PLANAR=2, RPS=37),
                                       [a[..., k].copy().tobytes() for k in range(3)], False)])
    y = smooth(32, 48, 3, 611)
    write("tiff_ycbcr_jpeg.tif", [(base(48, 32, 3, 8, 6, 7, RPS=16, JPEGQUALITY=90,
                                        JPEGCOLORMODE=1,
                                        YCBCRSUBSAMPLING=(c.c_int(2), c.c_int(2))),
                                   strips(y, 16), False)])
    g = smooth(11, 19, 1, 612)
    write("tiff_miniswhite.tif", [(base(19, 11, 1, 8, 0, 32773, RPS=4), strips(g, 4), False)])
    g4 = (smooth(11, 20, 1, 613) >> 4).astype(np.uint8)
    write("tiff_gray4.tif", [(base(20, 11, 1, 4, 1, 5, RPS=11),
                              [(g4[:, 0::2] << 4 | g4[:, 1::2]).tobytes()], False)])
    rgba = smooth(9, 14, 4, 614)
    pre = rgba.copy()
    pre[..., :3] = (rgba[..., :3].astype(int) * rgba[..., 3:4] // 255).astype(np.uint8)
    write("tiff_rgba_assoc.tif", [(base(14, 9, 4, 8, 2, 5, RPS=9,
                                        EXTRASAMPLES=(c.c_int(1), tw.u16s([1]))),
                                   [pre.tobytes()], False)])
    r16 = smooth(9, 14, 3, 615).astype(np.uint16) * 257 + 100
    write("tiff_rgb16.tif", [(base(14, 9, 3, 16, 2, 8, RPS=9), [r16.tobytes()], False)])
    cmyk16 = smooth(9, 14, 4, 616).astype(np.uint16) * 256 + 77
    write("tiff_cmyk16.tif", [(base(14, 9, 4, 16, 5, 1, RPS=9), [cmyk16.tobytes()], False)])
    pal = (np.random.default_rng(617).integers(0, 65536, (3, 16))).astype(np.uint16)
    p4 = np.random.default_rng(618).integers(0, 16, (7, 10)).astype(np.uint8)
    write("tiff_p4.tif", [(base(10, 7, 1, 4, 3, 1, RPS=7,
                                COLORMAP=tuple(tw.u16s(list(pal[k])) for k in range(3))),
                           [(p4[:, 0::2] << 4 | p4[:, 1::2]).tobytes()], False)])
    o = smooth(10, 16, 3, 619)
    write("tiff_orientation6.tif", [(base(16, 10, 3, 8, 2, 5, RPS=10, ORIENTATION=6),
                                     [o.tobytes()], False)])
    # deep grey: 12-bit, signed 16-bit, signed 32-bit, float (mode I;16 / I / F: clipped)
    g12 = (smooth(6, 10, 1, 621).astype(np.uint32) * 16 + 7) % 4096
    g12[0, :4] = [0, 255, 256, 4095]
    bits = np.unpackbits((g12.astype(">u2") << 4).view(np.uint8).reshape(6, 10, 2),
                         axis=2)[..., :12].reshape(6, -1)
    write("tiff_gray12.tif", [(base(10, 6, 1, 12, 1, 1, RPS=6),
                               [np.packbits(bits, axis=1).tobytes()], False)])
    s16 = (smooth(6, 10, 1, 622).astype(np.int16) * 3 - 200)
    write("tiff_int16.tif", [(base(10, 6, 1, 16, 1, 5, RPS=6, SAMPLEFORMAT=2), [s16.tobytes()],
                              False)])
    s32 = (smooth(6, 10, 1, 623).astype(np.int32) * 1000 - 60000)
    s32[0, :3] = [-(2 ** 31), 2 ** 31 - 1, 128]
    write("tiff_int32.tif", [(base(10, 6, 1, 32, 1, 1, RPS=6, SAMPLEFORMAT=2), [s32.tobytes()],
                              False)])
    f32 = smooth(6, 10, 1, 624).astype(np.float32) * 1.25 - 20.5
    f32[0, :6] = [0.6, 1.5, 254.9, 255.5, -0.4, np.nan]
    write("tiff_float32.tif", [(base(10, 6, 1, 32, 1, 8, RPS=6, SAMPLEFORMAT=3), [f32.tobytes()],
                                False)])
    for k in (2, 5, 8):
        write("tiff_orientation%d.tif" % k, [(base(16, 10, 3, 8, 2, 1, RPS=10, ORIENTATION=k),
                                              [o.tobytes()], False)])
    write("tiff_two_pages.tif", [(base(16, 10, 3, 8, 2, 1, RPS=10), [o.tobytes()], False),
                                 (base(8, 8, 3, 8, 2, 1, RPS=8),
                                  [smooth(8, 8, 3, 620).tobytes()], False)])


def ico_dib():
    """Three DIB icons: 8x8 24-bit, 12x12 8-bit palette (the largest: Pillow's pick), 12x12
    4-bit (same size, shallower). Each DIB's height counts the AND mask."""
    entries = []
    rgb = smooth(8, 8, 3, 541)
    dib24 = bmp(8, 16, 24, bmp_rows([r[:, ::-1].tobytes() for r in rgb], 24) + b"\xff" * 32)[14:]
    entries.append((8, 8, 0, 24, dib24))
    pal, _ = palette_bgrx(256, 542)
    idx = blocky(12, 12, 256, 543)
    dib8 = bmp(12, 24, 8, bmp_rows([r.tobytes() for r in idx], 12) + b"\0" * 48, pal,
               colors=256)[14:]
    entries.append((12, 12, 0, 8, dib8))
    pal16, _ = palette_bgrx(16, 544)
    idx4 = blocky(12, 12, 16, 545)
    dib4 = bmp(12, 24, 4, bmp_rows([bytes((a << 4) | b for a, b in zip(r[0::2], r[1::2]))
                                    for r in idx4], 8) + b"\0" * 48, pal16, colors=16)[14:]
    entries.append((12, 12, 16, 4, dib4))
    head = struct.pack("<HHH", 0, 1, len(entries))
    offset = 6 + 16 * len(entries)
    dirs, blobs = b"", b""
    for w, h, ncol, bpp, dib in entries:
        dirs += struct.pack("<BBBBHHII", w, h, ncol, 0, 1, bpp, len(dib), offset + len(blobs))
        blobs += dib
    return head + dirs + blobs


def expectations():
    os.makedirs(EXPECT, exist_ok=True)
    done = set()
    for name, w, h in cases:
        if name in own_expectations:
            continue
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
    pillow_parity_cases()
    tiff_cases()
    png_chunk_cases()
    gif_table_cases()
    exif_encoding_cases()
    png_metadata_cases()
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
        # a chunk type that is not four word characters: Pillow's "broken PNG file"
        "bad_png_chunk_type.png": (raw_png(smooth(11, 14, 3, 706), 8, 2,
                                           png_chunk(b"AB!D", b"xx")), "SIGLIP_EBADMSG"),
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
        "bad_truncated_rle.bmp": (open(os.path.join(IN, "bmp_rle8.bmp"), "rb").read()[:-40],
                                  "SIGLIP_EBADMSG"),
        "bad_truncated_rle.tga": (open(os.path.join(IN, "tga_rgb_rle.tga"), "rb").read()[:700],
                                  "SIGLIP_EBADMSG"),
        "bad_truncated_plain.pgm": (open(os.path.join(IN, "pnm_plain.pgm"), "rb").read()[:-30],
                                    "SIGLIP_EBADMSG"),
        "bad_truncated_anim.webp": (open(os.path.join(IN, "webp_anim_lossless.webp"),
                                         "rb").read()[:200], "SIGLIP_EBADMSG"),
        "bad_truncated.ico": (open(os.path.join(IN, "ico_dib.ico"), "rb").read()[:300],
                              "SIGLIP_EBADMSG"),
        "bad_truncated_ztxt.png": (open(os.path.join(IN, "png_rawexif_5_late.png"),
                                        "rb").read()[:-20], "SIGLIP_EBADMSG"),
        "bad_rle_24bit.bmp": (bmp(4, 4, 24, b"\0" * 8, comp=1), "SIGLIP_ENOTSUP"),
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
