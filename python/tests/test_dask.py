"""test_dask.py — siglip.dask on a LocalCluster of 2 worker processes: the fixture images plus a
corrupt file and a missing one, spread over several partitions. The broken files are reported and
cost nothing else; every other embedding equals the single-process SiglipModel's exactly (the
same library on the same device, rows of a batch computed independently); each worker process
loads the model once."""
import os
import shutil

import numpy as np
import pytest

import siglip
from conftest import CACHE, DEVICE, TINY, load_kwargs

distributed = pytest.importorskip("distributed")
dask_bag = pytest.importorskip("dask.bag")
import siglip.dask  # noqa: E402  (after the skips: it needs dask)


@pytest.fixture(scope="module")
def client():
    # Worker processes inherit the environment: SIGLIP_LIBRARY and PYTHONPATH find this build.
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=40)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _inputs(tiny, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    # A file name with a space and a non-ASCII character, copied from a fixture image.
    odd = tmp_path / "été photo.png"
    shutil.copy(tiny.images[0], odd)
    missing = str(tmp_path / "missing.png")
    paths = tiny.images[:5] + [str(broken)] + tiny.images[5:] + [missing, str(odd)]
    return paths, {str(broken), missing}


def test_embed_images_on_two_workers(client, tiny, tmp_path):
    paths, bad = _inputs(tiny, tmp_path)
    kwargs = {"device": DEVICE, "cache_dir": CACHE}
    result = siglip.dask.embed_images(paths, TINY, client=client, partition_size=4,
                                      batch_size=3, **kwargs)
    assert result.paths == paths
    assert [p for p, _ in result.errors] == [p for p in paths if p in bad]
    messages = dict(result.errors)
    assert "broken.jpg" in messages[str(tmp_path / "broken.jpg")]
    assert "No such file" in messages[str(tmp_path / "missing.png")]
    np.testing.assert_array_equal(result.ok, [p not in bad for p in paths])
    assert np.isnan(result.image_embeds[~result.ok]).all()

    good = [p for p in paths if p not in bad]
    model = siglip.SiglipModel.from_pretrained(TINY, **load_kwargs())
    single = model.encode_image(images=good)
    np.testing.assert_array_equal(result.image_embeds[result.ok], single["image_embeds"])
    np.testing.assert_array_equal(result.image_features[result.ok], single["pooler_output"])

    # Once more through a dask.bag: the models stay loaded, one per worker process.
    records = siglip.dask.embed_bag(dask_bag.from_sequence(good, npartitions=4), TINY,
                                    **kwargs).compute()
    np.testing.assert_array_equal(np.stack([r["image_embeds"] for r in records]),
                                  single["image_embeds"])
    loaded = client.run(lambda: len(siglip.dask._models))
    assert len(loaded) == 2 and set(loaded.values()) <= {0, 1} and sum(loaded.values()) >= 1
    pids = client.run(os.getpid)
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()

    # Files are read at each call: a file rewritten since gives its new embedding, not a result
    # Dask kept from the call before.
    before = siglip.dask.embed_images(good, TINY, client=client, **kwargs)
    shutil.copy(tiny.images[1], good[-1])
    again = siglip.dask.embed_images(good, TINY, client=client, **kwargs)
    np.testing.assert_array_equal(before.image_embeds[-1], single["image_embeds"][-1])
    np.testing.assert_array_equal(again.image_embeds[-1], single["image_embeds"][1])


def test_collect_with_every_file_broken(tmp_path):
    """No good file at all: empty embeddings, every path in errors (in-process, no cluster)."""
    records = siglip.dask.embed_partition([str(tmp_path / "a.png"), str(tmp_path / "b.png")],
                                          TINY, device=DEVICE, cache_dir=CACHE)
    result = siglip.dask.collect(records)
    assert result.image_embeds.shape == (2, 0) and not result.ok.any()
    assert len(result.errors) == 2
