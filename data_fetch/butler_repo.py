"""Create a Butler repository with the lesson's dimensions and dataset types, and put datasets into it.

Everything here uses the public ``lsst.daf.butler`` API with an SQLite registry, as a real repository does.
Dataset UUIDs are made with ``DatasetIdGenEnum.DATAID_TYPE_RUN`` (a UUID5 of dataset type, data ID and run),
so the same build gives the same refs and the refs printed in the lessons do not change.
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from astropy.table import Table
from astropy.table.meta import get_yaml_from_header
from lsst.daf.butler import (
    Butler,
    ButlerConfig,
    CollectionType,
    DataCoordinate,
    DatasetIdGenEnum,
    DatasetRef,
    DatasetType,
    DimensionUniverse,
    FileDataset,
    FileDescriptor,
    FormatterFactory,
    Location,
)
from lsst.daf.butler.datastore.file_templates import FileTemplates
from lsst.daf.butler.formatters.parquet import ParquetFormatter, astropy_to_arrow
from lsst.resources import ResourcePath
from lsst.sphgeom import ConvexPolygon, LonLat, UnitVector3d
from tqdm.auto import tqdm

from tutorial_lib.butler_formatters import STORAGE_CLASS_CONFIG
from tutorial_lib.skymap import SkyMap

from . import workers
from .safety import signals_deferred
from .schema import make_table

__all__ = [
    "BANDS",
    "DATASET_TYPES",
    "PHYSICAL_FILTERS",
    "BatchWriter",
    "create_repository",
    "make_chain",
    "put_deterministic",
    "register_skymap",
    "start_writers",
]

#: HSC broad-band filters and their bands (lsst/obs_subaru python/lsst/obs/hsc/hscFilters.py,
#: HSC_FILTER_DEFINITIONS, commit 1f6c816).
PHYSICAL_FILTERS = {"HSC-G": "g", "HSC-R": "r", "HSC-I": "i"}
BANDS = tuple(PHYSICAL_FILTERS.values())

#: Dataset types of the simulated repository: name -> (dimensions, storage class). The dimensions are those of
#: the current pipelines' Gen3 tutorial (lsst/pipelines_lsst_io getting-started/multiband-analysis.rst, commit
#: 206228d: ``deepCoadd_forced_src`` and ``deepCoadd_calexp.photoCalib`` by band, tract and patch).
DATASET_TYPES = {
    "deepCoadd_ref": (("skymap", "tract", "patch"), "ArrowAstropy"),
    "deepCoadd_forced_src": (("skymap", "tract", "patch", "band"), "ArrowAstropy"),
    "deepCoadd_calexp": (("skymap", "tract", "patch", "band"), "TutorialCoaddExposure"),
    "truth_match": (("skymap", "tract", "patch"), "ArrowAstropy"),
    "skyMap": (("skymap",), "TutorialSkyMap"),
}


def create_repository(path: Path, instrument: str = "HSC") -> Butler:
    """Make an empty repository at ``path`` with this project's storage classes and the HSC filters.

    Returns a writeable Butler on it.
    """
    Butler.makeRepo(str(path), config=STORAGE_CLASS_CONFIG)
    butler = Butler.from_config(str(path), writeable=True)
    registry = butler.registry
    registry.insertDimensionData(
        "instrument",
        {
            "name": instrument,
            "visit_max": 21_474_800,
            "exposure_max": 21_474_800,
            "detector_max": 200,
            "class_name": "lsst.obs.subaru.HyperSuprimeCam",
        },
    )
    registry.insertDimensionData(
        "physical_filter",
        *({"instrument": instrument, "name": name, "band": band} for name, band in PHYSICAL_FILTERS.items()),
    )
    for name, (dimensions, storage_class) in DATASET_TYPES.items():
        registry.registerDatasetType(DatasetType(name, dimensions, storage_class, universe=butler.dimensions))
    return butler


def _sky_polygon(vertices_deg) -> ConvexPolygon:
    return ConvexPolygon([UnitVector3d(LonLat.fromDegrees(float(ra), float(dec))) for ra, dec in vertices_deg])


def register_skymap(butler: Butler, skymap: SkyMap) -> None:
    """Insert ``skymap``, ``tract`` and ``patch`` records with their true sky regions.

    Patch regions are the outer boxes (inner box plus border), as ``lsst.skymap`` registers them, so a
    spatial query for a position in a patch overlap finds both patches.
    """
    registry = butler.registry
    first = next(iter(skymap))
    nx, ny = first.getNumPatches()
    registry.insertDimensionData(
        "skymap",
        {
            "name": skymap.name,
            "hash": hashlib.sha1(skymap.to_json().encode()).digest(),
            "tract_max": max(tract.getId() for tract in skymap) + 1,
            "patch_nx_max": nx,
            "patch_ny_max": ny,
        },
    )
    registry.insertDimensionData(
        "tract",
        *(
            {"skymap": skymap.name, "id": tract.getId(), "region": _sky_polygon(tract.getVertexList())}
            for tract in skymap
        ),
    )
    registry.insertDimensionData(
        "patch",
        *(
            {
                "skymap": skymap.name,
                "tract": tract.getId(),
                "id": patch.getSequentialIndex(),
                "cell_x": patch.getIndex()[0],
                "cell_y": patch.getIndex()[1],
                "region": _sky_polygon(tract.box_vertices(patch.getOuterBBox())),
            }
            for tract in skymap
            for patch in tract
        ),
    )


def put_deterministic(butler: Butler, obj, dataset_type: str, run: str, **data_id) -> DatasetRef:
    """Put ``obj`` with a UUID that depends only on dataset type, data ID and run (``DATAID_TYPE_RUN``)."""
    dtype = butler.get_dataset_type(dataset_type)
    expanded = butler.registry.expandDataId(data_id, dimensions=dtype.dimensions)
    ref = DatasetRef(dtype, expanded, run=run, id_generation_mode=DatasetIdGenEnum.DATAID_TYPE_RUN)
    return butler.put(obj, ref)


class BatchWriter:
    """Write datasets as ``Butler.put`` would, and register them all in one ``Butler.ingest`` at the end.

    ``Butler.put`` pays a registry round trip (about 20 SQL statements) per dataset. Here each file is written by
    the formatter and at the path that the repository's own configuration gives (``datastore.formatters`` and
    ``datastore.templates``, as ``FileDatastore`` reads them), so the files are byte for byte those of a put,
    the provenance that a put adds to a table included (tests/test_simulation.py checks it); :meth:`ingest`
    then registers every dataset and its file record in one call (``transfer=None``: the files are already
    inside the datastore root). Dataset UUIDs are ``DATAID_TYPE_RUN``, as in
    :func:`put_deterministic`.

    Files are serialised by two writer processes while the caller simulates the next patch (astropy's table
    metadata and the Parquet encoding hold the GIL for most of their time, so a thread would not use the second
    core). Create the writer before the caller starts any thread: on Linux the writers are forked
    (:func:`start_writers`), so they start with the parent's modules instead of importing them again; elsewhere
    one background thread writes. Use it as a context manager: leaving the block shuts the writers down after
    their last file, so no file is written after it (an interrupted build removes its staging folder).

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
        A writeable Butler on a local repository.
    root : `pathlib.Path`
        The repository's folder (its datastore root).
    """

    def __init__(self, butler: Butler, root: Path) -> None:
        datastore_config = ButlerConfig(str(root))["datastore"]
        self._butler = butler
        self._root = ResourcePath(str(root), forceDirectory=True)
        self._templates = FileTemplates(datastore_config["templates"], universe=butler.dimensions)
        self._formatters = FormatterFactory()
        self._formatters.registerFormatters(datastore_config["formatters"], universe=butler.dimensions)
        self._dataset_types: dict[str, DatasetType] = {}
        self._pending: list[FileDataset] = []
        self._writes: list[Future] = []
        self._executor = start_writers()

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        # A signal must not cut this wait short: the caller then removes the staging folder, and a writer still
        # running would write into it again (seen once in about 60 interrupted builds).
        with signals_deferred():
            self._executor.shutdown(wait=True, cancel_futures=True)

    def put(self, obj, dataset_type: str, run: str, **data_id) -> DatasetRef:
        """Queue ``obj``'s file for writing; its dataset is registered by :meth:`ingest`."""
        if dataset_type not in self._dataset_types:
            self._dataset_types[dataset_type] = self._butler.get_dataset_type(dataset_type)
        dtype = self._dataset_types[dataset_type]
        coordinate = DataCoordinate.standardize(data_id, dimensions=dtype.dimensions)
        ref = DatasetRef(dtype, coordinate, run=run, id_generation_mode=DatasetIdGenEnum.DATAID_TYPE_RUN)
        template = self._templates.getTemplate(ref)
        template.validateTemplate(ref)
        location = Location(self._root, template.format(ref))
        descriptor = FileDescriptor(location, storageClass=dtype.storageClass)
        formatter = self._formatters.getFormatter(ref, descriptor, dataId=ref.dataId, ref=ref)
        self._writes.append(self._executor.submit(_write_file, formatter, obj))
        path = formatter.make_updated_location(location).pathInStore.path
        self._pending.append(FileDataset(path, ref, formatter=type(formatter)))
        return ref

    def put_table(self, columns, values: dict, dataset_type: str, run: str, **data_id) -> DatasetRef:
        """Queue a table built by the writer from ``columns`` and ``values`` (as
        :func:`data_fetch.schema.make_table` builds it): the caller's process only sends the arrays, which is
        much cheaper than sending an astropy Table with its column metadata."""
        return self.put(
            _TableToMake(columns, {name: values[name] for name, *_ in columns}), dataset_type, run, **data_id
        )

    def ingest(self, progress: bool = False) -> dict[str, int]:
        """Wait for every queued file (a progress bar if ``progress``), then register all their datasets in one
        call; returns how many of each dataset type."""
        for write in tqdm(self._writes, desc="Writing files", unit="file", disable=not progress, leave=False):
            write.result()  # re-raises a formatter's error here
        self._writes.clear()
        counts = Counter(ref.datasetType.name for dataset in self._pending for ref in dataset.refs)
        self._butler.ingest(*self._pending, transfer=None)
        self._pending.clear()
        return dict(counts)


