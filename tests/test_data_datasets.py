"""Statistics, the train/validation split, torch datasets and augmentations that keep labels with the image."""
import json
import math
import shutil

import numpy as np
import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from autodl_qgis.engine.data import CLASSIFIED_TILES, PASCAL_VOC, RCNN_MASKS, TrainingData
from autodl_qgis.engine.data.augment import Mosaic, RandomTranspose, build_augmentation
from autodl_qgis.engine.data.dataset import ChipDataset, make_datasets
from autodl_qgis.engine.data.esri import read_export_metadata


def test_band_statistics_from_the_export_match_the_chips(synthetic):
    data = TrainingData.open(synthetic(CLASSIFIED_TILES, bands=4, dtype="uint16"))
    declared = data.band_statistics
    assert declared.source.endswith("AllTilesStats") and len(declared.mean) == 4
    computed = data._compute_band_statistics()  # all 8 chips are within the sample
    np.testing.assert_allclose(declared.mean, computed.mean, rtol=1e-6)
    np.testing.assert_allclose(declared.std, computed.std, rtol=1e-4)
    assert declared.max == computed.max


def test_band_stats_state_reads_sum_of_squares_and_welford_m2(tmp_path, synthetic):
    folder = tmp_path / "d"
    shutil.copytree(synthetic(PASCAL_VOC), folder)
    emd = json.loads((folder / "esri_model_definition.emd").read_text())
    del emd["AllTilesStats"]
    (folder / "esri_model_definition.emd").write_text(json.dumps(emd))
    stats = json.loads((folder / "esri_accumulated_stats.json").read_text())
    # band 1: values with mean 100, std 10 over 1000 pixels, as a sum of squares; band 2 as Welford's M2
    stats["BandStatsState"] = [
        {"Min": 0, "Max": 255, "M1": 100_000.0, "M2": 1000 * (100.0 ** 2 + 10.0 ** 2), "Num": 1000},
        {"Min": 0, "Max": 255, "M1": 100_000.0, "M2": 1000 * 10.0 ** 2, "Num": 1000},
        {"Min": 0, "Max": 255, "M1": 0.0, "M2": 0.0, "Num": 1000},
    ]
    (folder / "esri_accumulated_stats.json").write_text(json.dumps(stats))
    got = read_export_metadata(folder).band_statistics
    assert got.mean[:2] == pytest.approx((100.0, 100.0)) and got.std[:2] == pytest.approx((10.0, 10.0))


def test_detection_dataset_yields_normalised_tensors_and_index_labels(synthetic):
    data = TrainingData.open(synthetic(PASCAL_VOC, num_classes=3, num_chips=12))
    train, val = make_datasets(data)
    assert len(val) >= 1 and 10 <= len(train) + len(val) < 12  # the chips abut: those touching validation are left out
    image, target = val[0]
    assert image.dtype == torch.float32 and image.shape == (3, 64, 64)
    assert abs(float(image.mean())) < 2 and target["boxes"].shape[1] == 4
    assert target["labels"].min() >= 1 and target["labels"].max() <= 3
    label = data.read_label_values(data.chips[val.indices[0]])
    np.testing.assert_allclose(target["boxes"].numpy(), label.boxes)  # validation chips are not augmented
    images, targets = train.collate_fn([train[0], train[1]])
    assert images.shape == (2, 3, 64, 64) and isinstance(targets, list)


def test_pixel_dataset_maps_class_values_to_indices(tmp_path):
    from autodl_qgis.engine.data import ClassInfo
    from autodl_qgis.engine.data.labels import PixelLabel
    from autodl_qgis.engine.data.writer import TrainingDataWriter

    classes = [ClassInfo(5, "water", (0, 0, 255)), ClassInfo(9, "forest", (0, 128, 0))]
    values = np.zeros((16, 16), np.int64)
    values[:4] = 5
    values[-4:] = 9
    with TrainingDataWriter(tmp_path / "w", CLASSIFIED_TILES, classes) as writer:
        for _ in range(3):
            writer.add(np.full((3, 16, 16), 7, np.uint8), PixelLabel(values))
    train, _ = make_datasets(TrainingData.open(tmp_path / "w"), augment=False)
    _, target = train[0]
    assert target.dtype == torch.int64 and set(target.unique().tolist()) == {0, 1, 2}
    assert (target[:4] == 1).all() and (target[-4:] == 2).all() and (target[6] == 0).all()


