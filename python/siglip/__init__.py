"""siglip — SigLIP image–text models on OpenCL devices from Python: the libsiglip C library
through ctypes, with transformers' names and shapes and numpy arrays in and out.

    from siglip import SiglipModel, pipeline
    model = SiglipModel.from_pretrained("siglip-base-patch16-224")   # device="auto"
    out = model(texts=["a cat", "a dog"], images=["cat.jpg"])
    out.logits_per_image                                              # numpy [1, 2]
    pipeline("zero-shot-image-classification", model="siglip-base-patch16-224")(
        "cat.jpg", candidate_labels=["cat", "dog"])                   # [{"score", "label"}, ...]

The library is found through $SIGLIP_LIBRARY, else where Meson installed it, else the loader's
search path. siglip.dask (imported on its own) spreads image embedding over a Dask cluster.
"""
from ._context import PRECISIONS, devices
from ._lib import MAX_BATCH, SiglipError
from ._lib import lib as _lib_handle
from .modeling import ModelOutput, SiglipForImageClassification, SiglipModel
from .pipelines import (ImageClassificationPipeline, ZeroShotImageClassificationPipeline,
                        pipeline)
from .processing import BatchFeature, SiglipImageProcessor, SiglipProcessor, SiglipTokenizer

library_version = _lib_handle.siglip_version_string().decode()
del _lib_handle

__all__ = [
    "BatchFeature", "ImageClassificationPipeline", "MAX_BATCH", "ModelOutput", "PRECISIONS",
    "SiglipError", "SiglipForImageClassification", "SiglipImageProcessor", "SiglipModel",
    "SiglipProcessor", "SiglipTokenizer", "ZeroShotImageClassificationPipeline", "devices",
    "library_version", "pipeline",
]
