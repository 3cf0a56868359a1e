"""Download Git LFS objects into a local cache, verified, and read FITS headers with ranged requests.

The cache
    Files go to one folder: ``--cache`` if given, else ``$MULTIBAND_TUTORIAL_CACHE``, else the operating system's
    cache folder (``pooch.os_cache("multiband-tutorial")``, e.g. ``~/.cache/multiband-tutorial`` on Linux), in a
    sub-folder per data set. A file there is always complete and verified: pooch downloads to a temporary name
    in the same folder, checks the SHA-256 against the LFS pointer, and only then renames it into place; a
    failed or interrupted download deletes its temporary file. A file already there is used if its SHA-256
    still matches, so a second run downloads nothing.

Headers only
    Some files are needed only for their header (the zero point of a coadd is the ``FLUXMAG0`` keyword of a
    178 MB calexp). :func:`fetch_fits_header` asks for the first bytes with an HTTP ``Range`` request and reads
    the FITS headers from them; if the server ignores ranges it says so, with the file's size, and downloads the
    whole file into the cache instead. A header read by range cannot be checked against the file's SHA-256 (that
    needs every byte); it is checked to be a FITS header of a file of the pointer's size (``Content-Range``) and
    kept in the cache with the SHA-256 of the header bytes, so a damaged cached header is noticed and read again.

Errors are :class:`DownloadError` (with :class:`ChecksumError` for a SHA-256 mismatch), whose messages say what
happened and what to do; LFS server problems are the :mod:`data_fetch.lfs` errors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pooch
import requests
from astropy.io import fits

from . import lfs

__all__ = [
    "CACHE_ENV",
    "ChecksumError",
    "DownloadError",
    "FitsHeaders",
    "RemoteObject",
    "cache_dir",
    "fetch",
    "fetch_fits_header",
    "format_size",
    "parse_fits_headers",
    "verified_path",
]

#: Environment variable naming the download cache folder (overridden by ``--cache``).
CACHE_ENV = "MULTIBAND_TUTORIAL_CACHE"
FITS_BLOCK = 2880
#: First ranged request for a header; grown (x4) until both headers are in, up to :data:`MAX_HEADER_BYTES`.
FIRST_HEADER_BYTES = 64 * 1024
MAX_HEADER_BYTES = 4 * 1024 * 1024

Log = Callable[[str], None]


class DownloadError(RuntimeError):
    """A download failed; the message names the file, the reason and what to do."""


class ChecksumError(DownloadError):
    """A downloaded file's SHA-256 does not match its LFS pointer; the file was discarded."""


@dataclass(frozen=True)
class RemoteObject:
    """One Git LFS object to fetch: the name it gets in the cache, its pointer, and where it comes from."""

    name: str
    pointer: lfs.LFSPointer
    source: str = ""

    @property
    def size(self) -> int:
        return self.pointer.size


@dataclass(frozen=True)
class FitsHeaders:
    """The primary header of a FITS file and the header of its first extension (None if it has none)."""

    primary: fits.Header
    first_extension: fits.Header | None
    nbytes: int
    source: str  # "ranged request", "whole file", "cached header" or "cached file"


def format_size(nbytes: int) -> str:
    """Bytes in decimal units, as download tools show them: ``84.7 MB``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} B"


def cache_dir(cache: str | os.PathLike | None = None, subfolder: str = "") -> Path:
    """The cache folder: ``cache``, else ``$MULTIBAND_TUTORIAL_CACHE``, else the OS cache folder; plus ``subfolder``."""
    base = cache or os.environ.get(CACHE_ENV) or pooch.os_cache("multiband-tutorial")
    return Path(base).expanduser() / subfolder if subfolder else Path(base).expanduser()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_path(cache: Path, obj: RemoteObject) -> Path | None:
    """The cached copy of ``obj`` if it is there, of the right size and SHA-256; else None."""
    path = Path(cache) / obj.name
    if not path.is_file() or path.stat().st_size != obj.size:
        return None
    return path if _sha256(path) == obj.pointer.oid else None


@contextmanager
def _quiet_pooch() -> Iterator[None]:
    """Silence pooch's own log lines: they print the download URL, which may be a signed one."""
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _http_status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


