"""Rebuild the real training data the project measures on from fetched git snapshots, never from the project's own
repository (issue 19, item 7: the data is public but not ours, so it is rebuilt, not committed): ArcGIS exports,
copied as published, and real overhead tiles labelled elsewhere (a COCO export), rewritten in the layout of ArcGIS'
PASCAL_VOC_rectangles export by the project's own writer.

Each export is pinned to a repository, a commit and the git tree id of its folder: the files written are the blobs of
that tree, each re-hashed on disk (git's blob SHA-1) and counted, so a rebuilt folder is byte for byte what the author
published (of a COCO set, its tiles' pixels and boxes are; the files are the writer's). A snapshot is a bare git
directory such as the agent tool ``fetch github:owner/name`` leaves under /work/.mirror/owner+name/repo (or ``git
clone --mirror https://github.com/owner/name``); a folder is written to a temporary name and renamed when complete, so
an earlier copy survives a failure.

    .venv/bin/python scripts/rebuild_real_data.py --list
    .venv/bin/python scripts/rebuild_real_data.py [--only phragmites_kitti] [--mirror GITDIR] [--out DIR]

Output: ``$AUTODL_REAL_DATA/<name>`` (default ../shared/data/real/<name>, where the tests and benchmarks look).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the COCO sets are written with the project's own writer
DEFAULT_OUT = Path(os.environ.get("AUTODL_REAL_DATA", REPO.parent / "shared" / "data" / "real"))
DEFAULT_MIRRORS = Path(os.environ.get("AUTODL_MIRRORS", "/work/.mirror"))
REGULAR_FILE_MODES = ("100644", "100755")


@dataclass(frozen=True)
class RealExport:
    """One ArcGIS export published in a public git repository, pinned to the exact bytes."""

    name: str  # folder written under the output root
    repo: str  # owner/name on GitHub
    commit: str  # full commit id holding the export
    folder: str  # the export's folder inside the repository at that commit
    tree: str  # git tree id of that folder: it fixes every file's content
    images: int  # chips under images/ (sidecars not counted)
    labels: int  # label files under labels/
    licence: str
    about: str

    def verify(self, git_dir: Path) -> list[Blob]:
        """The pinned folder's files, its tree id and counts checked against the snapshot."""
        blobs = tree_blobs(git_dir, self.name, self.commit, self.folder, self.tree)
        check_counts(self, blobs)
        return blobs

    def write(self, git_dir: Path, folder: Path) -> str:
        """Writes the export's files, as published, to ``folder``; returns what was written."""
        blobs = self.verify(git_dir)
        folder.mkdir()
        size = write_blobs(git_dir, blobs, folder)
        return (f"{self.name}: {len(blobs)} files ({self.images} chips, {self.labels} labels, {size / 1e6:.1f} MB) "
                f"from {self.repo}@{self.commit[:12]}:{self.folder}, every blob hash checked")


COCO_LABELS = "_annotations.coco.json"  # a Roboflow COCO split's labels, beside its tiles
TILE_NAME = re.compile(r"tile_(\d+)_(\d+)\.")  # a tile's row and column offsets in its mosaic, in pixels


