"""Backbones: offline pretrained weights load strictly and classify a known photo sensibly."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from benchmark.train.models import create_backbone, normalization

# ImageNet classes 281-285 are the domestic cats (tabby, tiger cat, Persian, Siamese, Egyptian cat).
CAT_CLASSES = set(range(281, 286))


def test_efficientnet_lite0_offline_weights_see_a_cat():
    skimage_data = pytest.importorskip("skimage.data")
    model = create_backbone("tf_efficientnet_lite0", num_classes=1000, pretrained=True).eval()
    # reset_classifier(1000) re-initialises the head; reload the full checkpoint to test the ImageNet head
    model = _with_imagenet_head()
    img = torch.tensor(skimage_data.chelsea()).permute(2, 0, 1).float()[None] / 255  # (1, 3, H, W)
    img = F.interpolate(img, size=(224, 224), mode="bilinear", antialias=True, align_corners=False)
    mean, std = normalization(model)
    x = (img - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        top3 = model(x).softmax(1).topk(3).indices[0].tolist()
    assert set(top3) <= CAT_CLASSES, top3


def _with_imagenet_head():
    import timm

    from benchmark.train.models import WEIGHTS, _map_in_order

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    model.load_state_dict(_map_in_order(WEIGHTS.get("tf_efficientnet_lite0")(), model, "test"), strict=True)
    return model.eval()


def test_pretrained_backbone_differs_from_random_and_has_new_head():
    a = create_backbone("tf_efficientnet_lite0", num_classes=6, pretrained=True)
    b = create_backbone("tf_efficientnet_lite0", num_classes=6, pretrained=False)
    assert a.get_classifier().out_features == 6
    assert not torch.equal(a.conv_stem.weight, b.conv_stem.weight)


def test_local_checkpoint_and_unknown_offline_weights(tmp_path):
    src = create_backbone("resnet10t", num_classes=3, pretrained=False)
    path = tmp_path / "w.pth"
    torch.save(src.state_dict(), path)
    loaded = create_backbone("resnet10t", num_classes=3, checkpoint=str(path))
    assert all(torch.equal(p, q) for (k, p), (_, q) in zip(src.state_dict().items(), loaded.state_dict().items())
               if not k.startswith("fc."))
    with pytest.raises(KeyError, match="tf_efficientnet_lite0"):  # lists the names that have offline weights
        create_backbone("resnet10t", num_classes=3, pretrained=True)
    with pytest.raises(FileNotFoundError, match="model.checkpoint"):
        create_backbone("resnet10t", num_classes=3, checkpoint=str(tmp_path / "missing.pth"))


def test_probabilities_shape():
    from benchmark.train.loop import predict_probs

    m = create_backbone("resnet10t", num_classes=4, pretrained=False)
    p = predict_probs(m, torch.zeros(5, 3, 32, 32, dtype=torch.uint8), normalization(m))
    assert p.shape == (5, 4) and np.allclose(p.sum(1).numpy(), 1)


def test_offline_weights_refuse_a_checkpoint_that_does_not_line_up():
    import timm

    from benchmark.train.models import WEIGHTS, _map_in_order

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    sd = WEIGHTS.get("tf_efficientnet_lite0")()
    with pytest.raises(ValueError, match="checkpoint has 295 tensors; expected 296"):
        _map_in_order(dict(list(sd.items())[:-1]), model, "test")
    first = next(iter(sd))
    with pytest.raises(ValueError, match="mismatch"):
        _map_in_order({**sd, first: sd[first][:1]}, model, "test")


def test_local_checkpoint_wrapped_or_saved_under_ddp(tmp_path):
    src = create_backbone("resnet10t", num_classes=3, pretrained=False)
    body = {k: v for k, v in src.state_dict().items() if not k.startswith("fc.")}
    for i, blob in enumerate(({"state_dict": src.state_dict()}, {"model": src.state_dict()},
                              {f"module.{k}": v for k, v in src.state_dict().items()})):
        torch.save(blob, tmp_path / f"w{i}.pth")
        loaded = create_backbone("resnet10t", num_classes=5, checkpoint=str(tmp_path / f"w{i}.pth")).state_dict()
        assert all(torch.equal(v, loaded[k]) for k, v in body.items())
    torch.save(create_backbone("resnet18", num_classes=3, pretrained=False).state_dict(), tmp_path / "r18.pth")
    with pytest.raises(RuntimeError, match="size mismatch"):
        create_backbone("resnet10t", num_classes=3, checkpoint=str(tmp_path / "r18.pth"))
