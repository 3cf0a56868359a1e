"""A small client for the Git LFS batch API: ask an LFS server where to download objects.

Git LFS keeps large files out of a Git repository: the repository holds a small *pointer* file per large file,
and an LFS server holds the content, addressed by its SHA-256 (the ``oid``) and size. A pointer reads::

    version https://git-lfs.github.com/spec/v1
    oid sha256:5ffdd0015d78967f82019837a585af1a7a68a17397c3fe653130592a6fdbb4a7
    size 2664000

To download, a client POSTs to ``<LFS URL>/objects/batch`` (git-lfs ``docs/api/batch.md``) with the headers
``Accept`` and ``Content-Type`` set to ``application/vnd.git-lfs+json`` and the body::

    {"operation": "download", "transfers": ["basic"], "objects": [{"oid": "...", "size": 2664000}]}

A server that has the object answers 200 with ``objects[].actions.download`` holding ``href`` (where to GET the
bytes), an optional ``header`` dict to send with that GET, and ``expires_in`` / ``expires_at``; an object it
cannot serve gets ``objects[].error = {"code": 404, "message": "..."}`` instead. A request the server refuses as a
whole gets an HTTP error status (401, 403, 404, 422, 429, 5xx) and a JSON body with ``message``. The ``basic``
transfer (git-lfs ``docs/api/basic-transfers.md``) is a plain GET of ``href``.

Only what downloading needs is implemented: no uploads, no authentication beyond what the server returns in
``header`` (the lesson's data are public), no transfer adapters other than ``basic``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests

__all__ = [
    "LFS_MEDIA_TYPE",
    "DownloadAction",
    "LFSError",
    "LFSObjectError",
    "LFSPointer",
    "LFSUnavailableError",
    "batch_url",
    "check_http_url",
    "redact_url",
    "request_download",
]

#: Media type of Git LFS API requests and answers (git-lfs ``docs/api/batch.md``).
LFS_MEDIA_TYPE = "application/vnd.git-lfs+json"
#: First line of every Git LFS pointer file.
POINTER_VERSION = "https://git-lfs.github.com/spec/v1"

_OID_RE = re.compile(r"[0-9a-f]{64}")
# Answers worth asking again after a pause: rate limit and server-side failures (git-lfs batch.md).
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class LFSError(RuntimeError):
    """The LFS server's answer cannot be used (malformed, or an unexpected status)."""


class LFSUnavailableError(LFSError):
    """The LFS server cannot be reached, or refuses the request as a whole.

    Attributes
    ----------
    url : str
        The batch URL asked.
    status : int or None
        HTTP status of the refusal; None when there was no answer (offline, DNS failure, timeout).
    """

    def __init__(self, message: str, url: str, status: int | None = None):
        super().__init__(message)
        self.url = url
        self.status = status


class LFSObjectError(LFSError):
    """The server answered, but cannot serve one object (``objects[].error``, or no download action).

    Attributes
    ----------
    oid : str
        The object's SHA-256.
    code : int or None
        The server's error code for it (404: no such object, 410: removed, 422: invalid), if it gave one.
    """

    def __init__(self, message: str, oid: str, code: int | None = None):
        super().__init__(message)
        self.oid = oid
        self.code = code


@dataclass(frozen=True)
class LFSPointer:
    """What a Git LFS pointer file says about one file: its SHA-256 and size in bytes."""

    oid: str
    size: int

    def __post_init__(self):
        if not isinstance(self.oid, str) or not _OID_RE.fullmatch(self.oid):
            raise ValueError(f"an LFS oid is 64 lower-case hex digits (a SHA-256), got {self.oid!r}")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise ValueError(f"an LFS object size is a whole number of bytes >= 0, got {self.size!r}")

    @classmethod
    def parse(cls, text: str) -> LFSPointer:
        """Read a pointer file's text (``version``, ``oid sha256:...``, ``size ...`` lines)."""
        fields = {}
        for line in text.strip().splitlines():
            key, _, value = line.strip().partition(" ")
            fields[key] = value.strip()
        if fields.get("version") != POINTER_VERSION:
            raise ValueError(f"not a Git LFS pointer (first line should be 'version {POINTER_VERSION}')")
        oid = fields.get("oid", "")
        if not oid.startswith("sha256:"):
            raise ValueError(f"LFS pointer has no 'oid sha256:...' line: {oid!r}")
        try:
            size = int(fields.get("size", ""))
        except ValueError:
            raise ValueError(f"LFS pointer has no valid 'size' line: {fields.get('size')!r}") from None
        return cls(oid.removeprefix("sha256:"), size)

    def to_json(self) -> dict:
        return {"oid": self.oid, "size": self.size}


