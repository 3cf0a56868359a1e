"""Download Git LFS objects into a local cache, verified, and read FITS headers with ranged requests.

The cache
    Files go to one folder: ``--cache`` if given, else ``$MULTIBAND_TUTORIAL_CACHE``, else the operating system's
    cache folder (``pooch.os_cache("multiband-tutorial")``, e.g. ``~/.cache/multiband-tutorial`` on Linux), in a
    sub-folder per data set. A file there is always complete and verified: :func:`fetch` streams it to a temporary
    file ``.data_fetch-download-<random>.part`` in the same folder (:data:`TEMPORARY_FILES`), capped at the size of
    its LFS pointer, checks the SHA-256 against the pointer, and only then renames it into place; a failed or
    interrupted download deletes its temporary file (and the next run, holding the cache's lock, removes those a
    killed process left: only names of exactly that shape, never a file of yours such as ``tmp_notes.part``). A
    file already there is used if its SHA-256 still matches, so a second run downloads nothing.

A server cannot exhaust the machine
    No transfer writes more than its pointer's size: a ``Content-Length`` above it is refused before reading, and a
    body (decoded, for ``gzip``/``deflate``) that goes past it is cut off and discarded. A transfer that sends
    nothing for ``timeout`` seconds, or fewer than :data:`MIN_BYTES_PER_SECOND` per second over that long, is
    stopped. Redirects are followed only to http and https addresses.

Headers only
    Some files are needed only for their header (the zero point of a coadd is the ``FLUXMAG0`` keyword of a
    178 MB calexp). :func:`fetch_fits_header` asks for the first bytes with an HTTP ``Range`` request and reads
    the FITS headers from them; if the server ignores ranges it says so, with the file's size, and downloads the
    whole file into the cache instead. A header read by range cannot be checked against the file's SHA-256 (that
    needs every byte): it is checked to be a FITS header of a file of the pointer's size (``Content-Range``), and
    the caller checks it against verified data before keeping it in the cache with :func:`cache_header` (see
    :mod:`data_fetch.hsc_validation`).

Errors are :class:`DownloadError` (with :class:`ChecksumError` for a SHA-256 mismatch), whose messages say what
happened and what to do; LFS server problems are the :mod:`data_fetch.lfs` errors.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pooch
import requests
from astropy.io import fits
from tqdm.auto import tqdm

from . import lfs
from .safety import atomic_write

__all__ = [
    "CACHE_ENV",
    "ChecksumError",
    "DownloadError",
    "DownloadOptions",
    "FitsHeaders",
    "RemoteObject",
    "cache_dir",
    "cache_option",
    "fetch",
    "cache_header",
    "discard_cached_header",
    "fetch_fits_header",
    "headers_from_whole_file",
    "format_size",
    "parse_fits_headers",
    "verified_path",
]

#: Environment variable naming the download cache folder (overridden by ``--cache``).
CACHE_ENV = "MULTIBAND_TUTORIAL_CACHE"
#: Name of a download's temporary file in the cache: ``tempfile.mkstemp`` with this prefix, which no one else would
#: choose, then its 8 random characters (``a-z``, ``0-9``, ``_``), then the suffix.
TEMPORARY_PREFIX, TEMPORARY_SUFFIX = ".data_fetch-download-", ".part"
#: The glob (for :func:`data_fetch.safety.remove_orphan_files`) of exactly those names, and of no other: only files
#: matching it are ever removed as left behind by a stopped download. It is used with the cache's lock held, which
#: ``python -m data_fetch download`` holds for all its downloads, so such a file's process is no longer writing it.
TEMPORARY_FILES = f"{TEMPORARY_PREFIX}{'[a-z0-9_]' * 8}{TEMPORARY_SUFFIX}"
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
    raw: bytes = b""  # the header bytes
    content_range: str = ""  # the server's Content-Range, for a ranged request


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


def cache_option(cache: str | os.PathLike | None = None) -> str:
    """Where the cache folder :func:`cache_dir` gives came from, for messages: ``--cache``, the environment
    variable :data:`CACHE_ENV`, or the system's cache folder."""
    if cache:
        return "--cache"
    return f"${CACHE_ENV}" if os.environ.get(CACHE_ENV) else "the system cache folder"


def _sha256(path: Path) -> str:
    return pooch.file_hash(str(path), alg="sha256")


def verified_path(cache: Path, obj: RemoteObject) -> Path | None:
    """The cached copy of ``obj`` if it is there, of the right size and SHA-256; else None."""
    path = Path(cache) / obj.name
    if not path.is_file() or path.stat().st_size != obj.size:
        return None
    return path if _sha256(path) == obj.pointer.oid else None


class _Retryable(DownloadError):
    """A failure worth trying again: a dropped connection, a server error, bytes that did not match."""


