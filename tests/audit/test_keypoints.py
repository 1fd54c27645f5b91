"""The keypoint and defect-patch detectors' building blocks (benchmark/audit/keypoints.py, patches.py)."""
from __future__ import annotations

import numpy as np
from PIL import Image

from benchmark.audit.keypoints import KP_VERSION, ReferenceIndex, cached_keypoints, keypoints
from benchmark.audit.patches import DefectPatches, best_ncc


def _texture(seed: int, size=(96, 128)) -> Image.Image:
    rng = np.random.default_rng(seed)
    a = np.kron(rng.random((size[0] // 4, size[1] // 4)), np.ones((4, 4))) * 200 + 20
    return Image.fromarray(a.astype(np.uint8)).convert("RGB")


def test_cached_keypoints_round_trip_and_reuse(tmp_path):
    p = tmp_path / "a.png"
    _texture(0).save(p)
    fresh = keypoints(Image.open(p).convert("RGB"))
    first = cached_keypoints(p, tmp_path / "cache")
    files = list((tmp_path / "cache" / "audit_keypoints" / KP_VERSION).rglob("*.npy"))
    assert len(files) == 1
    again = cached_keypoints(p, tmp_path / "cache")  # read back from the cache
    for got in (first, again):
        assert got["shape"] == tuple(fresh["shape"]) and abs(got["f"] - fresh["f"]) < 1e-6
        for (p0, d0), (p1, d1) in zip(fresh["views"], got["views"]):
            np.testing.assert_allclose(p1, p0, atol=1e-4)
            np.testing.assert_allclose(d1, d0, atol=1e-4)
    files[0].write_bytes(b"not an array")  # a corrupt cache entry is recomputed, not trusted
    assert len(cached_keypoints(p, tmp_path / "cache")["views"][0][0]) == len(fresh["views"][0][0])


def test_a_rotated_copy_verifies_and_a_distinct_texture_does_not():
    ref = [keypoints(_texture(s)) for s in (1, 2, 3)]
    index = ReferenceIndex(ref)
    copy = keypoints(_texture(2).rotate(7, resample=Image.Resampling.BILINEAR))
    m = index.match(copy["views"])
    assert m["idx"] == 1 and m["inliers"] >= 20
    assert index.match(keypoints(_texture(9))["views"])["inliers"] < 4


def test_flat_windows_never_count_as_a_pasted_defect():
    # TM_CCOEFF_NORMED is 0/0 on a flat window and OpenCV answers 1.0: a blank image must not "contain" a defect
    patch = np.asarray(_texture(4).convert("L"), np.float32)[10:30, 20:44]
    blank = np.full((96, 128), 128, np.float32)
    assert best_ncc(blank, patch)[0] < 0.5
    masks = [np.zeros((96, 128), bool)]
    masks[0][12:26, 22:40] = True
    patches = DefectPatches([_texture(4)], masks)
    assert patches.match(Image.fromarray(blank.astype(np.uint8)))[0] < 0.5


def test_a_pasted_defect_is_verified_at_native_resolution():
    # a large reference image (coarse search at 128 / 512 = 0.25) and a thin defect pasted at an odd offset:
    # at the coarse scale its correlation drops with the resampling phase; at native resolution it is 1.0
    rng = np.random.default_rng(5)
    big = (rng.random((512, 512)) * 60 + 100).astype(np.uint8)
    big[200:203, 150:330] = 20  # a thin dark crack
    big[203:260, 300:303] = 30
    mask = np.zeros((512, 512), bool)
    mask[198:262, 148:332] = True
    ref = Image.fromarray(big).convert("RGB")
    others = [Image.fromarray((rng.random((512, 512)) * 60 + 100).astype(np.uint8)).convert("RGB") for _ in range(2)]
    patches = DefectPatches([ref, *others], [mask, None, None])
    host = np.asarray(others[0].convert("L")).copy()
    cut = big[195:265, 145:335]
    host[37:37 + cut.shape[0], 101:101 + cut.shape[1]] = cut  # offset 37, 101: not a multiple of 1 / 0.25
    v, i = patches.match(Image.fromarray(host).convert("RGB"))
    assert i == 0 and v > 0.999
    assert patches.match(others[1])[0] < 0.9  # the host without the paste


def _ambiguous_refs_and_queries():
    """Look-alike references (one base texture, a little noise each) and noisy crops of them: many descriptors with
    near-tied neighbours, where approximate (FLANN) search and RANSAC's draws decide the counts."""
    rng = np.random.default_rng(11)
    base = np.asarray(_texture(3, (192, 256)).convert("L"), np.float32)
    refs = [Image.fromarray(np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)).convert("RGB")
            for _ in range(8)]
    queries = [Image.fromarray(np.clip(np.asarray(r.convert("L"), np.float32)[20:180, 30:240]
                                       + rng.normal(0, 40, (160, 210)), 0, 255).astype(np.uint8)).convert("RGB")
               for r in refs[:6]]
    return [keypoints(r) for r in refs], [keypoints(q)["views"] for q in queries]


def test_a_match_depends_on_the_references_and_the_query_only():
    """OpenCV's global RNG draws FLANN's randomised kd-trees and RANSAC's samples. Unseeded, an image's inlier
    count (so whether the audit flags it) depended on what the process had matched before: on Magnetic Tile one
    synthetic image verified 5, 6 or 7 inliers against rebuilt indexes of the same test images, and flagged or
    not depending on the other images of its set."""
    import cv2

    refs, queries = _ambiguous_refs_and_queries()
    runs = []
    for k in range(4):
        cv2.setRNGSeed(1000 + k)  # another history of the process's RNG before the index is built
        index = ReferenceIndex(refs)
        order = list(range(len(queries)))[::(-1) ** k]  # and another order of the queries
        got = {i: index.match(queries[i]) for i in order}
        runs.append([got[i] for i in range(len(queries))])
    assert all(r == runs[0] for r in runs[1:])
    assert any(m["inliers"] > 0 for m in runs[0])  # the queries do verify: the counts compared are real ones
