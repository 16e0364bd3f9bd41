/* exif.h — EXIF Orientation: reading the tag and applying it as PIL.ImageOps.exif_transpose. */
#ifndef SG_IMAGE_EXIF_H
#define SG_IMAGE_EXIF_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

/* The Orientation (1–8) of IFD0 of an Exif block: TIFF data, optionally preceded by "Exif\0\0".
 * Anything missing, malformed or out of range reads as 1 (no change), as Pillow ignores it. */
int sg_exif_orientation(const uint8_t *data, size_t size);

/* The Orientation tag of the same block as Pillow 9.4 reads it: -1 when absent (Pillow then
 * looks for one in XMP; an entry Pillow skips counts as absent: unknown type, count 0, values
 * outside the block), else 1–8 when its (first) value equals that integer in any numeric type,
 * 0 when present but not one of those (no transposition, and XMP is not consulted). */
int sg_exif_orientation_tag(const uint8_t *data, size_t size);

/* The orientation in an XMP packet as Pillow's getexif finds it: the first digit after
 * `tiff:Orientation="` or `tiff:Orientation>`; -1 when there is none. */
int sg_xmp_orientation(const uint8_t *xmp, size_t size);

/* Transposes img in place for orientation 2–8 (1 and others: nothing). */
int sg_exif_apply_orientation(SgImage *img, int orientation, SgError *err);

#endif /* SG_IMAGE_EXIF_H */