@dataclass(frozen=True)
class CocoTiles:
    """Real overhead tiles cut from one mosaic, with box labels, published as a COCO export (Roboflow's) rather
    than by ArcGIS: written as a PASCAL_VOC_rectangles folder by TrainingDataWriter (PNG, so the JPEG's pixels are
    kept as decoded), one class, each tile georeferenced in a local grid of one unit a pixel at the offsets its
    original name gives, so that the split is spatial as for an ArcGIS export."""

    name: str
    repo: str
    commit: str
    folders: tuple[tuple[str, str], ...]  # (folder holding _annotations.coco.json and its tiles, its git tree id)
    category: int  # the COCO category id of the boxes kept
    class_name: str
    images: int
    boxes: int
    licence: str
    about: str

    def verify(self, git_dir: Path) -> list[tuple[str, list[Blob], dict]]:
        """Each pinned folder's files and COCO labels, tree ids and counts checked against the snapshot."""
        splits, images, boxes = [], 0, 0
        for path, tree in self.folders:
            blobs = tree_blobs(git_dir, self.name, self.commit, path, tree)
            labels = next((b for b in blobs if b.path.name == COCO_LABELS), None)
            if labels is None:
                raise RebuildError(f"{self.name}: {path} has no {COCO_LABELS}")
            coco = json.loads(git(git_dir, "cat-file", "blob", labels.sha))
            splits.append((path, blobs, coco))
            images += len(coco["images"])
            boxes += sum(1 for a in coco["annotations"] if a["category_id"] == self.category)
        if (images, boxes) != (self.images, self.boxes):
            raise RebuildError(f"{self.name}: the snapshot has {images} tiles and {boxes} boxes, expected "
                               f"{self.images} and {self.boxes}")
        return splits

    def write(self, git_dir: Path, folder: Path) -> str:
        from autodl_qgis.engine.data import PASCAL_VOC
        from autodl_qgis.engine.data.esri import ClassInfo
        from autodl_qgis.engine.data.labels import BoxLabel
        from autodl_qgis.engine.data.writer import TrainingDataWriter
        from osgeo import gdal

        gdal.UseExceptions()
        source = folder.parent / "source"
        tiles = []
        for index, (path, blobs, coco) in enumerate(self.verify(git_dir)):
            write_blobs(git_dir, [b for b in blobs if b.path.name != COCO_LABELS], source / str(index))
            boxes: dict[int, list] = {}  # each image's boxes of the kept category, grouped in one pass
            for a in coco["annotations"]:
                if a["category_id"] == self.category:
                    boxes.setdefault(a["image_id"], []).append(a["bbox"])
            for image in coco["images"]:
                original = image.get("extra", {}).get("name", image["file_name"])
                offsets = TILE_NAME.match(original)
                if offsets is None:
                    raise RebuildError(f"{self.name}: {path}/{image['file_name']}: no tile offsets in {original!r}")
                tiles.append((source / str(index) / image["file_name"], int(offsets[1]), int(offsets[2]),
                              boxes.get(image["id"], [])))
        classes = [ClassInfo(1, self.class_name, (255, 0, 0))]
        with TrainingDataWriter(folder, PASCAL_VOC, classes, image_format="png") as writer:
            for file, row, column, found in sorted(tiles, key=lambda t: (t[1], t[2])):
                pixels = gdal.Open(str(file)).ReadAsArray()
                xyxy = [(x, y, x + w, y + h) for x, y, w, h in found]
                writer.add(pixels, BoxLabel(np.asarray(xyxy, dtype=np.float64).reshape(-1, 4),
                                            np.ones(len(xyxy), dtype=np.int64)),
                           geotransform=(column, 1.0, 0.0, -row, 0.0, -1.0))
        shutil.rmtree(source)
        return (f"{self.name}: {len(tiles)} tiles, {self.boxes} boxes of {self.class_name} from "
                f"{self.repo}@{self.commit[:12]} ({', '.join(p for p, _ in self.folders)}), every blob hash checked, "
                f"written as PASCAL_VOC_rectangles")