@dataclass(frozen=True)
class DownloadAction:
    """Where and how to GET one object (``objects[].actions.download`` of a batch answer)."""

    href: str
    header: Mapping[str, str] = field(default_factory=dict)
    expires_in: int | None = None
    expires_at: str | None = None


def batch_url(lfs_url: str) -> str:
    """The batch endpoint of an LFS server URL: ``<lfs_url>/objects/batch`` (a query string kept after it)."""
    base, mark, query = lfs_url.split("#", 1)[0].partition("?")
    return base.rstrip("/") + "/objects/batch" + mark + query


def redact_url(url: str) -> str:
    """``url`` without its user info (``user:password@``) and query string, for messages: both can hold credentials
    (signed download URLs carry them in the query). Plain text handling, so that even a malformed URL is redacted."""
    base, mark, _ = url.split("#", 1)[0].partition("?")
    scheme, sep, rest = base.partition("://")
    if not sep:
        scheme, rest = "", base
    netloc, slash, path = rest.partition("/")
    return f"{scheme}{sep}{netloc.rpartition('@')[2]}{slash}{path}" + ("?..." if mark else "")


def _redact_in(text: str, url: str) -> str:
    """``text`` (an exception's, say) with ``url``, its user info and its query replaced by their redacted form."""
    text = text.replace(url, redact_url(url))
    base = url.split("#", 1)[0]
    secrets = [base.partition("?")[2], base.partition("://")[2].partition("/")[0].rpartition("@")[0]]
    for secret in filter(None, secrets):
        text = text.replace(secret, "...")
    return text


def _server_message(response: requests.Response) -> str:
    """The ``message`` of an LFS error body, else the start of the body, else the reason phrase."""
    try:
        raw = _read_limited(response, response.url)
        body = json.loads(raw)
    except LFSError:
        return response.reason or ""
    except ValueError:
        text = raw.decode(errors="replace").strip().replace("\n", " ")
        return text[:200] or response.reason or ""
    if isinstance(body, Mapping) and body.get("message"):
        return str(body["message"])[:200]
    return response.reason or ""


def _refusal(response: requests.Response, url: str) -> LFSUnavailableError:
    status = response.status_code
    message = _server_message(response)
    meaning = {
        401: "it wants credentials, but these data are public: check the --lfs-url",
        403: "access is forbidden",
        404: "it has no such repository: check the --lfs-url",
        406: "it does not accept the Git LFS media type",
        413: "the request was too large",
        422: "it found the request invalid",
        429: "too many requests; try again later",
    }.get(status, "the server failed" if status >= 500 else "unexpected answer")
    detail = f": {message}" if message else ""
    return LFSUnavailableError(
        f"the Git LFS server {redact_url(url)} refused the request (HTTP {status}, {meaning}{detail}).", url, status
    )