@dataclass(frozen=True)
class DownloadOptions:
    """How to download: the LFS server, the cache, retries, progress bars, the timeout and where messages go.

    One object for :func:`fetch` and :func:`fetch_fits_header`, as pooch passes one downloader.

    Attributes
    ----------
    lfs_url : str
        The Git LFS server.
    cache : pathlib.Path
        The cache folder of the data set.
    retries : int
        Times a dropped connection, a server error (5xx, 429) or a wrong SHA-256 is tried again.
    progress : bool
        Show progress bars.
    timeout : float
        Seconds without progress that end a download: no byte for that long (a stall), or fewer than
        :data:`MIN_BYTES_PER_SECOND` per second over that long (a drip). Not retried.
    session : requests.Session, optional
        HTTP session for every request.
    log : callable
        Where progress messages go.
    """

    lfs_url: str
    cache: Path
    retries: int = 3
    progress: bool = True
    timeout: float = 60.0
    session: requests.Session | None = None
    log: Log = print

    @property
    def http(self) -> requests.Session:
        return self.session or requests.Session()


def _attempts(retries: int) -> str:
    return f"{retries + 1} attempt{'s' if retries else ''}"


def fetch(obj: RemoteObject, options: DownloadOptions, *, action: lfs.DownloadAction | None = None) -> Path:
    """The path of ``obj`` in the cache, downloading it first if it is not there (or is damaged).

    The download URL comes from the LFS batch API (unless ``action`` is given). The body is streamed to a
    temporary file ``.data_fetch-download-<random>.part`` (:data:`TEMPORARY_FILES`) in the cache folder, with a
    progress bar, capped at the pointer's size (a longer answer, or a ``Content-Length`` above it, is cut off and
    discarded), its SHA-256 computed on the way; it is renamed into place only when size and SHA-256 match. A
    dropped connection, a server error or a wrong SHA-256 is retried ``options.retries`` times (waiting 1 s,
    2 s, ...).

    Raises
    ------
    ChecksumError
        The SHA-256 never matched; nothing is left in the cache.
    DownloadError
        The download failed (connection, HTTP error, too large, too slow, a redirect to a scheme other than
        http/https); nothing is left in the cache.
    data_fetch.lfs.LFSError
        The LFS server could not be asked, or refused this object.
    """
    cache = Path(options.cache)
    path = verified_path(cache, obj)
    if path is not None:
        return path
    if action is None:
        action = lfs.request_download(
            options.lfs_url, [obj.pointer], session=options.session, retries=options.retries, timeout=options.timeout
        )[obj.pointer.oid]
    options.log(f"Downloading {obj.name} ({format_size(obj.size)}) from {lfs.redact_url(action.href)}")
    cache.mkdir(parents=True, exist_ok=True)
    attempt = 0
    while True:
        try:
            return _download_once(obj, action, options)
        except _Retryable as error:
            if attempt < options.retries:
                attempt += 1
                time.sleep(attempt)
                continue
            if isinstance(error.__cause__, ChecksumError):
                raise ChecksumError(
                    f"{obj.name}: the downloaded bytes do not have the SHA-256 of the LFS pointer "
                    f"({obj.pointer.oid[:12]}...) after {_attempts(options.retries)}; the download was discarded and "
                    "nothing was kept. The server sent a different or damaged file: try again later, or check the "
                    "--lfs-url."
                ) from None
            raise DownloadError(f"{obj.name}: {error} after {_attempts(options.retries)}; nothing was kept.") from None


def _download_once(obj: RemoteObject, action: lfs.DownloadAction, options: DownloadOptions) -> Path:
    cache = Path(options.cache)
    fd, tmp = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, suffix=TEMPORARY_SUFFIX, dir=cache)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as sink, _get(action.href, dict(action.header), options, obj.name) as response:
            if response.status_code != 200:
                raise _status_error(response.status_code, obj.name)
            bar = tqdm(total=obj.size, unit="B", unit_scale=True, desc=obj.name, disable=not options.progress)
            with bar:

                def write(chunk: bytes) -> None:
                    sink.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))

                received = _read_body(response, write, obj.size, options, obj.name)
            sink.flush()
            os.fsync(sink.fileno())
        if received != obj.size or digest.hexdigest() != obj.pointer.oid:
            mismatch = _Retryable("the downloaded bytes do not match the LFS pointer")
            raise mismatch from ChecksumError(obj.name)
        final = cache / obj.name
        os.replace(tmp, final)
        return final
    finally:
        Path(tmp).unlink(missing_ok=True)


def _status_error(status: int, name: str) -> DownloadError:
    if status in (429, 500, 502, 503, 504):
        return _Retryable(f"the download server answered HTTP {status}")
    return DownloadError(f"{name}: the download server answered HTTP {status}; nothing was kept.")


