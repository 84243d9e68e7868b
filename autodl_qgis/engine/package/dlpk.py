"""``.dlpk`` deep-learning packages: a zip of the model folder (one .emd, the weights, leaderboard, report).

Writing is atomic (a temporary name renamed when complete). Reading treats the package as untrusted data: entries
are checked before anything is extracted (no absolute paths, no ``..``, no links, bounded sizes), weights load as
tensors only (safetensors, or ``torch.load(weights_only=True)``), and nothing in the package is ever executed.
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import torch

from ..data.esri import MAX_JSON_BYTES, ClassInfo, parse_json, read_json
from ..data.raster import check_path_name
from ..detection_matching import DEFAULT_CONFIDENCE
from ..errors import InputDataError
from .emd import validate_model_definition

if TYPE_CHECKING:
    from .export import GraphExport

MAX_ENTRIES = 10_000
MAX_TOTAL_BYTES = 6 * 2 ** 30  # the largest weights (a ViT-H encoder, 2.5 GB) twice (safetensors and ONNX)
MAX_COMPRESSION_RATIO = 200  # beyond this an entry is treated as a zip bomb
FIX = "Use a .dlpk written by Train Using AutoDL for QGIS"


def write_package(out_path: str | os.PathLike, emd: dict, state_dict: dict[str, torch.Tensor],
                  extra_files: dict[str, bytes] | None = None, portable: bool = True) -> Path:
    """Writes ``out_path`` (.dlpk) atomically: an existing file is replaced only once the new one is complete.
    ``portable``: with the ArcGIS Pro inference function and the network's ONNX graph (see export.py), so the
    package runs without this plugin; the export's outcome and time are recorded in ``AutoDL.exports``."""
    from safetensors.torch import save as save_safetensors

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()}
    portable_files = {}
    if portable:
        from .export import FUNCTION_FILE, package_files

        portable_files, export = package_files(emd, tensors)
        emd = {**emd, "InferenceFunction": FUNCTION_FILE, "AutoDL": {**emd["AutoDL"], "exports": export.as_dict()}}
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{out_path.stem}.emd", json.dumps(emd, indent=2, default=_json_default))
            archive.writestr(zipfile.ZipInfo(emd["ModelFile"]), save_safetensors(tensors), zipfile.ZIP_STORED)
            for name, data in [*portable_files.items(), *(extra_files or {}).items()]:
                archive.writestr(name, data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's private mode is not what a shared model file needs
        os.replace(tmp, out_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out_path


def _json_default(value):
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _check_entries(archive: zipfile.ZipFile, path: Path) -> list[zipfile.ZipInfo]:
    entries = archive.infolist()
    if len(entries) > MAX_ENTRIES:
        raise InputDataError(f"holds {len(entries)} entries (more than {MAX_ENTRIES})", path, FIX)
    total = 0
    files = set()
    folders = set()
    for info in entries:
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
            raise InputDataError(f"has an entry that would be written outside its folder ({name!r}); it was not "
                                 "extracted", path, FIX)
        if not parts or name.replace("\\", "/").split("/")[0] == "." or \
                any(len(p.encode("utf-8", "surrogateescape")) > 255 for p in parts):
            raise InputDataError(f"has an entry with a name no folder can hold ({name[:60]!r}"
                                 f"{'...' if len(name) > 60 else ''})", path, FIX)
        (folders if info.is_dir() else files).add(PurePosixPath(*parts))
        folders.update(PurePosixPath(*parts).parents)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise InputDataError(f"has a symbolic link entry ({name!r}); it was not extracted", path, FIX)
        total += info.file_size
        if info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO:
            raise InputDataError(f"entry {name!r} expands {info.file_size // info.compress_size}-fold (a zip bomb?)",
                                 path, FIX)
    both = files & folders
    if both:
        raise InputDataError(f"has an entry that is both a file and a folder ({str(min(both))!r})", path, FIX)
    if total > MAX_TOTAL_BYTES:
        raise InputDataError(f"would expand to {total / 2 ** 30:.1f} GiB (a model needs at most "
                             f"{MAX_TOTAL_BYTES / 2 ** 30:.0f})", path, FIX)
    return entries


def _copy_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """One entry to ``target``, never more bytes than it declares (zipfile stops there and checks the CRC)."""
    with archive.open(info) as source, open(target, "wb") as out:
        shutil.copyfileobj(source, out)


@dataclass
class ModelPackage:
    """A model definition and its weights, from a .dlpk (read in place: only the entries a command needs are read,
    the weights extracted for the moment they are loaded) or a .emd beside its weights file."""

    path: Path
    emd: dict
    classes: list[ClassInfo]
    weights_entry: zipfile.ZipInfo | None = None  # in a .dlpk; None for a .emd
    emd_folder: str = ""  # in a .dlpk: the folder of the .emd, where its other files are
    _folder: tempfile.TemporaryDirectory | None = field(default=None, repr=False)  # every entry (folder)
    _entries: tempfile.TemporaryDirectory | None = field(default=None, repr=False)  # single entries (file)

    @property
    def info(self) -> dict:
        return self.emd["AutoDL"]

    @property
    def exports(self) -> GraphExport | None:
        """What exporting the network's graph gave when the package was written (the graph files, or why there
        are none); None for a package written before exports were recorded."""
        from .export import GraphExport  # with torchvision: imported when a command asks, as in write_package

        if "exports" not in self.info:
            return None
        try:
            return GraphExport.from_dict(self.info["exports"])
        except (ValueError, TypeError) as exc:
            raise InputDataError(f"has an invalid AutoDL.exports record ({exc})", self.path, FIX) from None

    @property
    def network(self) -> str:
        return self.info["network"]

    @property
    def backbone(self) -> str:
        return self.info["backbone"]

    @property
    def task(self) -> str:
        return self.info["task"]

    @property
    def chip_size(self) -> tuple[int, int]:
        return tuple(self.info["chip_size"])

    @property
    def in_channels(self) -> int:
        return self.info["in_channels"]

    @property
    def extract_bands(self) -> list[int]:
        """The raster bands the model reads, 0-based, in order."""
        return list(self.emd["ExtractBands"])

    @property
    def model_file(self) -> str:
        """The weights' file name (beside the .emd)."""
        return self.emd["ModelFile"]

    @property
    def num_classes(self) -> int:
        return self.info["num_classes"]

    @property
    def library(self) -> str | None:
        """The library the network comes from (the registry's; None in a package that does not say)."""
        return self.info.get("library")

    @property
    def normalisation(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per band, the mean and the standard deviation the chips were normalised with, (x - mean) / std."""
        stats = self.emd["NormalizationStats"]
        return (tuple(float(v) for v in stats["band_mean_values"][:self.in_channels]),
                tuple(float(v) for v in stats["band_std_values"][:self.in_channels]))

    def state_dict(self) -> dict[str, torch.Tensor]:
        where = f"{self.path} ({self.model_file})" if self.weights_entry else self.path.parent / self.model_file
        if self.weights_entry is None:
            if not where.is_file():
                raise InputDataError(f"names the weights file {self.model_file!r}, which is not beside it",
                                     self.path, FIX)
            return _load_weights(where, where)
        with tempfile.TemporaryDirectory(prefix="autodl-dlpk-") as tmp:
            weights = Path(tmp, "weights" + Path(self.model_file).suffix)
            try:
                with zipfile.ZipFile(self.path) as archive:
                    _copy_entry(archive, self.weights_entry, weights)
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                raise InputDataError(f"has a damaged weights entry ({exc})", where, FIX) from None
            return _load_weights(weights, where)

    def check_weights_entry(self) -> None:
        """Reads the packaged weights through (nothing is written), so a damaged entry (CRC, truncation) is found
        when the package is described, not when it is used."""
        if self.weights_entry is None:
            return
        try:
            with zipfile.ZipFile(self.path) as archive, archive.open(self.weights_entry) as weights:
                while weights.read(2 ** 20):
                    pass
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
            raise InputDataError(f"is damaged: its weights entry {self.weights_entry.filename!r} fails to read "
                                 f"({exc})", self.path, FIX) from None

    def untrained_network(self, device: torch.device | str = "cpu"):
        """The package's network as it was built for training (chip scale, size, default boxes), before its weights
        are loaded."""
        from ..train.scale import build_scaled_network

        return build_scaled_network(self.network, self.num_classes, self.in_channels, self.chip_size, self.backbone,
                                    self.chip_scale, pretrained=False, device=device,
                                    built_for=self.network_chip_size, object_size=self.object_size)

    def build(self, device: torch.device | str = "cpu"):
        """The exact network, with the package's weights, in eval mode."""
        model = self.untrained_network(device)
        try:
            model.load_state_dict(self.state_dict(), strict=True)
        except RuntimeError as exc:
            raise InputDataError(f"has weights that do not fit {self.network} ({self.backbone}): "
                                 f"{str(exc).splitlines()[0][:300]}", self.path, FIX) from None
        return model.eval()

    @property
    def chip_scale(self) -> float:
        """The factor the chips were resampled by in training (the network resamples its input the same way)."""
        scale = (self.info.get("training") or {}).get("chip_scale", 1.0)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0.05 <= scale <= 4:
            raise InputDataError(f"has an invalid chip_scale {scale!r}", self.path, FIX)
        return float(scale)

    @property
    def object_size(self) -> float | None:
        """The objects' typical size the network's default boxes were fitted to (train/scale.py); None: the classic
        layout, as in packages that do not record it."""
        size = (self.info.get("training") or {}).get("object_size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, (int, float)) or not 0 < size <= 1):
            raise InputDataError(f"has an invalid object_size {size!r}", self.path, FIX)
        return None if size is None else float(size)

    @property
    def test_time_augmentation(self) -> bool:
        """Whether the model predicts over the eight flips and quarter turns of each tile by default: the search chose
        it after a refit and where that validated higher; packages that do not record it predict each tile once."""
        chosen = (self.info.get("training") or {}).get("test_time_augmentation", False)
        if not isinstance(chosen, bool):
            raise InputDataError(f"has an invalid test_time_augmentation {chosen!r}", self.path, FIX)
        return chosen

    @property
    def detection_confidence(self) -> float:
        """The confidence from which the detector's objects are kept by default: where F1 over all classes was
        highest on the validation chips, predicted as the package predicts by default; packages that do not record
        it keep Detect Objects' classic 0.5."""
        confidence = (self.info.get("training") or {}).get("detection_confidence")
        if confidence is None:
            return DEFAULT_CONFIDENCE
        if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1:
            raise InputDataError(f"has an invalid detection_confidence {confidence!r}", self.path, FIX)
        return float(confidence)

    @property
    def network_chip_size(self) -> tuple[int, int]:
        """The chip size the network was built for (the chips at its chip scale). Packages that do not record it
        were built for the chips' own size, whatever their scale."""
        size = (self.info.get("training") or {}).get("network_chip_size", self.chip_size)
        if (not isinstance(size, (list, tuple)) or len(size) != 2
                or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= 4 * max(self.chip_size)
                           for s in size)):
            raise InputDataError(f"has an invalid network_chip_size {size!r}", self.path, FIX)
        return int(size[0]), int(size[1])

    def file(self, name: str) -> Path | None:
        """The package's file ``name`` (beside its .emd), None when it has none. From a .dlpk that entry alone is
        extracted, to a private temporary folder removed on :meth:`close`: other entries, whatever their size, are
        never written."""
        if self.weights_entry is None:
            path = self.path.parent / name
            return path if path.is_file() else None
        wanted = PurePosixPath(self.emd_folder) / name
        try:
            with zipfile.ZipFile(self.path) as archive:
                info = next((e for e in archive.infolist() if not e.is_dir()
                             and PurePosixPath(e.filename.replace("\\", "/")) == wanted), None)
                if info is None:
                    return None
                if self._entries is None:
                    self._entries = tempfile.TemporaryDirectory(prefix="autodl-dlpk-")
                target = Path(self._entries.name, name)
                _copy_entry(archive, info, target)
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
            self.close()
            raise InputDataError(f"has a damaged entry {name!r} ({exc})", self.path, FIX) from None
        return target

    @property
    def folder(self) -> Path:
        """Every file of the package (report, leaderboard, ...), extracted to a private temporary folder on first
        use and removed on :meth:`close`; a .emd's own folder. Commands read single files with :meth:`file`."""
        if self.weights_entry is None:
            return self.path.parent
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="autodl-dlpk-")
            try:
                with zipfile.ZipFile(self.path) as archive:
                    for info in archive.infolist():
                        target = Path(self._folder.name, *PurePosixPath(info.filename.replace("\\", "/")).parts)
                        if info.is_dir():
                            target.mkdir(parents=True, exist_ok=True)
                            continue
                        target.parent.mkdir(parents=True, exist_ok=True)
                        _copy_entry(archive, info, target)
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                self.close()
                raise InputDataError(f"cannot be extracted ({exc})", self.path, FIX) from None
        return Path(self._folder.name)

    def close(self) -> None:
        for extracted in (self._folder, self._entries):
            if extracted is not None:
                extracted.cleanup()
        self._folder = self._entries = None

    def __enter__(self) -> "ModelPackage":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _load_weights(file: Path, where) -> dict[str, torch.Tensor]:
    """Tensors only: safetensors, or a torch file read with ``weights_only`` (a pickle payload is refused)."""
    try:
        if file.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(file), device="cpu")
        return torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # torch's own text goes on to suggest weights_only=False: not an option here
        raise InputDataError("holds Python objects besides tensors in its weights; refused, since loading them "
                             "could run code", where, FIX) from None
    except Exception as exc:  # noqa: BLE001 - a corrupt file is refused
        raise InputDataError(f"has weights that cannot be loaded as plain tensors ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:200] if str(exc) else ''})", where, FIX) from None


def open_package(path: str | os.PathLike) -> ModelPackage:
    """Opens a .dlpk or .emd written by autodl_qgis and validates its model definition; nothing is extracted.
    Use as a context manager."""
    path = Path(path).expanduser()
    check_path_name(path)
    if not path.is_file():
        raise InputDataError("does not exist" if not path.exists() else "is not a file", path,
                             "Give the .dlpk (or .emd) written by Train Using AutoDL")
    if path.suffix.lower() == ".emd":
        emd = read_json(path)
        return ModelPackage(path, emd, validate_model_definition(emd, path))
    if not zipfile.is_zipfile(path):
        raise InputDataError("is not a .dlpk (zip) package", path, FIX)
    try:
        with zipfile.ZipFile(path) as archive:
            entries = _check_entries(archive, path)
            emds = [e for e in entries if e.filename.lower().endswith(".emd") and not e.is_dir()]
            if len(emds) != 1:
                raise InputDataError(f"must hold exactly one .emd model definition, found {len(emds)}", path, FIX)
            where = f"{path} ({emds[0].filename})"
            if emds[0].file_size > MAX_JSON_BYTES:
                raise InputDataError(f"is {emds[0].file_size / 2 ** 20:.0f} MB, more than a model definition can "
                                     "be", where, FIX)
            emd = parse_json(archive.read(emds[0]), where)
            classes = validate_model_definition(emd, where)
            folder = PurePosixPath(emds[0].filename.replace("\\", "/")).parent
            by_name = {PurePosixPath(e.filename.replace("\\", "/")): e for e in entries if not e.is_dir()}
            weights = by_name.get(folder / emd["ModelFile"])
            if weights is None:
                raise InputDataError(f"names the weights file {emd['ModelFile']!r}, which is not in the package",
                                     path, FIX)
            return ModelPackage(path, emd, classes, weights, str(folder))
    except (zipfile.BadZipFile, EOFError) as exc:
        raise InputDataError(f"is a damaged zip archive ({exc})", path, FIX) from None
    except OSError as exc:
        raise InputDataError(f"cannot be read ({exc.strerror or exc})", path, FIX) from None