# Searched for and not pinned (2026-12), so that the next search starts further on:
# - PhilipMathieu/unet-orthoimagery: four real Classified_Tiles exports (e.g. data/Image_Chips_128_overlap_balanced_dem:
#   640 chips of 128 px, 4-band, DEM in images2/, class 255), no licence; its snapshot (2.8 GB) exceeds what the fetch
#   tool brings (500 MB). Pinnable from a `git clone --mirror` made elsewhere.
# - lingxiao2333/Remote-Sensing-Image-Extraction-of-Cropland: its Classified_Tiles chips were force-pushed away; the
#   snapshot lacks those commits. Daremitsu1/Extracting-Building-Footprints-From-Drone-Data: metadata only.
# - DIGIT-Seine-Ouest/gpso-crosswalks-20cm: documents a 582-chip Classified_Tiles export; the chips live off GitHub.
# - The Kaggle "swimming pool and car detection" set (ArcGIS Pro 2.1 PASCAL_VOC, 224 px) has no copy with chips on
#   GitHub. Mr-LiuZong/plam holds the palm export's unseen test area: never fetch or use it.
# - Searched again 2026-12-05: majrblais/DrawingGUI (data/: a real export, but Export_Tiles, 12 tiles of 4000 px, no
#   labels); BehrouzSohrabi/Pascal-VOC-XML-to-YOLO-Keras-TXT (five ArcGIS Pro 2.1 PASCAL_VOC label files, no chips);
#   aman-gurjar-dev/CodeWizards (YOLO labels, not KITTI); loreabad6/Gullies (detected shapes only). The index finds
#   esri_accumulated_stats.json only by exact path; a GitHub code search by file name may find more.
# - Searched 2026-12-06: PhilipMathieu/unet-orthoimagery holds real ArcGIS Pro 3.1 Classified_Tiles exports
#   (data/Image_Chips_128_*: 640 chips of 128 px, 4-band orthophoto plus a DEM in images2/, knotweed as value 255),
#   but its snapshot is 2.8 GB, over what can be fetched here, and it states no licence; its layout is in
#   docs/formats.md and tests/test_data_readers.py.
# - Searched again later on 2026-12-06: gunnarshaug/SpaceArcheologyThesis (burial-mounds-detection-2023/: a real export
#   of burial mounds from LiDAR relief) is a 1.35 GB snapshot with its large files in Git LFS; code only in
#   maja-kucharczyk/roof-damage-assessment, majrblais/{Logging-Roads-Public, ExportDataArcgisPro, erosion_segmentation},
#   LinoSun/ArcGIS-Deeplearning-With-Pytorch, CollinCampagne/ArcGIS-Deep-Learning-Automation; not Esri layouts in
#   majrblais/RoadDetection, tongjin0521/18744-off-road. The index finds an export's files only by their exact path.
# - Searched again 2026-12-07 (exact paths esri_accumulated_stats.json, esri_model_definition.emd, images/000000000.*
#   and labels/000000000.* under ~30 parent folders; find_repos arcgis-learn variants): code only in
#   OterLabb/Mask_RCNN, spgriffin/land_cover, ElathaThon/ArcGIS-Pro-Deep-Learning, DesarrolladoresEsri/GeoAI. Untried:
#   forks of the repositories above, and folder names such as Image_Chips, TrainingChips, 训练样本, muestras.
# - Searched again later on 2026-12-07: esri_model_definition.emd / esri_accumulated_stats.json / labels/000000000.xml
#   under ~60 more folders (Image_Chips, chips, training_data, TrainingSamples, samples, export, dataset, tiles,
#   训练样本, 样本, trees, palm, buildings, pools, solar, wellpads, ...), repositories of majrblais,
#   maxwell-geospatial (topoDL: code and tables only), libertadcc, gdenis82, yuriya-dev/palm-tree-detection: nothing
#   new. The text indexes do not hold .emd, esri_accumulated_stats.json, map.txt or label .xml files: an export is
#   found only by its exact path.
# - Searched 2026-12-07 (night) for real overhead tiles with box labels in any layout: NarimT/Computer-Vision-Project
#   (pinned below, CC0; its oil_palm_coco_v2/train labels are missing from the fetched snapshot);
#   CATS-Lab/Field-data-Drone-View-Vehicle-Image-Set (1393 drone frames of cars on one street, VOC, no licence, frames
#   of two videos: near-copies); jekhor/aerial-cars-dataset (mixed sources and licences); liaoxuanzhi/VEDAI
#   (annotations only); jonathanventura/urban-tree-detection-data (points, not boxes).
EXPORTS = (
    RealExport(
        name="phragmites_kitti",
        repo="greglee1905/Phragmites_australis_Classification",
        commit="9ff3952fd2ba1e85c7843753e90c16bc50b98896",
        folder="train",
        tree="fd36dd3d33bcf4172bb92cfeefe256385709fce5",
        images=50,
        labels=50,
        licence="none stated (the repository has no licence file)",
        about="KITTI_rectangles export of 6-band UInt16 sUAS GeoTIFF chips (32 x 32 px, EPSG:4326), one box per chip, "
              "7 wetland classes; the authors uploaded 50 of the 306 chips their map.txt lists. Old-style .emd "
              "template without MetaDataMode (the format is in esri_accumulated_stats.json).",
    ),
    CocoTiles(
        name="oil_palm_drone_coco",
        repo="NarimT/Computer-Vision-Project",
        commit="e48c8914f74d9ff4f6fa3d7b0e70fc76cf54dfc9",
        folders=(("cv_project/03_datasets/oil_palm_coco_v2/valid", "c2dbb50c7a48ce763d9f92280ef5d290f93cb125"),
                 ("cv_project/03_datasets/oil_palm_coco_v2/test", "1b2660afeff64463bd9a48331862e29e86ca07a9")),
        category=1,
        class_name="OilPalm",
        images=204,
        boxes=26483,
        licence="Public Domain (CC0 1.0), as its Roboflow export states (README.dataset.txt, the COCO licenses field)",
        about="Roboflow COCO export of 512 x 512 px RGB JPEG tiles of a drone orthomosaic of an oil palm plantation, "
              "cut with overlap, one box per palm crown (about 45 px, ~130 a tile). Not written by ArcGIS. Its train "
              "split's labels are missing from the fetched snapshot (the largest files are left out), so the "
              "valid and test splits are used, 204 tiles scattered over the mosaic; their names give each tile's "
              "offsets, written as world files in a local pixel grid.",
    ),
)