def _mask_boxes(masks: torch.Tensor) -> list[list[float]]:
    boxes = []
    for mask in masks:
        ys, xs = torch.nonzero(mask, as_tuple=True)
        boxes.append([xs.min().item(), ys.min().item(), xs.max().item() + 1, ys.max().item() + 1])
    return boxes


def test_augmentation_moves_boxes_with_instance_masks_and_pixels(synthetic):
    data = TrainingData.open(synthetic(RCNN_MASKS))
    augment = build_augmentation("object_detection", (64, 64), 3, "uint8", strength=0.0)  # exact geometry only
    label = data.read_label_values(data.chips[0])
    image = tv_tensors.Image(torch.from_numpy(data.read_image(0)))
    marker = torch.zeros(1, 64, 64, dtype=torch.uint8)
    marker[0, :, :] = torch.from_numpy(label.masks.any(0).astype(np.uint8))
    for seed in range(24):
        torch.manual_seed(seed)
        target = {"boxes": tv_tensors.BoundingBoxes(torch.from_numpy(label.boxes), format="XYXY",
                                                    canvas_size=(64, 64)),
                  "labels": torch.from_numpy(label.values),
                  "masks": tv_tensors.Mask(torch.from_numpy(label.masks.astype(np.uint8)))}
        out_marker, out = augment(tv_tensors.Image(marker), target)
        assert out["boxes"].tolist() == _mask_boxes(out["masks"])
        assert torch.equal(out["masks"].any(0), out_marker[0].bool())  # masks moved exactly like the pixels
    del image


@pytest.mark.parametrize("mosaic", [0.0, 1.0], ids=["chips", "mosaics"])
def test_augmentation_with_zoom_keeps_boxes_inside_masks(synthetic, mosaic):
    data = TrainingData.open(synthetic(RCNN_MASKS, num_chips=8))
    train, _ = make_datasets(data, seed=1, mosaic=mosaic)
    for seed in range(16):
        torch.manual_seed(seed)
        _, target = train[seed % len(train)]
        assert len(target["boxes"]) == len(target["labels"]) == len(target["masks"])
        # resampling may round mask edges by a pixel (a mosaic resamples twice: its rescale, then the zoom of up to
        # 2x enlarges the first rounding); boxes must still frame their own mask
        tolerance = 3.0 if mosaic else 1.5
        for box, mask_box in zip(target["boxes"].tolist(), _mask_boxes(target["masks"])):
            assert all(abs(a - b) <= tolerance for a, b in zip(box, mask_box))


def test_pixel_space_imagery_gets_no_vertical_flips_or_rotations():
    ops = build_augmentation("pixel_classification", (64, 64), 3, "uint8", image_space="PIXEL_SPACE").transforms
    assert not any(isinstance(op, (v2.RandomVerticalFlip, RandomTranspose)) for op in ops)
    ops = build_augmentation("pixel_classification", (64, 64), 3, "uint8").transforms
    assert any(isinstance(op, RandomTranspose) for op in ops)
    # non-square chips cannot be transposed in place
    ops = build_augmentation("pixel_classification", (64, 32), 3, "uint8").transforms
    assert not any(isinstance(op, RandomTranspose) for op in ops)


