/* exif.h — EXIF Orientation: reading the tag and applying it as PIL.ImageOps.exif_transpose. */
#ifndef SG_IMAGE_EXIF_H
#define SG_IMAGE_EXIF_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

/* The Orientation (1–8) of IFD0 of an Exif block: TIFF data, optionally preceded by "Exif\0\0".
 * Anything missing, malformed or out of range reads as 1 (no change), as Pillow ignores it. */
int sg_exif_orientation(const uint8_t *data, size_t size);

/* Transposes img in place for orientation 2–8 (1 and others: nothing). */
int sg_exif_apply_orientation(SgImage *img, int orientation, SgError *err);

#endif /* SG_IMAGE_EXIF_H */