#: Slowest transfer accepted, averaged over ``--timeout`` seconds (curl's ``--speed-limit`` idea): a server that
#: drips a few bytes a second would otherwise hold a 85 MB download open for days.
MIN_BYTES_PER_SECOND = 1000
#: Redirects followed for one download (each checked to be http or https).
MAX_REDIRECTS = 5
_ENCODINGS = frozenset({"", "identity", "gzip", "deflate"})


@contextmanager
def _get(url: str, headers: dict, options: DownloadOptions, name: str) -> Iterator[requests.Response]:
    """GET ``url`` as a stream, following at most :data:`MAX_REDIRECTS` redirects, each to http or https only."""
    headers = {"Accept-Encoding": "identity", **headers}
    http = options.http
    for _ in range(MAX_REDIRECTS + 1):
        lfs.check_http_url(url, f"the download address of {name}")
        try:
            response = http.get(
                url, headers=headers, stream=True, timeout=(options.timeout, options.timeout), allow_redirects=False
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            raise _Retryable(f"the connection failed ({type(error).__name__})") from None
        except requests.RequestException as error:
            raise DownloadError(f"{name}: the download request could not be made ({type(error).__name__}).") from None
        if response.is_redirect:
            location = response.headers.get("Location", "")
            response.close()
            try:
                target = urljoin(url, location)
            except ValueError:
                raise DownloadError(f"{name}: the download server redirected to an invalid address.") from None
            if urlsplit(target).netloc != urlsplit(url).netloc:
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            url = target
            continue
        try:
            yield response
        finally:
            response.close()
        return
    raise DownloadError(f"{name}: the download server redirected more than {MAX_REDIRECTS} times; nothing was kept.")


def _read_body(
    response: requests.Response, write: Callable[[bytes], None], limit: int, options: DownloadOptions, name: str
) -> int:
    """Stream the body to ``write``, at most ``limit`` bytes after decoding; returns the byte count.

    Raises DownloadError for a body larger than ``limit`` (announced or sent), an unknown content encoding, or a
    transfer slower than :data:`MIN_BYTES_PER_SECOND` over ``options.timeout`` seconds; _Retryable for a dropped
    connection.
    """
    import urllib3

    announced = response.headers.get("Content-Length", "")
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in _ENCODINGS:
        raise DownloadError(f"{name}: the server sent it with Content-Encoding {encoding!r}, which is refused.")
    if announced.isdigit() and int(announced) > limit and encoding in ("", "identity"):
        raise DownloadError(
            f"{name}: the server announces {format_size(int(announced))} (Content-Length) but the LFS pointer says "
            f"{format_size(limit)}; refused before downloading, nothing was kept."
        )
    total = 0
    window_start, window_bytes = time.monotonic(), 0
    while True:
        try:
            chunk = response.raw.read1(64 * 1024, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError:
            raise DownloadError(
                f"{name}: the server sent nothing for {options.timeout:g} s (--timeout); the download was stopped "
                "and nothing was kept. Try again later."
            ) from None
        except urllib3.exceptions.DecodeError:
            raise DownloadError(
                f"{name}: the server's {encoding} encoding could not be decoded; nothing was kept."
            ) from None
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.HTTPError, OSError) as error:
            raise _Retryable(f"the connection was lost ({type(error).__name__})") from None
        if not chunk:
            return total
        total += len(chunk)
        if total > limit:
            how = f" (Content-Encoding {encoding})" if encoding not in ("", "identity") else ""
            raise DownloadError(
                f"{name}: the server sent more than the {format_size(limit)} of its LFS pointer{how}; the transfer "
                "was cut off and nothing was kept."
            )
        write(chunk)
        window_bytes += len(chunk)
        now = time.monotonic()
        if now - window_start >= options.timeout:
            if window_bytes < MIN_BYTES_PER_SECOND * options.timeout:
                raise DownloadError(
                    f"{name}: the server sent only {window_bytes} bytes in {now - window_start:.0f} s (slower than "
                    f"{MIN_BYTES_PER_SECOND} bytes/s over --timeout {options.timeout:g} s); the download was "
                    "stopped and nothing was kept."
                )
            window_start, window_bytes = now, 0


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
    folder = Path(cache) / "headers"
    return folder / (obj.name + ".header"), folder / (obj.name + ".header.json")


def discard_cached_header(cache: Path, obj: RemoteObject) -> None:
    """Remove the cached header of ``obj`` (both files), if any."""
    for path in _header_cache_paths(cache, obj):
        path.unlink(missing_ok=True)


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
        discard_cached_header(cache, obj)
        return None
    headers, end = parsed
    return FitsHeaders(headers[0], headers[1] if len(headers) > 1 else None, end, "cached header", data)


def cache_header(cache: Path, obj: RemoteObject, headers: FitsHeaders, checked: str) -> None:
    """Keep a ranged header in the cache, after the caller checked it against verified data (``checked`` says how).

    The data first, then the record that vouches for it: a crash in between leaves no record, so the header is
    read again.
    """
    data_path, meta_path = _header_cache_paths(cache, obj)
    meta = {
        "source": obj.source,
        "oid": obj.pointer.oid,
        "size": obj.size,
        "header_bytes": len(headers.raw),
        "header_sha256": hashlib.sha256(headers.raw).hexdigest(),
        "content_range": headers.content_range,
        "checked": checked,
        "note": "First bytes of the file (its FITS headers), read with an HTTP Range request; not checked "
        "against the file's SHA-256, which needs the whole file, but against the verified files as 'checked' says.",
    }
    atomic_write(data_path, headers.raw)
    atomic_write(meta_path, json.dumps(meta, indent=1).encode())


def _headers_from_file(path: Path, size: int, source: str) -> FitsHeaders:
    with open(path, "rb") as stream:
        data = stream.read(MAX_HEADER_BYTES)
    parsed = parse_fits_headers(data, size)
    if parsed is None:
        raise DownloadError(f"{path.name}: no complete FITS header in its first {format_size(MAX_HEADER_BYTES)}")
    headers, end = parsed
    return FitsHeaders(headers[0], headers[1] if len(headers) > 1 else None, end, source, data[:end])


def _content_range_total(value: str | None) -> int | None:
    # "bytes 0-65535/177059520"
    if not value or "/" not in value:
        return None
    total = value.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


def headers_from_whole_file(obj: RemoteObject, options: DownloadOptions) -> FitsHeaders:
    """The headers of ``obj`` read from the whole, SHA-256-verified file (downloaded into the cache if needed)."""
    return _headers_from_file(fetch(obj, options), obj.size, "whole file")


def fetch_fits_header(obj: RemoteObject, options: DownloadOptions) -> FitsHeaders:
    """The primary and first-extension FITS headers of ``obj``, reading as few bytes as the server allows.

    In order: a verified whole copy in the cache; a cached header; a ranged request for the first
    :data:`FIRST_HEADER_BYTES` (grown until the headers are complete); and, when the server ignores ranges
    (answers 200 with the whole file), a message giving the file's size followed by a full, verified download
    (:func:`fetch`). A header read by range is *not* cached here: it cannot be verified by SHA-256, so the caller
    checks it against verified data and then keeps it with :func:`cache_header`.
    """
    cache = Path(options.cache)
    whole = verified_path(cache, obj)
    if whole is not None:
        return _headers_from_file(whole, obj.size, "cached file")
    cached = _read_cached_header(cache, obj)
    if cached is not None:
        return cached

    action = lfs.request_download(
        options.lfs_url, [obj.pointer], session=options.session, retries=options.retries, timeout=options.timeout
    )[obj.pointer.oid]
    nbytes = FIRST_HEADER_BYTES
    attempt = 0
    while True:
        headers = {**action.header, "Range": f"bytes=0-{nbytes - 1}"}
        chunks: list[bytes] = []
        try:
            with _get(action.href, headers, options, obj.name) as response:
                ranged = response.status_code == 206
                content_range = response.headers.get("Content-Range", "")
                if response.status_code not in (200, 206):
                    raise _status_error(response.status_code, obj.name)
                if ranged:
                    total = _content_range_total(content_range)
                    if total is not None and total != obj.size:
                        raise DownloadError(
                            f"{obj.name}: the server's file has {total:,} bytes but its LFS pointer says "
                            f"{obj.size:,}; it is not the file we want. Nothing was kept."
                        )
                    try:
                        _read_body(response, chunks.append, nbytes, options, obj.name)
                    except DownloadError as error:
                        if "more than" not in str(error):
                            raise
                        # More than asked for: the first nbytes are all we need.
        except _Retryable as error:
            if attempt < options.retries:
                attempt += 1
                time.sleep(min(attempt, 10))
                continue
            raise DownloadError(
                f"{obj.name}: reading its header failed after {_attempts(options.retries)} ({error}: the connection "
                "was lost or timed out); nothing was kept."
            ) from None
        if not ranged:
            options.log(
                f"The server does not allow partial downloads, so reading the header of {obj.name} needs the "
                f"whole file: downloading {format_size(obj.size)}."
            )
            return _headers_from_file(fetch(obj, options, action=action), obj.size, "whole file")
        data = b"".join(chunks)[:nbytes]
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
        return FitsHeaders(
            found[0], found[1] if len(found) > 1 else None, end, "ranged request", data[:end], content_range
        )