def test_lighting_changes_only_8_bit_rgb(synthetic):
    def has_jitter(bands, dtype):
        return any(isinstance(op, v2.ColorJitter)
                   for op in build_augmentation("object_detection", (64, 64), bands, dtype).transforms)

    assert has_jitter(3, "uint8") and not has_jitter(4, "uint16") and not has_jitter(6, "uint8")
    # geometry-only augmentation of 16-bit multispectral chips keeps every pixel value
    data = TrainingData.open(synthetic(CLASSIFIED_TILES, bands=4, dtype="uint16"))
    augment = build_augmentation("pixel_classification", (64, 64), 4, "uint16", strength=0.0)
    image = torch.from_numpy(data.read_image(0).astype(np.float32))
    for seed in range(8):
        torch.manual_seed(seed)
        out, _ = augment(tv_tensors.Image(image), tv_tensors.Mask(torch.zeros(64, 64, dtype=torch.int64)))
        assert torch.equal(out.flatten().sort().values, image.flatten().sort().values)


@pytest.mark.parametrize("mosaic", [0.0, 1.0], ids=["chips", "mosaics"])
def test_tile_masks_follow_the_image_through_zoom_and_flips(synthetic, mosaic):
    data = TrainingData.open(synthetic(CLASSIFIED_TILES, bands=4, dtype="uint16"))  # no lighting changes
    train, _ = make_datasets(data, mosaic=mosaic)  # mosaics: the zero padding is dark background in both
    train.mean = torch.zeros_like(train.mean)
    train.std = torch.ones_like(train.std)
    for seed in range(12):
        torch.manual_seed(seed)
        image, target = train[seed % len(train)]
        # objects are much brighter than the background: where the mask says "object", the image is bright
        bright = image.mean(0) > 1800
        objects = target > 0
        agree = (bright == objects).float().mean()
        # a mosaic's rescale, then the zoom, blur the objects' edges more (masks stay sharp); a mask that did not
        # move with its pixels agrees on 73-94 % (83 % on average)
        assert agree > (0.95 if mosaic else 0.97), f"seed {seed}: mask and image agree on only {agree:.1%} of pixels"


def _painted_sources(data: TrainingData) -> list:
    """The first four chips as mosaic sources: a one-band image painted k + 1 inside chip k's boxes (0 elsewhere),
    each box labelled k + 1, so an output box says which chip it came from and the pixels whether they did."""
    samples = []
    for k in range(4):
        label = data.read_label_values(data.chips[k])
        paint = torch.zeros(1, *data.chip_size)
        for x0, y0, x1, y1 in label.boxes.astype(int):
            paint[0, y0:y1, x0:x1] = k + 1
        samples.append((tv_tensors.Image(paint),
                        {"boxes": tv_tensors.BoundingBoxes(torch.from_numpy(label.boxes), format="XYXY",
                                                           canvas_size=data.chip_size),
                         "labels": torch.full((len(label.boxes),), k + 1)}))
    return samples


def test_mosaic_boxes_cover_the_pixels_of_their_source_boxes(synthetic):
    data = TrainingData.open(synthetic(PASCAL_VOC, num_chips=8))
    samples = _painted_sources(data)
    mosaic = Mosaic("object_detection", data.chip_size)
    sources_seen = set()
    for seed in range(16):
        torch.manual_seed(seed)
        image, target = mosaic(samples)
        assert image.shape == (1, 64, 64) and target["boxes"].canvas_size == (64, 64)
        boxes, labels = target["boxes"], target["labels"]
        assert len(boxes) == len(labels) and len(boxes) > 0
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= 64).all() and (boxes[:, 3] <= 64).all()
        assert ((boxes[:, 2:] - boxes[:, :2]) >= 1).all()  # sanitized: nothing thinner than a pixel
        painted = image[0]
        covered = torch.zeros(64, 64, dtype=torch.bool)
        for (x0, y0, x1, y1), k in zip(boxes.tolist(), labels.tolist()):
            inside = painted[round(y0):round(y1), round(x0):round(x1)]
            covered[round(y0):round(y1), round(x0):round(x1)] = True
            assert ((inside - k).abs() < 0.5).any(), f"seed {seed}: box {k} covers none of its chip's box pixels"
            # the rescale blends a pixel either side of the edge
            core = painted[math.ceil(y0) + 1:math.floor(y1) - 1, math.ceil(x0) + 1:math.floor(x1) - 1]
            assert ((core - k).abs() < 0.01).all(), f"seed {seed}: box {k} covers pixels of no box of its chip"
        # and the boxes still frame what was painted (its unblended pixels): only slivers a quadrant edge cut under
        # a pixel wide may be dropped
        painted_pixels = (painted > 0.5) & ((painted - painted.round()).abs() < 0.01)
        assert (covered & painted_pixels).sum() >= 0.95 * painted_pixels.sum()
        sources_seen |= set(labels.tolist())
    assert sources_seen == {1, 2, 3, 4}