def fetch(
    obj: RemoteObject,
    *,
    lfs_url: str,
    cache: Path,
    retries: int = 3,
    progress: bool = True,
    session: requests.Session | None = None,
    timeout: float = 60.0,
    log: Log = print,
    action: lfs.DownloadAction | None = None,
) -> Path:
    """The path of ``obj`` in the cache, downloading it first if it is not there (or is damaged).

    The download URL comes from the LFS batch API (unless ``action`` is given); pooch streams it to a temporary
    file in the cache folder, with a progress bar, verifies its SHA-256 and renames it into place. A dropped
    connection or a wrong SHA-256 is retried ``retries`` times (pooch waits 1 s, 2 s, ... in between).

    Raises
    ------
    ChecksumError
        The SHA-256 never matched; nothing is left in the cache.
    DownloadError
        The download failed after the retries (connection, HTTP error); nothing is left in the cache.
    data_fetch.lfs.LFSError
        The LFS server could not be asked, or refused this object.
    """
    cache = Path(cache)
    path = verified_path(cache, obj)
    if path is not None:
        return path
    if action is None:
        action = lfs.request_download(lfs_url, [obj.pointer], session=session, retries=retries)[obj.pointer.oid]
    log(f"Downloading {obj.name} ({format_size(obj.size)}) from {lfs.redact_url(action.href)}")
    store = pooch.create(
        path=cache,
        base_url="",
        registry={obj.name: f"sha256:{obj.pointer.oid}"},
        urls={obj.name: action.href},
        retry_if_failed=retries,
        allow_updates=True,
    )
    downloader = pooch.HTTPDownloader(progressbar=progress, headers=dict(action.header), timeout=timeout)
    attempts = f"{retries + 1} attempt{'s' if retries else ''}"
    try:
        with _quiet_pooch():
            fetched = Path(store.fetch(obj.name, downloader=downloader))
    except ValueError as error:
        if "hash" not in str(error).lower():
            raise
        raise ChecksumError(
            f"{obj.name}: the downloaded bytes do not have the SHA-256 of the LFS pointer "
            f"({obj.pointer.oid[:12]}...) after {attempts}; the download was discarded and nothing was kept. "
            "The server sent a different or damaged file: try again later, or check the --lfs-url."
        ) from None
    except requests.HTTPError as error:
        status = _http_status(error)
        raise DownloadError(
            f"{obj.name}: the download server answered HTTP {status} after {attempts}; nothing was kept."
        ) from None
    except requests.RequestException as error:
        raise DownloadError(
            f"{obj.name}: the download failed after {attempts} ({type(error).__name__}: the connection was "
            "lost or timed out); nothing was kept. Check your connection and run the command again."
        ) from None
    if fetched.stat().st_size != obj.size:  # cannot happen with a matching SHA-256; cheap to make sure
        fetched.unlink()
        raise ChecksumError(f"{obj.name}: the downloaded file has the wrong size; it was discarded.")
    return fetched


# ---------------------------------------------------------------------------------------------------------
# FITS headers
# ---------------------------------------------------------------------------------------------------------
def _header_end(data: bytes, start: int) -> int | None:
    """Offset just past the header starting at ``start`` (a multiple of 2880), or None if ``data`` ends first."""
    offset = start
    while offset + FITS_BLOCK <= len(data):
        block = data[offset : offset + FITS_BLOCK]
        for card in range(0, FITS_BLOCK, 80):
            if block[card : card + 8] == b"END     ":
                return offset + FITS_BLOCK
        offset += FITS_BLOCK
    return None