def request_download(
    lfs_url: str,
    objects: Sequence[LFSPointer],
    *,
    session: requests.Session | None = None,
    timeout: float = 30.0,
    retries: int = 2,
    backoff: float = 1.0,
) -> dict[str, DownloadAction]:
    """Ask the LFS server for download actions, one per object.

    Parameters
    ----------
    lfs_url : str
        The LFS server URL of the repository (``lfs.url`` in its ``.lfsconfig``).
    objects : sequence of LFSPointer
        The objects wanted, by SHA-256 and size.
    session : requests.Session, optional
        Session to use (a new one otherwise).
    timeout : float
        Seconds to wait for the server to connect and to answer.
    retries : int
        How many times to ask again after no answer, a 429 or a 5xx, waiting ``backoff``, ``2 * backoff``, ...
        seconds in between.
    backoff : float
        First wait, in seconds.

    Returns
    -------
    dict
        ``{oid: DownloadAction}`` for every object asked.

    Raises
    ------
    LFSUnavailableError
        No answer (offline), or an error status for the whole request (401, 403, 404, 5xx after retries...).
    LFSObjectError
        The server cannot serve one of the objects (per-object error, or no ``download`` action).
    LFSError
        The answer is not the JSON the batch API defines.
    """
    url = batch_url(lfs_url)
    check_http_url(url, "the Git LFS server address (--lfs-url)")
    wanted = {obj.oid: obj for obj in objects}
    body = {"operation": "download", "transfers": ["basic"], "objects": [obj.to_json() for obj in wanted.values()]}
    headers = {"Accept": LFS_MEDIA_TYPE, "Content-Type": LFS_MEDIA_TYPE}
    http = session or requests.Session()
    attempt = 0
    while True:
        try:
            response = http.post(url, json=body, headers=headers, timeout=timeout, stream=True, allow_redirects=False)
        except (requests.ConnectionError, requests.Timeout) as error:
            if attempt < retries and "Failed to resolve" not in str(error):  # no name service: offline, don't wait
                time.sleep(backoff * 2**attempt)
                attempt += 1
                continue
            reason = _connection_reason(error)
            raise LFSUnavailableError(
                f"cannot reach the Git LFS server {redact_url(url)} ({_redact_in(reason, url)}); are you offline?", url
            ) from None
        except requests.RequestException as error:
            detail = _redact_in(str(error), url)
            raise LFSUnavailableError(f"cannot ask the Git LFS server {redact_url(url)} ({detail}).", url) from None
        if response.status_code in _RETRY_STATUSES and attempt < retries:
            response.close()
            time.sleep(backoff * 2**attempt)
            attempt += 1
            continue
        break
    with response:
        if response.status_code != 200:
            raise _refusal(response, url)
        text = _read_limited(response, url, timeout)
    try:
        answer = json.loads(text)
    except ValueError:
        raise LFSError(f"the Git LFS server {redact_url(url)} answered with something that is not JSON.") from None
    return _parse_answer(answer, wanted, url)


#: Largest batch answer read: a few kB per object is plenty (git-lfs batch.md answers are small JSON).
MAX_ANSWER_BYTES = 1_000_000