class RebuildError(Exception):
    """A problem with the input (snapshot, export or output folder), reported as one line."""


def git(git_dir: Path, *args: str, data: bytes | None = None) -> bytes:
    result = subprocess.run(["git", f"--git-dir={git_dir}", *args], input=data, capture_output=True, check=False)
    if result.returncode:
        raise RebuildError(f"git {' '.join(args)} in {git_dir}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def has_commit(git_dir: Path, commit: str) -> bool:
    if not (git_dir / "objects").is_dir():
        return False
    probe = subprocess.run(["git", f"--git-dir={git_dir}", "cat-file", "-e", f"{commit}^{{commit}}"],
                           capture_output=True, check=False)
    return probe.returncode == 0


def find_snapshot(export: RealExport, mirrors: list[Path], mirror_root: Path) -> Path:
    """The first given git directory holding the export's commit, else the fetch tool's usual place for it."""
    owner, name = export.repo.split("/")
    candidates = [*mirrors, mirror_root / f"{owner}+{name}" / "repo", mirror_root / f"{owner}+{name}"]
    for git_dir in candidates:
        if has_commit(git_dir, export.commit):
            return git_dir
    raise RebuildError(f"{export.name}: no snapshot holding commit {export.commit[:12]} of {export.repo} (looked in "
                       f"{', '.join(map(str, candidates))}); fetch github:{export.repo} or "
                       f"`git clone --mirror https://github.com/{export.repo}` and pass --mirror")


@dataclass(frozen=True)
class Blob:
    path: PurePosixPath  # relative to the export folder
    sha: str


def tree_blobs(git_dir: Path, name: str, commit: str, folder: str, expected: str) -> list[Blob]:
    """The files of ``folder`` at ``commit``, which must be tree ``expected``; refuses links, submodules and paths
    leaving the folder."""
    tree = git(git_dir, "rev-parse", f"{commit}:{folder}").decode().strip()
    if tree != expected:
        raise RebuildError(f"{name}: {commit[:12]}:{folder} is tree {tree}, expected {expected}; the snapshot "
                           f"differs from the one this script pins")
    blobs = []
    for entry in git(git_dir, "ls-tree", "-r", "-z", tree).split(b"\0"):
        if not entry:
            continue
        meta, raw_path = entry.split(b"\t", 1)
        mode, kind, sha = meta.decode().split()
        path = PurePosixPath(raw_path.decode())
        if kind != "blob" or mode not in REGULAR_FILE_MODES or path.is_absolute() or ".." in path.parts:
            raise RebuildError(f"{name}: refusing {kind} {mode} {path} (only plain files inside the folder)")
        blobs.append(Blob(path, sha))
    return blobs


def count(blobs: list[Blob], top: str, suffixes: tuple[str, ...] | None = None) -> int:
    return sum(1 for b in blobs if b.path.parts[0] == top and (suffixes is None or b.path.suffix.lower() in suffixes))


def check_counts(export: RealExport, blobs: list[Blob]) -> None:
    images = count(blobs, "images", (".tif", ".tiff", ".jpg", ".jpeg", ".png", ".mrf"))
    labels = count(blobs, "labels")
    if (images, labels) != (export.images, export.labels):
        raise RebuildError(f"{export.name}: the snapshot has {images} chips and {labels} labels, expected "
                           f"{export.images} and {export.labels}")


def blob_sha(content: bytes) -> str:
    """git's object id of a file's content."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def write_blobs(git_dir: Path, blobs: list[Blob], target: Path) -> int:
    """Writes every blob under ``target`` (one `git cat-file --batch`), then re-hashes each file on disk."""
    stream = git(git_dir, "cat-file", "--batch", data="".join(f"{b.sha}\n" for b in blobs).encode())
    offset, written = 0, 0
    for blob in blobs:
        header_end = stream.index(b"\n", offset)
        sha, kind, size = stream[offset:header_end].decode().split()
        start, size = header_end + 1, int(size)
        if sha != blob.sha or kind != "blob":
            raise RebuildError(f"git returned {kind} {sha} for {blob.path}, expected blob {blob.sha}")
        path = target.joinpath(*blob.path.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(stream[start:start + size])
        offset, written = start + size + 1, written + size
    for blob in blobs:
        on_disk = blob_sha(target.joinpath(*blob.path.parts).read_bytes())
        if on_disk != blob.sha:
            raise RebuildError(f"{blob.path}: written file hashes to {on_disk}, expected {blob.sha}")
    return written


def rebuild(export: RealExport | CocoTiles, git_dir: Path, out_root: Path) -> str:
    """Writes the export under a temporary name beside ``out_root / export.name`` and renames it when complete."""
    out_root.mkdir(parents=True, exist_ok=True)
    target = out_root / export.name
    staging = Path(tempfile.mkdtemp(prefix=f".{export.name}.", dir=out_root))
    try:
        summary = export.write(git_dir, staging / export.name)
        (staging / export.name).chmod(0o755)  # a temporary folder's 0700 would hide the data from the other users
        if target.exists():
            previous = Path(tempfile.mkdtemp(prefix=f".{export.name}.old.", dir=out_root))
            target.rename(previous / export.name)
            (staging / export.name).rename(target)
            shutil.rmtree(previous)
        else:
            (staging / export.name).rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return f"{summary} -> {target}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="rebuild these exports (default: all)")
    parser.add_argument("--mirror", type=Path, action="append", default=[], metavar="GITDIR",
                        help="a bare git directory (or clone's .git) to look in first; repeatable")
    parser.add_argument("--mirror-root", type=Path, default=DEFAULT_MIRRORS,
                        help="where fetched snapshots live as owner+name/repo (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output root (default: %(default)s)")
    parser.add_argument("--list", action="store_true", help="list the pinned exports and exit")
    args = parser.parse_args(argv)

    if args.list:
        for e in EXPORTS:
            where = getattr(e, "folder", None) or ", ".join(folder for folder, _ in e.folders)
            print(f"{e.name}: {e.repo}@{e.commit}:{where} -- {e.images} chips; licence: {e.licence}\n  {e.about}")
        return 0
    known = {e.name: e for e in EXPORTS}
    unknown = sorted(set(args.only or ()) - set(known))
    if unknown:
        print(f"error: unknown export(s) {', '.join(unknown)}; choose from {', '.join(known)}", file=sys.stderr)
        return 2
    try:
        for export in (known[n] for n in args.only) if args.only else EXPORTS:
            print(rebuild(export, find_snapshot(export, args.mirror, args.mirror_root), args.out))
    except (RebuildError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
