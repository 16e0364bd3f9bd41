"""dask.py — image embeddings over a Dask cluster (dask.distributed): a bag of paths mapped
partition by partition, one model per worker process, bad files reported instead of fatal.

    from dask.distributed import Client
    import siglip.dask
    result = siglip.dask.embed_images(paths, "siglip-base-patch16-224", client=Client("scheduler:8786"))
    result.image_embeds      # [N, D] float32, NaN rows where result.ok is False
    result.errors            # [(path, message)] of the files that could not be embedded

Every worker needs the package, the library, and the model directory and the images at the same
paths (shared storage). The numbers are those of SiglipModel.encode_image on the same files.
"""
import os
import threading
import uuid

import dask.bag as db
import numpy as np

from .modeling import ModelOutput, SiglipModel

# Models loaded in this (worker) process, by what loaded them: a worker loads a model once and
# uses it for every partition it is given.
_models = {}
_models_lock = threading.Lock()


def worker_model(model_dir, device=None, precision="f32", cache_dir="default"):
    """The model of this process for these arguments, loaded on first use. device None: the
    worker's SIGLIP_DEVICE environment variable, else "auto" (start each worker of a multi-GPU
    machine with its own SIGLIP_DEVICE=P:D)."""
    if device is None:
        device = os.environ.get("SIGLIP_DEVICE", "auto")
    key = (os.fspath(model_dir), device, precision, cache_dir)
    with _models_lock:
        model = _models.get(key)
        if model is None:
            model = _models[key] = SiglipModel.from_pretrained(
                model_dir, device=device, precision=precision, cache_dir=cache_dir)
    return model


def embed_partition(paths, model_dir, device=None, precision="f32", cache_dir="default",
                    batch_size=32):
    """Embeds one partition of image paths with this worker's model: a list of records
    {"path", "image_embeds" [D] or None, "image_features" [D] or None, "error" None or message},
    one per path, in order. A file that fails to decode costs only its own record."""
    model = worker_model(model_dir, device, precision, cache_dir)
    paths = list(paths)
    records = []
    for start in range(0, len(paths), batch_size):
        chunk = paths[start:start + batch_size]
        pixel_values, good, errors = model.image_processor.preprocess_each(chunk)
        out = model.encode_image(pixel_values)
        rows = {i: k for k, i in enumerate(good)}
        for i, path in enumerate(chunk):
            k = rows.get(i)
            records.append({
                "path": path,
                "image_embeds": None if k is None else out["image_embeds"][k],
                "image_features": None if k is None else out["pooler_output"][k],
                "error": errors.get(i),
            })
    return records


def embed_bag(paths, model_dir, device=None, precision="f32", cache_dir="default", batch_size=32):
    """A dask.bag of image paths → a bag of embed_partition records, lazily. Write huge results
    out partition by partition (e.g. .map_partitions(save)) rather than gathering them."""
    # Reading files is not pure: a key of its own per call, so that Dask never hands back the
    # result of an earlier call on the same paths (the files may have changed).
    return paths.map_partitions(embed_partition, model_dir, device=device, precision=precision,
                                cache_dir=cache_dir, batch_size=batch_size,
                                token="siglip-embed-" + uuid.uuid4().hex)


def embed_images(paths, model_dir, client=None, *, partition_size=256, batch_size=32,
                 device=None, precision="f32", cache_dir="default", resources=None):
    """Embeds image files across a cluster and gathers the result here:
    ModelOutput(paths, image_embeds [N, D], image_features [N, D] (NaN rows for failed files),
    ok [N] bool, errors [(path, message)]), rows in the order of paths.

    client: a dask.distributed Client (None: dask's current scheduler); partition_size: paths per
    task; batch_size: images per device call; resources: worker resources each task needs, e.g.
    {"GPU": 1} for workers started with --resources GPU=1."""
    paths = [os.fspath(p) for p in paths]
    bag = embed_bag(db.from_sequence(paths, partition_size=max(1, partition_size)), model_dir,
                    device=device, precision=precision, cache_dir=cache_dir,
                    batch_size=batch_size)
    if client is not None:
        records = client.compute(bag, resources=resources).result()
    else:
        records = bag.compute()
    return collect(records)


def collect(records):
    """The records of embed_partition (in order) as one ModelOutput (see embed_images)."""
    dim = next((len(r["image_embeds"]) for r in records if r["error"] is None), 0)
    embeds = np.full((len(records), dim), np.nan, dtype=np.float32)
    features = np.full((len(records), dim), np.nan, dtype=np.float32)
    ok = np.zeros(len(records), dtype=bool)
    for i, r in enumerate(records):
        if r["error"] is None:
            embeds[i], features[i], ok[i] = r["image_embeds"], r["image_features"], True
    return ModelOutput(paths=[r["path"] for r in records], image_embeds=embeds,
                       image_features=features, ok=ok,
                       errors=[(r["path"], r["error"]) for r in records if r["error"] is not None])
