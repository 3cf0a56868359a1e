"""A local Git LFS server for the download tests, and small fake files in the layout of the real HSC data.

:class:`FakeLFSServer` listens on 127.0.0.1 (a free port) in a background thread and implements what the client
uses: ``POST <prefix>/objects/batch`` (git-lfs ``docs/api/batch.md``) and the ``basic`` transfer, a GET of the
``href`` it hands out, with ``Range`` support. It can misbehave on request: refuse the batch call with a status,
ignore ranges, corrupt an object, drop the connection half way through a download, or refuse an object. It stops
itself after ``lifetime`` seconds at the latest, and records every request.

:func:`make_fake_validation_files` writes, with :func:`data_fetch.afw_table.write_source_catalog`, a small
reference table and r- and i-band forced tables in the 2016 (``AFW_TABLE_VERSION = 1``) layout of rerun 20160805:
``base_PsfFlux_flux``/``_fluxSigma`` in counts, reference-band extendedness from the Gaussian and PSF fluxes in the
reference table only, and forced tables with their own ``id`` and the reference id in ``objectId``. The calexps are
header-only FITS files: an afw-style primary header with ``FLUXMAG0`` and an image-HDU header with the WCS, the
``LTV1/2`` origin and the size of patch 10,7 of a 15 x 13-patch tract, but no pixels.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from data_fetch.afw_table import write_source_catalog
from data_fetch.hsc_validation import FILES, ValidationFile

LFS_MEDIA_TYPE = "application/vnd.git-lfs+json"
PREFIX = "/lsst-dm/legacy-validation_data_hsc"
TOKEN = "RemoteAuth test-token"


@dataclass
class Behaviour:
    """How the fake server misbehaves; every field defaults to a well-behaved server."""

    batch_status: int = 200  # answer every batch request with this status (403, 404, 500...)
    ranges: bool = True  # honour Range headers (False: always send the whole object with 200)
    corrupt: set = field(default_factory=set)  # oids served with one byte changed
    drop: dict = field(default_factory=dict)  # oid -> number of GETs to cut off half way
    object_errors: dict = field(default_factory=dict)  # oid -> (code, message) in the batch answer
    require_token: bool = True  # GETs must carry the header handed out in the batch answer
    # Hostile modes (tests/test_faults.py):
    gzip_bomb: set = field(default_factory=set)  # oids served gzip-encoded, decoding to 20 MB of zeros
    content_length: dict = field(default_factory=dict)  # oid -> Content-Length value announced (a lie)
    drip: dict = field(default_factory=dict)  # oid -> seconds between single bytes of the body
    stall: set = field(default_factory=set)  # oids whose body stops after 100 bytes (the connection stays open)
    batch_entry: object = None  # callable(entry) -> entry: rewrites each object of the batch answer
    redirect: dict = field(default_factory=dict)  # oid -> Location of a 302 answer to its GET
    range_body: dict = field(default_factory=dict)  # oid -> bytes served (206) for Range requests instead
    batch_drip: float = 0.0  # seconds between single bytes of the batch answer (0: sent at once)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that hangs up (the point of several tests) is not an error worth a traceback on stderr."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeLFSServer:
    """A Git LFS server on 127.0.0.1 serving ``objects`` (``{oid: bytes}``); use as a context manager."""

    def __init__(self, objects: dict[str, bytes], behaviour: Behaviour | None = None, lifetime: float = 120.0):
        self.objects = dict(objects)
        self.behaviour = behaviour or Behaviour()
        self.lifetime = lifetime
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    # --- life cycle ---------------------------------------------------------------------------------------
    def __enter__(self) -> FakeLFSServer:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()
        self._timer = threading.Timer(self.lifetime, self.stop)  # bounded: never outlives a hung test
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- what the tests look at ---------------------------------------------------------------------------
    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """The LFS URL to give the client (as in a repository's .lfsconfig)."""
        return self.base + PREFIX

    def record(self, **entry) -> None:
        with self._lock:
            self.requests.append(entry)

    def count(self, method: str | None = None) -> int:
        return sum(1 for r in self.requests if method is None or r["method"] == method)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeLFSServer
    protocol_version = "HTTP/1.1"
    timeout = 10  # seconds a connection may stay idle

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _send_json(self, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", LFS_MEDIA_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    # --- the batch API ------------------------------------------------------------------------------------
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        fake, behaviour = self.fake, self.fake.behaviour
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        fake.record(
            method="POST",
            path=self.path,
            accept=self.headers.get("Accept"),
            content_type=self.headers.get("Content-Type"),
            body=raw.decode(errors="replace"),
        )
        if self.path != PREFIX + "/objects/batch":
            self._send_json(404, {"message": "Not found"})
            return
        if behaviour.batch_status != 200:
            messages = {403: "Forbidden", 404: "Repository not found", 500: "Internal error"}
            self._send_json(behaviour.batch_status, {"message": messages.get(behaviour.batch_status, "Error")})
            return
        if self.headers.get("Accept") != LFS_MEDIA_TYPE or self.headers.get("Content-Type") != LFS_MEDIA_TYPE:
            self._send_json(406, {"message": "Accept and Content-Type must be application/vnd.git-lfs+json"})
            return
        request = json.loads(raw)
        if request.get("operation") != "download" or "basic" not in request.get("transfers", ["basic"]):
            self._send_json(422, {"message": "only basic downloads"})
            return
        answer = []
        for obj in request["objects"]:
            oid, size = obj["oid"], obj["size"]
            if oid in behaviour.object_errors:
                code, message = behaviour.object_errors[oid]
                answer.append({"oid": oid, "size": size, "error": {"code": code, "message": message}})
            elif oid not in fake.objects or len(fake.objects[oid]) != size:
                answer.append({"oid": oid, "size": size, "error": {"code": 404, "message": "Object does not exist"}})
            else:
                download = {
                    "href": f"{fake.base}/objects/{oid}",
                    "header": {"Authorization": TOKEN},
                    "expires_in": 3600,
                }
                entry = {"oid": oid, "size": size, "authenticated": True, "actions": {"download": download}}
                answer.append(behaviour.batch_entry(entry) if behaviour.batch_entry else entry)
        if behaviour.batch_drip:
            payload = json.dumps({"transfer": "basic", "objects": answer}).encode()
            self.send_response(200)
            self.send_header("Content-Type", LFS_MEDIA_TYPE)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            for k in range(len(payload)):
                if self.fake._server is None or not self._write_quietly(payload[k : k + 1]):
                    break
                time.sleep(behaviour.batch_drip)
            self.close_connection = True
            return
        self._send_json(200, {"transfer": "basic", "objects": answer})

    # --- the basic transfer -------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        fake, behaviour = self.fake, self.fake.behaviour
        oid = self.path.rsplit("/", 1)[-1]
        fake.record(method="GET", path=self.path, oid=oid, range=self.headers.get("Range"))
        if behaviour.require_token and self.headers.get("Authorization") != TOKEN:
            self._send_json(401, {"message": "missing the header of the batch answer"})
            return
        if not self.path.startswith("/objects/") or oid not in fake.objects:
            self._send_json(404, {"message": "Not found"})
            return
        data = fake.objects[oid]
        if self._hostile(oid, data):
            return
        if oid in behaviour.corrupt:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        with fake._lock:
            drop = behaviour.drop.get(oid, 0)
            if drop:
                behaviour.drop[oid] = drop - 1
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
        if match and oid in behaviour.range_body:
            data = behaviour.range_body[oid] + b"\0" * (len(data) - len(behaviour.range_body[oid]))
        if match and behaviour.ranges:
            first = int(match.group(1))
            last = min(int(match.group(2)) if match.group(2) else len(data) - 1, len(data) - 1)
            body, status = data[first : last + 1], 206
        else:
            first, last, body, status = 0, len(data) - 1, data, 200
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
        self.end_headers()
        if drop:
            # A dropped connection: half the promised bytes, then the socket closes.
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)

    def _hostile(self, oid: str, data: bytes) -> bool:
        """Answer in one of the hostile modes, if ``oid`` has one; True when answered."""
        behaviour = self.fake.behaviour
        if oid in behaviour.redirect:
            self.send_response(302)
            self.send_header("Location", behaviour.redirect[oid])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        if oid in behaviour.gzip_bomb:
            body = gzip.compress(b"\0" * 20_000_000, compresslevel=9)
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self._write_quietly(body)
            return True
        if oid in behaviour.content_length:
            self.send_response(200)
            self.send_header("Content-Length", behaviour.content_length[oid])
            self.end_headers()
            self._write_quietly(data)
            self.close_connection = True
            return True
        if oid in behaviour.drip or oid in behaviour.stall:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if oid in behaviour.stall:
                self._write_quietly(data[:100])
                self._sleep_until_stopped(30.0)
            else:
                for k in range(len(data)):
                    if self.fake._server is None or not self._write_quietly(data[k : k + 1]):
                        break
                    time.sleep(behaviour.drip[oid])
            self.close_connection = True
            return True
        return False

    def _write_quietly(self, payload: bytes) -> bool:
        try:
            self.wfile.write(payload)
            self.wfile.flush()
        except OSError:  # the client gave up: that is the point of these modes
            return False
        return True

    def _sleep_until_stopped(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and self.fake._server is not None:
            time.sleep(0.05)


# ---------------------------------------------------------------------------------------------------------
# Fake files in the real layout
# ---------------------------------------------------------------------------------------------------------
#: The fake tract: 15 x 13 patches of 4000 px (+100 px border), 0.168"/px, tangent point near the real field.
FAKE_NUM_PATCHES = (15, 13)
FAKE_CENTER = (320.75, 0.05)
PIXEL_SCALE = 0.168
PATCH = (10, 7)
FLUXMAG0 = {"r": 10**10.8, "i": 10**10.8 * 1.02}  # zero points 27.000 and 27.0215
FORCED_ID_BASE = {"r": 77 << 40, "i": 78 << 40}  # Gen2 forced rows have ids of their own


def tract_wcs() -> WCS:
    """The fake tract's WCS in tract pixels, built as lsst.skymap builds it (tangent point at size/2 - 1)."""
    size = [n * 4000 for n in FAKE_NUM_PATCHES]
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = list(FAKE_CENTER)
    wcs.wcs.crpix = [size[0] / 2, size[1] / 2]  # FITS 1-based: 0-based tangent pixel size/2 - 1
    scale = PIXEL_SCALE / 3600
    wcs.wcs.cd = [[-scale, 0.0], [0.0, scale]]
    wcs.wcs.radesys = "ICRS"
    return wcs


def outer_box() -> tuple[int, int, int, int]:
    """Patch 10,7's outer box in tract pixels: (x0, y0, width, height)."""
    return PATCH[0] * 4000 - 100, PATCH[1] * 4000 - 100, 4200, 4200


def _packed_id(n: np.ndarray) -> np.ndarray:
    """Ids as obs_subaru packs them: ((((tract << 5) + px) << 5) + py) << 32 | n, here tract 0, patch 10,7."""
    return (((((0 << 5) + PATCH[0]) << 5) + PATCH[1]) << 32) + n


def make_tables(n_objects: int = 300, seed: int = 7) -> tuple[Table, dict[str, Table]]:
    """A fake reference table and r-, i-band forced tables with the 2016 column names and layout."""
    rng = np.random.default_rng(seed)
    x0, y0, width, height = outer_box()
    n_sky = 20
    n_parents = 10
    n = n_objects
    x = rng.uniform(x0, x0 + width - 1, n)
    y = rng.uniform(y0, y0 + height - 1, n)
    # Parents: the first n_parents rows, each with two children among the next rows, at the same place.
    parent = np.zeros(n, dtype=np.int64)
    n_child = np.zeros(n, dtype=np.int32)
    ids = _packed_id(np.arange(1, n + 1, dtype=np.int64))
    for k in range(n_parents):
        children = [n_parents + 2 * k, n_parents + 2 * k + 1]
        parent[children] = ids[k]
        n_child[k] = 2
        x[children] = x[k] + rng.normal(0, 3, 2)
        y[children] = y[k] + rng.normal(0, 3, 2)
    is_sky = np.zeros(n, dtype=bool)
    is_sky[-n_sky:] = True
    is_star = rng.uniform(size=n) < 0.4
    mag_i = np.where(is_star, rng.uniform(17.0, 25.0, n), rng.uniform(19.0, 26.0, n))
    r_i = np.where(is_star, rng.uniform(0.0, 1.8, n), rng.uniform(0.1, 0.9, n))
    mags = {"i": mag_i, "r": mag_i + r_i}
    ra, dec = tract_wcs().wcs_pix2world(x, y, 0)

    inner_x = (x >= PATCH[0] * 4000 - 0.5) & (x < (PATCH[0] + 1) * 4000 - 0.5)
    inner_y = (y >= PATCH[1] * 4000 - 0.5) & (y < (PATCH[1] + 1) * 4000 - 0.5)
    patch_inner = inner_x & inner_y
    tract_inner = np.ones(n, dtype=bool)
    primary = patch_inner & tract_inner & ~is_sky & (n_child == 0)
    ref_band_i = rng.uniform(size=n) < 0.8

    def counts(band, extra=0.0):
        flux = 10 ** (-0.4 * mags[band]) * FLUXMAG0[band]
        err = 0.02 * flux + 25.0
        return flux + rng.normal(0, err) + extra, err

    psf_i, psf_i_err = counts("i")
    gauss_i = psf_i * np.where(is_star, rng.normal(1.0, 0.02, n), rng.uniform(1.15, 1.6, n))
    psf_i[is_sky] = rng.normal(0, 25.0, n_sky)
    gauss_i[is_sky] = rng.normal(0, 25.0, n_sky)
    extendedness = np.where(0.925 * gauss_i < psf_i, 0.0, 1.0)
    extendedness[is_sky & (rng.uniform(size=n) < 0.5)] = np.nan
    psf_flag = rng.uniform(size=n) < 0.03

    ref = Table()
    ref["id"] = ids
    ref["id"].description = "unique ID"
    ref["coord_ra"] = np.radians(ra) * u.rad
    ref["coord_ra"].description = "position in ra/dec"
    ref["coord_dec"] = np.radians(dec) * u.rad
    ref["coord_dec"].description = "position in ra/dec"
    ref["parent"] = parent
    ref["parent"].description = "unique ID of parent source"
    for band in ("i", "r", "sky"):
        ref[f"merge_footprint_{band}"] = ~is_sky if band != "sky" else is_sky
        ref[f"merge_footprint_{band}"].description = f"Detection footprint overlapped with a detection from {band}"
    for band in ("i", "r", "sky"):
        ref[f"merge_peak_{band}"] = ~is_sky if band != "sky" else is_sky
        ref[f"merge_peak_{band}"].description = f"Peak detected in filter {band}"
    ref["deblend_nChild"] = n_child
    ref["deblend_nChild"].description = "Number of children this object has (defaults to 0)"
    ref["base_SdssCentroid_x"] = x * u.pix
    ref["base_SdssCentroid_x"].description = "centroid from Sdss Centroid algorithm"
    ref["base_SdssCentroid_y"] = y * u.pix
    ref["base_SdssCentroid_y"].description = "centroid from Sdss Centroid algorithm"
    ref["base_SdssCentroid_xSigma"] = np.full(n, 0.05, dtype=np.float32) * u.pix
    ref["base_SdssCentroid_xSigma"].description = "1-sigma uncertainty on x position"
    ref["base_SdssCentroid_flag"] = np.zeros(n, dtype=bool)
    ref["base_SdssCentroid_flag"].description = "General Failure Flag"
    ref["base_GaussianFlux_flux"] = gauss_i * u.ct
    ref["base_GaussianFlux_flux"].description = "flux from Gaussian Flux algorithm"
    ref["base_GaussianFlux_fluxSigma"] = psf_i_err * 1.1 * u.ct
    ref["base_GaussianFlux_fluxSigma"].description = "flux uncertainty from Gaussian Flux algorithm"
    ref["base_GaussianFlux_flag"] = np.zeros(n, dtype=bool)
    ref["base_GaussianFlux_flag"].description = "General Failure Flag"
    ref["base_PixelFlags_flag_edge"] = np.zeros(n, dtype=bool)
    ref["base_PixelFlags_flag_edge"].description = "Source is outside usable exposure region (masked EDGE or NO_DATA)"
    ref["base_PixelFlags_flag_saturatedCenter"] = is_star & (mag_i < 17.5)
    ref["base_PixelFlags_flag_saturatedCenter"].description = "Saturated pixel in the Source center"
    ref["base_PsfFlux_flux"] = psf_i * u.ct
    ref["base_PsfFlux_flux"].description = "flux derived from linear least-squares fit of PSF model"
    ref["base_PsfFlux_fluxSigma"] = psf_i_err * u.ct
    ref["base_PsfFlux_fluxSigma"].description = "1-sigma flux uncertainty"
    ref["base_PsfFlux_flag"] = psf_flag
    ref["base_PsfFlux_flag"].description = "General Failure Flag"
    ref["detect_isPatchInner"] = patch_inner
    ref["detect_isPatchInner"].description = "true if source is in the inner region of a coadd patch"
    ref["detect_isTractInner"] = tract_inner
    ref["detect_isTractInner"].description = "true if source is in the inner region of a coadd tract"
    ref["detect_isPrimary"] = primary
    ref["detect_isPrimary"].description = "true if source has no children and is in the inner region of a coadd patch"
    ref["base_ClassificationExtendedness_value"] = extendedness
    ref["base_ClassificationExtendedness_value"].description = "Set to 1 for extended sources, 0 for point sources."
    ref["base_ClassificationExtendedness_flag"] = ~np.isfinite(extendedness)
    ref["base_ClassificationExtendedness_flag"].description = "Set to 1 for any fatal failure."
    ref["merge_measurement_i"] = ref_band_i
    ref["merge_measurement_i"].description = "Flag field set if the measurements here are from the i filter"
    ref["merge_measurement_r"] = ~ref_band_i
    ref["merge_measurement_r"].description = "Flag field set if the measurements here are from the r filter"
    ref.meta["aliases"] = {
        "slot_Centroid": "base_SdssCentroid",
        "slot_PsfFlux": "base_PsfFlux",
        "slot_ModelFlux": "base_GaussianFlux",
    }

    forced = {}
    for band in ("r", "i"):
        flux, err = counts(band)
        flux[is_sky] = rng.normal(0, 25.0, n_sky)
        failed = rng.uniform(size=n) < 0.01  # a failed measurement: NaN flux, flags set
        flux[failed] = np.nan
        table = Table()
        table["id"] = FORCED_ID_BASE[band] + np.arange(1, n + 1, dtype=np.int64)
        table["id"].description = "unique ID"
        table["coord_ra"] = ref["coord_ra"]
        table["coord_ra"].description = "position in ra/dec"
        table["coord_dec"] = ref["coord_dec"]
        table["coord_dec"].description = "position in ra/dec"
        table["parent"] = np.zeros(n, dtype=np.int64)
        table["parent"].description = "unique ID of parent source"
        table["objectId"] = ids
        table["objectId"].description = "unique ID"
        table["parentObjectId"] = parent
        table["parentObjectId"].description = "unique ID of parent source"
        table["deblend_nChild"] = n_child
        table["deblend_nChild"].description = "Number of children this object has (defaults to 0)"
        table["base_TransformedCentroid_x"] = x * u.pix
        table["base_TransformedCentroid_x"].description = "transformed x position"
        table["base_TransformedCentroid_y"] = y * u.pix
        table["base_TransformedCentroid_y"].description = "transformed y position"
        table["base_CircularApertureFlux_12_0_flux"] = flux * 1.05 * u.ct
        table["base_CircularApertureFlux_12_0_flux"].description = "flux within 12.000000-pixel aperture"
        table["base_CircularApertureFlux_12_0_fluxSigma"] = err * 1.3 * u.ct
        table["base_CircularApertureFlux_12_0_fluxSigma"].description = "1-sigma flux uncertainty"
        table["base_CircularApertureFlux_12_0_flag"] = np.zeros(n, dtype=bool)
        table["base_CircularApertureFlux_12_0_flag"].description = "General Failure Flag"
        table["base_PsfFlux_flux"] = flux * u.ct
        table["base_PsfFlux_flux"].description = "flux derived from linear least-squares fit of PSF model"
        table["base_PsfFlux_fluxSigma"] = err * u.ct
        table["base_PsfFlux_fluxSigma"].description = "1-sigma flux uncertainty"
        table["base_PsfFlux_flag"] = (psf_flag if band == "i" else rng.uniform(size=n) < 0.03) | failed
        table["base_PsfFlux_flag"].description = "General Failure Flag"
        table["base_PsfFlux_flag_edge"] = failed
        table["base_PsfFlux_flag_edge"].description = "object was too close to the edge of the image"
        table["base_GaussianFlux_flux"] = flux * 1.1 * u.ct
        table["base_GaussianFlux_flux"].description = "flux from Gaussian Flux algorithm"
        table["base_GaussianFlux_fluxSigma"] = err * 1.1 * u.ct
        table["base_GaussianFlux_fluxSigma"].description = "flux uncertainty from Gaussian Flux algorithm"
        table["base_GaussianFlux_flag"] = np.zeros(n, dtype=bool)
        table["base_GaussianFlux_flag"].description = "General Failure Flag"
        table.meta["aliases"] = {"slot_Centroid": "base_TransformedCentroid"}
        forced[band] = table
    return ref, forced


def _card_bytes(header: fits.Header) -> bytes:
    return header.tostring().encode("ascii")  # padded to whole 2880-byte blocks


def make_calexp_header(band: str) -> bytes:
    """A header-only calexp: an afw-style primary header and the image HDU's header, no pixels."""
    primary = fits.Header()
    primary["SIMPLE"] = True
    primary["BITPIX"] = 8
    primary["NAXIS"] = 0
    primary["EXTEND"] = True
    primary["FILTER"] = {"r": "HSC-R", "i": "HSC-I"}[band]
    primary["FLUXMAG0"] = FLUXMAG0[band]
    primary.append(fits.Card("HIERARCH FLUXMAG0ERR", 0.0))  # afw writes keys longer than 8 characters so
    primary["AR_HDU"] = 5
    primary["WCS_ID"] = 1
    x0, y0, width, height = outer_box()
    image = fits.Header()
    image["XTENSION"] = "IMAGE"
    image["BITPIX"] = -32
    image["NAXIS"] = 2
    image["NAXIS1"] = width
    image["NAXIS2"] = height
    image["PCOUNT"] = 0
    image["GCOUNT"] = 1
    image["EXTTYPE"] = "IMAGE"
    local = tract_wcs().deepcopy()
    local.wcs.crpix = [local.wcs.crpix[0] - x0, local.wcs.crpix[1] - y0]  # afw shifts the WCS to the image
    image.update(local.to_header())
    for key in ("PC1_1", "PC1_2", "PC2_1", "PC2_2", "CDELT1", "CDELT2"):
        image.remove(key, ignore_missing=True)
    image["CD1_1"], image["CD1_2"] = local.wcs.cd[0]
    image["CD2_1"], image["CD2_2"] = local.wcs.cd[1]
    image["LTV1"] = float(-x0)
    image["LTV2"] = float(-y0)
    image["CRPIX1A"], image["CRPIX2A"] = 1.0, 1.0
    image["CRVAL1A"], image["CRVAL2A"] = float(x0), float(y0)
    image["CTYPE1A"], image["CTYPE2A"] = "LINEAR", "LINEAR"
    return _card_bytes(primary) + _card_bytes(image)


@dataclass
class FakeData:
    """The fake files: their bytes by oid, the file table to give the client, and the tables they hold."""

    objects: dict[str, bytes]
    files: tuple[ValidationFile, ...]
    ref: Table
    forced: dict[str, Table]


def make_fake_validation_files(folder: Path, n_objects: int = 300) -> FakeData:
    """Write the fake files into ``folder`` and return them with a file table of their own SHA-256 and sizes."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ref, forced = make_tables(n_objects)
    contents = {}
    write_source_catalog(ref, folder / "ref.fits", afw_table_version=1)
    contents["ref"] = (folder / "ref.fits").read_bytes()
    for band in ("r", "i"):
        write_source_catalog(forced[band], folder / f"forced_{band}.fits", afw_table_version=1)
        contents[f"forced_src-{band}"] = (folder / f"forced_{band}.fits").read_bytes()
        contents[f"calexp-{band}"] = make_calexp_header(band)
    objects, files = {}, []
    for real in FILES:
        data = contents[real.key]
        oid = hashlib.sha256(data).hexdigest()
        objects[oid] = data
        files.append(ValidationFile(real.kind, real.band, real.path, oid, len(data)))
    return FakeData(objects, tuple(files), ref, forced)