def _read_limited(response: requests.Response, url: str, timeout: float = 30.0) -> bytes:
    """The batch answer, at most :data:`MAX_ANSWER_BYTES`, read within ``timeout`` seconds in all (a server that
    drips its answer a byte at a time never trips a per-read timeout)."""
    import urllib3

    chunks, total = [], 0
    deadline = time.monotonic() + timeout
    while True:
        try:
            chunk = response.raw.read1(16 * 1024, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError:
            raise LFSUnavailableError(
                f"the Git LFS server {redact_url(url)} stopped answering for {timeout:g} s (--timeout).", url
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            message = f"the Git LFS server {redact_url(url)} answer was cut off ({type(error).__name__})."
            raise LFSUnavailableError(message, url) from None
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > MAX_ANSWER_BYTES:
            raise LFSError(
                f"the Git LFS server {redact_url(url)} sent a batch answer larger than {MAX_ANSWER_BYTES:,} bytes."
            )
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise LFSUnavailableError(
                f"the Git LFS server {redact_url(url)} did not finish its answer within {timeout:g} s (--timeout).", url
            )


def _connection_reason(error: Exception) -> str:
    """A short reason for a failed connection, without urllib3's wrapping (object reprs, memory addresses)."""
    if isinstance(error, requests.Timeout):
        return "no answer before the timeout"
    text = str(error)
    if "(Caused by " in text:
        text = text.split("(Caused by ", 1)[1]
    match = re.search(r"Failed to establish a new connection: (.*)|(Failed to resolve .*)", text)
    if match:
        text = match.group(1) or match.group(2)
    elif ">: " in text:
        text = text.rsplit(">: ", 1)[1]
    text = re.sub(r"""['"]\)+$""", "", text.strip())
    return text or type(error).__name__


#: Header names: RFC 9110 tokens. Header values: visible characters, spaces and tabs (no CR, LF or NUL).
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE_RE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


def check_http_url(url: str, what: str) -> None:
    """LFSError unless ``url`` is an absolute http or https URL (never file://, ftp://, ...)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (parses the port, which urlsplit alone does not check)
    except ValueError as error:
        raise LFSError(
            f"{what} is {redact_url(url)!r}, which is not a valid address ({error}); give an http or https URL."
        ) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        scheme = parts.scheme or "no scheme"
        raise LFSError(f"{what} is {redact_url(url)!r} ({scheme}); only http and https addresses are accepted.")


def _malformed(url: str, oid: str, what: str) -> LFSError:
    return LFSError(f"the Git LFS server {redact_url(url)} gave a malformed answer for object {oid[:12]}...: {what}.")


def _parse_action(item: Mapping, oid: str, url: str) -> DownloadAction:
    """The ``actions.download`` of one object, checked against git-lfs ``docs/api/batch.md``."""
    actions = item.get("actions")
    if actions is None:
        raise LFSObjectError(f"the Git LFS server gave no download action for object {oid[:12]}....", oid)
    if not isinstance(actions, Mapping):
        raise _malformed(url, oid, f"'actions' is a {type(actions).__name__}, not an object")
    download = actions.get("download")
    if download is None:
        raise LFSObjectError(f"the Git LFS server gave no download action for object {oid[:12]}....", oid)
    if not isinstance(download, Mapping):
        raise _malformed(url, oid, f"'actions.download' is a {type(download).__name__}, not an object")
    href = download.get("href")
    if not isinstance(href, str) or not href:
        raise _malformed(url, oid, "'href' is missing or not a string")
    try:
        href = urljoin(url, href)
    except ValueError:
        raise _malformed(url, oid, "'href' is not a valid URL") from None
    check_http_url(href, f"the download address the Git LFS server gave for object {oid[:12]}...")
    header = download.get("header", {})
    if header is None:
        header = {}
    if not isinstance(header, Mapping):
        raise _malformed(url, oid, f"'header' is a {type(header).__name__}, not an object")
    for key, value in header.items():
        if not isinstance(key, str) or not _HEADER_NAME_RE.fullmatch(key):
            raise _malformed(url, oid, f"the header name {str(key)[:40]!r} is not a valid HTTP header name")
        if not isinstance(value, str) or not _HEADER_VALUE_RE.fullmatch(value):
            raise _malformed(url, oid, f"the value of header {key!r} is not a valid HTTP header value (CR, LF or NUL)")
    expires_in = download.get("expires_in")
    if expires_in is not None and (isinstance(expires_in, bool) or not isinstance(expires_in, int)):
        raise _malformed(url, oid, "'expires_in' is not a whole number of seconds")
    expires_at = download.get("expires_at")
    if expires_at is not None and not isinstance(expires_at, str):
        raise _malformed(url, oid, "'expires_at' is not a string")
    return DownloadAction(href=href, header=dict(header), expires_in=expires_in, expires_at=expires_at)


def _parse_answer(answer, wanted: Mapping[str, LFSPointer], url: str) -> dict[str, DownloadAction]:
    """The download actions of a batch answer, every field checked against git-lfs ``docs/api/batch.md``."""
    if not isinstance(answer, Mapping) or not isinstance(answer.get("objects"), list):
        raise LFSError(f"the Git LFS server {redact_url(url)} answered without an 'objects' list.")
    transfer = answer.get("transfer", "basic")
    if transfer not in (None, "basic"):
        raise LFSError(
            f"the Git LFS server {redact_url(url)} chose the transfer adapter {transfer!r}; only 'basic' is supported."
        )
    actions: dict[str, DownloadAction] = {}
    for item in answer["objects"]:
        if not isinstance(item, Mapping) or item.get("oid") not in wanted:
            continue  # an object we did not ask for: ignore it
        oid = item["oid"]
        error = item.get("error")
        if error:
            code = error.get("code") if isinstance(error, Mapping) else None
            message = error.get("message", "") if isinstance(error, Mapping) else str(error)
            code = code if isinstance(code, int) and not isinstance(code, bool) else None
            raise LFSObjectError(
                f"the Git LFS server cannot serve object {oid[:12]}... (error {code}: {str(message)[:200]}).", oid, code
            )
        actions[oid] = _parse_action(item, oid, url)
    missing = [oid for oid in wanted if oid not in actions]
    if missing:
        raise LFSObjectError(
            f"the Git LFS server did not answer for object {missing[0][:12]}... (it returned no entry for it).",
            missing[0],
        )
    return actions