def _data_size(header: fits.Header) -> int:
    """Bytes of the data unit following ``header``, padded to whole FITS blocks."""
    naxis = int(header.get("NAXIS", 0))
    if naxis == 0:
        return 0
    count = math.prod(int(header.get(f"NAXIS{i}", 0)) for i in range(1, naxis + 1))
    if header.get("XTENSION") is not None or not header.get("SIMPLE", False):
        count = int(header.get("GCOUNT", 1)) * (int(header.get("PCOUNT", 0)) + count)
    nbytes = abs(int(header.get("BITPIX", 8))) // 8 * count
    return -(-nbytes // FITS_BLOCK) * FITS_BLOCK


def parse_fits_headers(data: bytes, total_size: int | None = None) -> tuple[list[fits.Header], int] | None:
    """The primary header and first extension header found in the first bytes of a FITS file.

    Returns ``([primary, first_extension], end)``, ``end`` being the offset just past the last header read (the
    list has only the primary header when the file, of ``total_size`` bytes, has no extension); or None when
    ``data`` stops before the headers are complete.

    Raises
    ------
    DownloadError
        The bytes do not start like a FITS file.
    """
    if not data.startswith(b"SIMPLE  =") or (len(data) >= 30 and data[29:30] != b"T"):
        raise DownloadError("the file does not start with a FITS header (SIMPLE = T)")
    headers: list[fits.Header] = []
    start = end = 0
    while len(headers) < 2:
        if total_size is not None and start >= total_size:
            break  # the file has no more HDUs
        header_end = _header_end(data, start)
        if header_end is None:
            return None  # more bytes are needed
        header = fits.Header.fromstring(data[start:header_end].decode("ascii", errors="replace"))
        headers.append(header)
        end = header_end
        start = header_end + _data_size(header)
    return headers, end


def _header_cache_paths(cache: Path, obj: RemoteObject) -> tuple[Path, Path]:
    stem = cache / "headers" / obj.name
    return stem.with_name(obj.name + ".header"), stem.with_name(obj.name + ".header.json")


def _atomic_write(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _read_cached_header(cache: Path, obj: RemoteObject) -> FitsHeaders | None:
    data_path, meta_path = _header_cache_paths(cache, obj)
    if not (data_path.is_file() and meta_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
        data = data_path.read_bytes()
        if meta.get("oid") != obj.pointer.oid or hashlib.sha256(data).hexdigest() != meta.get("header_sha256"):
            raise ValueError("stale or damaged")
        parsed = parse_fits_headers(data, obj.size)
        if parsed is None:
            raise ValueError("incomplete")
    except (ValueError, OSError, DownloadError):
        data_path.unlink(missing_ok=True)
        meta_path.unlink(missing_ok=True)
        return None
    headers, end = parsed
    return FitsHeaders(headers[0], headers[1] if len(headers) > 1 else None, end, "cached header")


def _write_cached_header(cache: Path, obj: RemoteObject, data: bytes, content_range: str) -> None:
    data_path, meta_path = _header_cache_paths(cache, obj)
    meta = {
        "source": obj.source,
        "oid": obj.pointer.oid,
        "size": obj.size,
        "header_bytes": len(data),
        "header_sha256": hashlib.sha256(data).hexdigest(),
        "content_range": content_range,
        "note": "First bytes of the file (its FITS headers), read with an HTTP Range request; not checked "
        "against the file's SHA-256, which needs the whole file.",
    }
    # The data first, then the record that vouches for it: a crash in between leaves no record, so the header
    # is read again.
    _atomic_write(data_path, data)
    _atomic_write(meta_path, json.dumps(meta, indent=1).encode())


def _headers_from_file(path: Path, size: int, source: str) -> FitsHeaders:
    with open(path, "rb") as stream:
        data = stream.read(MAX_HEADER_BYTES)
    parsed = parse_fits_headers(data, size)
    if parsed is None:
        raise DownloadError(f"{path.name}: no complete FITS header in its first {format_size(MAX_HEADER_BYTES)}")
    headers, end = parsed
    return FitsHeaders(headers[0], headers[1] if len(headers) > 1 else None, end, source)


def _content_range_total(value: str | None) -> int | None:
    # "bytes 0-65535/177059520"
    if not value or "/" not in value:
        return None
    total = value.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


def fetch_fits_header(
    obj: RemoteObject,
    *,
    lfs_url: str,
    cache: Path,
    retries: int = 3,
    progress: bool = True,
    session: requests.Session | None = None,
    timeout: float = 60.0,
    log: Log = print,
) -> FitsHeaders:
    """The primary and first-extension FITS headers of ``obj``, reading as few bytes as the server allows.

    In order: a verified whole copy in the cache; a cached header; a ranged request for the first
    :data:`FIRST_HEADER_BYTES` (grown until the headers are complete), stored in the cache; and, when the server
    ignores ranges (answers 200 with the whole file), a message giving the file's size followed by a full,
    verified download (:func:`fetch`).
    """
    cache = Path(cache)
    whole = verified_path(cache, obj)
    if whole is not None:
        return _headers_from_file(whole, obj.size, "cached file")
    cached = _read_cached_header(cache, obj)
    if cached is not None:
        return cached

    action = lfs.request_download(lfs_url, [obj.pointer], session=session, retries=retries)[obj.pointer.oid]
    http = session or requests.Session()
    nbytes = FIRST_HEADER_BYTES
    attempt = 0
    content_range = ""
    while True:
        headers = {**action.header, "Range": f"bytes=0-{nbytes - 1}"}
        try:
            with http.get(action.href, headers=headers, stream=True, timeout=timeout) as response:
                if response.status_code == 200:
                    # The server ignores Range: stop reading at once rather than pulling the whole file silently.
                    ranged = False
                elif response.status_code == 206:
                    ranged = True
                    content_range = response.headers.get("Content-Range", "")
                    total = _content_range_total(content_range)
                    if total is not None and total != obj.size:
                        raise DownloadError(
                            f"{obj.name}: the server's file has {total:,} bytes but its LFS pointer says "
                            f"{obj.size:,}; it is not the file we want. Nothing was kept."
                        )
                    chunks, received = [], 0
                    for chunk in response.iter_content(chunk_size=64 * 1024):
                        chunks.append(chunk)
                        received += len(chunk)
                        if received >= nbytes:
                            break
                    data = b"".join(chunks)[:nbytes]
                else:
                    raise DownloadError(
                        f"{obj.name}: reading its header failed: the download server answered HTTP "
                        f"{response.status_code}; nothing was kept."
                    )
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
            if attempt < retries:
                attempt += 1
                time.sleep(min(attempt, 10))
                continue
            raise DownloadError(
                f"{obj.name}: reading its header failed after {retries + 1} attempts ({type(error).__name__}: "
                "the connection was lost or timed out); nothing was kept."
            ) from None
        if not ranged:
            log(
                f"The server does not allow partial downloads, so reading the header of {obj.name} needs the "
                f"whole file: downloading {format_size(obj.size)}."
            )
            path = fetch(
                obj,
                lfs_url=lfs_url,
                cache=cache,
                retries=retries,
                progress=progress,
                session=session,
                timeout=timeout,
                log=log,
                action=action,
            )
            return _headers_from_file(path, obj.size, "whole file")
        try:
            parsed = parse_fits_headers(data, obj.size)
        except DownloadError as error:
            raise DownloadError(f"{obj.name}: {error}; nothing was kept.") from None
        if parsed is None:
            if len(data) < nbytes or nbytes >= MAX_HEADER_BYTES:
                raise DownloadError(
                    f"{obj.name}: no complete FITS header in its first {format_size(len(data))}; nothing was kept."
                )
            nbytes *= 4
            continue
        found, end = parsed
        _write_cached_header(cache, obj, data[:end], content_range)
        return FitsHeaders(found[0], found[1] if len(found) > 1 else None, end, "ranged request")