@dataclass
class _TableToMake:
    """A table's column definitions and arrays, made into an astropy Table by the writer (``put_table``)."""

    columns: list
    values: dict


def _write_file(formatter, obj) -> None:
    if isinstance(obj, _TableToMake):
        if isinstance(formatter, ParquetFormatter):
            obj = _arrow_table(obj, _provenance(formatter))
        else:
            obj = make_table(obj.columns, obj.values)
    formatter.write(obj)


def _provenance(formatter: ParquetFormatter) -> dict:
    """The provenance that ``formatter.write`` would add to an astropy Table (``LSST.BUTLER.ID``, run, dataset
    type, data ID, no inputs), as the Butler's own code makes it; it adds none to an Arrow table."""
    return dict(formatter.add_provenance(Table()).meta)


#: Arrow schema of each table layout, made once per writer process by the Butler's own conversion.
_ARROW_SCHEMAS: dict = {}
_ROW_COUNT_KEY = b"lsst::arrow::rowcount"
_YAML_KEY = b"table_meta_yaml"


def _arrow_table(table: _TableToMake, meta: dict) -> pa.Table:
    """The Arrow table that the Butler's Parquet formatter writes for ``make_table(table.columns, table.values)``
    with ``meta`` as the table's ``meta``.

    The formatter's conversion (``lsst.daf.butler.formatters.parquet.astropy_to_arrow``) makes for each file a
    schema that holds astropy's YAML description of the columns. That schema is the same for every table of
    one layout, and making it took 4.3 of the build's 10 CPU seconds (cProfile, lsst-daf-butler 30.2026.4300:
    2.3 s of YAML, 1.3 s of ``Table.dtype`` looked up per column). So the Butler's conversion makes each
    layout's schema once; each table then gets it with its own row count and its own ``meta`` (the provenance),
    which astropy writes last in the YAML (keys sorted: ``datatype``, then ``meta``). tests/test_simulation.py
    checks that the files are byte for byte those of ``Butler.put``. The files are written by the Butler's
    formatter as before.
    """
    arrays = [np.asarray(table.values[name], dtype=dtype) for name, dtype, *_ in table.columns]
    layout = (tuple((name, str(unit), description) for name, _, unit, description in table.columns),)
    layout += tuple(array.dtype.str for array in arrays)
    schema = _ARROW_SCHEMAS.get(layout)
    if schema is None:
        schema = _ARROW_SCHEMAS[layout] = astropy_to_arrow(make_table(table.columns, table.values)).schema
    metadata = {**schema.metadata, _ROW_COUNT_KEY: str(len(arrays[0])).encode()}
    if meta:
        meta_lines = get_yaml_from_header({"cols": [], "meta": OrderedDict(meta)})[1:]  # after "datatype: []"
        metadata[_YAML_KEY] = "\n".join([metadata[_YAML_KEY].decode(), *meta_lines]).encode()
    columns = [pa.array(array, type=field.type) for array, field in zip(arrays, schema, strict=True)]
    return pa.Table.from_arrays(columns, schema=schema.with_metadata(metadata))


def start_writers() -> Executor:
    """Two forked writer processes on Linux, else one thread (:func:`data_fetch.workers.start`).

    :class:`BatchWriter` starts them and shuts them down.
    """
    if workers.FORK:
        # The writers unpickle DatasetRefs, which needs the repositories' (default) dimension universe to exist
        # in their process already: make it before forking.
        DimensionUniverse()
    return workers.start(2, "BatchWriter")


def make_chain(butler: Butler, chain: str, runs: list[str]) -> None:
    """Define the CHAINED collection ``chain`` searching ``runs`` in order."""
    butler.registry.registerCollection(chain, CollectionType.CHAINED)
    butler.registry.setCollectionChain(chain, runs)
