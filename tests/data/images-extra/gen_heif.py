#!/usr/bin/python3
"""gen_heif.py — HEIC and AVIF cases of tests/test_image_extra.c (an extension beyond Pillow and
transformers). Inputs are encoded here; each expectation is a reference decoder's own output:
  heic_*.heic  written with libheif's encoder (x265, through ctypes, with image_orientation for
               the irot/imir boxes); expected: heif-convert's PNG (transformations applied)
  avif_*.avif  written with avifenc (--irot/--imir); expected: avifdec's PNG (libavif + dav1d,
               nearest chroma upsampling, as libheif upsamples) with the irot/imir transform
               applied here, and heif-convert's PNG.
heif.txt lists "input reference max_levels". Needs heif-convert (libheif-examples), avifenc and
avifdec (libavif-bin). Run from this directory with Debian's /usr/bin/python3; outputs are
committed."""
import ctypes
import os
import subprocess
import tempfile

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
IN = os.path.join(HERE, "in")
EXPECT = os.path.join(HERE, "expect")


class HeifError(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("subcode", ctypes.c_int), ("message", ctypes.c_char_p)]


class EncodingOptions(ctypes.Structure):  # struct heif_encoding_options, version 5
    _fields_ = [("version", ctypes.c_uint8), ("save_alpha_channel", ctypes.c_uint8),
                ("macos_workaround", ctypes.c_uint8), ("two_colr_boxes", ctypes.c_uint8),
                ("output_nclx_profile", ctypes.c_void_p), ("macos_no_nclx", ctypes.c_uint8),
                ("image_orientation", ctypes.c_int)]


def heic_encode(rgb, path, orientation, quality=90):
    lib = ctypes.CDLL("libheif.so.1")
    for fn in ("heif_context_get_encoder_for_format", "heif_encoder_set_lossy_quality",
               "heif_context_encode_image", "heif_context_write_to_file", "heif_image_create",
               "heif_image_add_plane"):
        getattr(lib, fn).restype = HeifError
    lib.heif_context_alloc.restype = ctypes.c_void_p
    lib.heif_image_get_plane.restype = ctypes.POINTER(ctypes.c_uint8)
    lib.heif_encoding_options_alloc.restype = ctypes.POINTER(EncodingOptions)
    ctx = ctypes.c_void_p(lib.heif_context_alloc())
    enc, img = ctypes.c_void_p(), ctypes.c_void_p()
    assert lib.heif_context_get_encoder_for_format(ctx, 1, ctypes.byref(enc)).code == 0
    assert lib.heif_encoder_set_lossy_quality(enc, quality).code == 0
    h, w = rgb.shape[:2]
    assert lib.heif_image_create(w, h, 1, 10, ctypes.byref(img)).code == 0
    assert lib.heif_image_add_plane(img, 10, w, h, 8).code == 0
    stride = ctypes.c_int()
    plane = lib.heif_image_get_plane(img, 10, ctypes.byref(stride))
    for y in range(h):
        ctypes.memmove(ctypes.addressof(plane.contents) + y * stride.value,
                       rgb[y].tobytes(), w * 3)
    opt = lib.heif_encoding_options_alloc()
    assert opt.contents.version >= 5
    opt.contents.image_orientation = orientation
    assert lib.heif_context_encode_image(ctx, img, enc, opt, None).code == 0
    assert lib.heif_context_write_to_file(ctx, path.encode()).code == 0
    lib.heif_encoding_options_free(opt)
    lib.heif_image_release(img)
    lib.heif_encoder_release(enc)
    lib.heif_context_free(ctx)


def source(h, w, seed):
    r = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([x * 255 // w, y * 255 // h, (x + y) * 127 // (w + h)], -1).astype(np.int32)
    a += r.integers(-8, 9, a.shape)
    a[h // 4:h // 2, w // 8:w // 3] = (240, 30, 20)  # a block: the orientation is visible
    return np.clip(a, 0, 255).astype(np.uint8)


def irot_imir(a, irot, imir):
    """HEIF's order: rotate irot·90° anticlockwise, then mirror (imir 0: top-bottom, 1:
    left-right), as ISO/IEC 23008-12 and libheif apply them."""
    if irot:
        a = np.rot90(a, irot)
    if imir == 0:
        a = a[::-1]
    elif imir == 1:
        a = a[:, ::-1]
    return np.ascontiguousarray(a)


def run(*cmd):
    subprocess.run(cmd, check=True, capture_output=True)


def main():
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, orientation in (("heic_plain.heic", 1), ("heic_rot90.heic", 6),
                                  ("heic_mirror.heic", 2), ("heic_transverse.heic", 7)):
            heic_encode(source(24, 40, 1), os.path.join(IN, name), orientation)
            run("heif-convert", "--quiet", os.path.join(IN, name),
                os.path.join(EXPECT, name + ".png"))
            lines.append("%s %s.png 0" % (name, name))
        src_png = os.path.join(tmp, "src.png")
        Image.fromarray(source(24, 40, 2)).save(src_png)
        for name, irot, imir in (("avif_plain.avif", 0, None), ("avif_irot1.avif", 1, None),
                                 ("avif_imir1.avif", 0, 1), ("avif_irot3_imir0.avif", 3, 0)):
            args = ["avifenc", "-s", "8", "--min", "10", "--max", "20", "-y", "420"]
            if irot:
                args += ["--irot", str(irot)]
            if imir is not None:
                args += ["--imir", str(imir)]
            run(*args, src_png, os.path.join(IN, name))
            ref = os.path.join(tmp, "avifdec.png")
            run("avifdec", "-u", "nearest", os.path.join(IN, name), ref)
            a = irot_imir(np.array(Image.open(ref).convert("RGB")), irot, imir)
            Image.fromarray(a).save(os.path.join(EXPECT, name + ".avifdec.png"), optimize=True)
            run("heif-convert", "--quiet", os.path.join(IN, name),
                os.path.join(EXPECT, name + ".png"))
            # libheif and libavif round the YUV -> RGB conversion differently by up to 1 level
            lines.append("%s %s.avifdec.png 1" % (name, name))
            lines.append("%s %s.png 0" % (name, name))
    with open(os.path.join(HERE, "heif.txt"), "w") as f:
        f.write("# input reference-png max-abs-levels (gen_heif.py)\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