def test_mosaic_moves_instance_masks_with_the_pixels(synthetic):
    data = TrainingData.open(synthetic(RCNN_MASKS, num_chips=8))
    samples = []
    for k in range(4):
        label = data.read_label_values(data.chips[k])
        masks = torch.from_numpy(label.masks.astype(np.uint8))
        samples.append((tv_tensors.Image(masks.any(0, keepdim=True).float()),
                        {"boxes": tv_tensors.BoundingBoxes(torch.from_numpy(label.boxes), format="XYXY",
                                                           canvas_size=(64, 64)),
                         "labels": torch.from_numpy(label.values), "masks": tv_tensors.Mask(masks)}))
    mosaic = Mosaic("object_detection", (64, 64))
    for seed in range(12):
        torch.manual_seed(seed)
        image, target = mosaic(samples)
        assert target["masks"].shape == (len(target["boxes"]), 64, 64) == (len(target["labels"]), 64, 64)
        agree = ((image[0] > 0.5) == target["masks"].any(0)).float().mean()
        assert agree > 0.97, f"seed {seed}: the masks and the pixels agree on only {agree:.1%}"
        for box, mask_box in zip(target["boxes"].tolist(), _mask_boxes(target["masks"])):
            assert all(abs(a - b) <= 1.5 for a, b in zip(box, mask_box))


class _CountingReads:
    """A TrainingData that counts the chips read."""

    def __init__(self, data):
        self.data, self.reads = data, 0

    def __getattr__(self, name):
        return getattr(self.data, name)

    def read_image(self, i):
        self.reads += 1
        return self.data.read_image(i)


def test_mosaic_off_reads_one_chip_and_on_reads_four(synthetic):
    data = _CountingReads(TrainingData.open(synthetic(PASCAL_VOC, num_chips=8)))
    plain = ChipDataset(data, list(range(8)))
    for mosaic, reads in ((0.0, 1), (1.0, 4)):
        dataset = ChipDataset(data, list(range(8)), mosaic=mosaic)
        data.reads = 0
        image, target = dataset[3]
        assert data.reads == reads and image.shape == (3, 64, 64)
        if mosaic == 0.0:  # p = 0 is the chip itself, untouched
            expected_image, expected = plain[3]
            assert torch.equal(image, expected_image) and torch.equal(target["boxes"], expected["boxes"])
        else:  # its chips without mosaics read one chip a sample; the dataset itself keeps its mosaics
            data.reads = 0
            assert dataset.without_mosaic()[3][0].shape == (3, 64, 64) and data.reads == 1
            assert dataset.mosaic == 1.0 and dataset.without_mosaic().augment is dataset.augment


def test_mosaic_is_for_training_chips_and_scales_with_the_strength(synthetic):
    data = TrainingData.open(synthetic(PASCAL_VOC, num_chips=8))
    train, val = make_datasets(data, mosaic=0.5)
    assert train.mosaic == 0.5 and val.mosaic == 0.0
    train, _ = make_datasets(data, mosaic=0.5, strength=0.5)
    assert train.mosaic == 0.25  # ADVANCED's tuning of the strength tunes the mosaic too
    train, _ = make_datasets(data, mosaic=0.5, augment=False)
    assert train.mosaic == 0.0 and train.augment is None
