"""The ground floor for files: atomic writes (a temp file in the same folder, then a rename), so
a failure or an interrupt never leaves a partial file. Imports nothing of ours but the errors."""

from __future__ import annotations

import io
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from lev_flows.errors import OutputError

CACHE_ENV = "LEV_FLOWS_CACHE"


def default_cache_dir() -> Path:
    """``$LEV_FLOWS_CACHE``, else ``$XDG_CACHE_HOME/lev_flows``, else ``~/.cache/lev_flows``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lev_flows"


def prune_cache(folder: Path, pattern: str, keep: int) -> None:
    """Delete all but the ``keep`` newest files matching ``pattern`` in a cache folder (parsed
    copies keyed by content would otherwise pile up as the inputs change); errors are ignored."""
    try:
        files = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[keep:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


MiB = 2**20


@dataclass(frozen=True)
class InputLimit:
    """How large a user file of one kind may be: bytes on disk (a gzipped file also at most
    ``GZIP_FACTOR`` times that once unpacked), rows and columns of a table. The README's "Input
    limits" lists them."""

    max_bytes: int
    max_rows: int | None = None
    max_columns: int | None = None


#: the limits per kind of user file (the ``kind`` of :func:`check_input_file`)
INPUT_LIMITS: dict[str, InputLimit] = {
    "price table": InputLimit(256 * MiB, max_rows=30_000, max_columns=20_000),
    "returns file": InputLimit(16 * MiB, max_rows=100_000, max_columns=100),
    "creations CSV": InputLimit(64 * MiB, max_rows=2_000_000, max_columns=100),
    "universe YAML": InputLimit(50 * MiB),
    "screener snapshot": InputLimit(32 * MiB, max_rows=100_000, max_columns=500),
    "published figures": InputLimit(16 * MiB, max_rows=100_000, max_columns=100),
    "AUM file": InputLimit(64 * MiB, max_rows=2_000_000, max_columns=500),
    "holdings file": InputLimit(32 * MiB, max_rows=200_000, max_columns=200),
    "AUM store": InputLimit(4096 * MiB),
}
#: a gzipped input may unpack to at most this many times its kind's byte limit
GZIP_FACTOR = 4
#: the longest header line read to count a table's columns
MAX_HEADER_BYTES = 4 * MiB


def check_input_file(path: str | Path, what: str = "file", *, error: type | None = None, allow_empty: bool = False,
                     kind: str | None = None) -> Path:
    """The one check every reader of a user file makes first, from the file's metadata alone
    (nothing is opened, so a FIFO cannot hang it): the path exists, is a regular file (not a
    directory, FIFO, socket or device; a link is followed and its target checked), is not empty
    unless ``allow_empty``, and is no larger than the byte limit of its ``kind``
    (:data:`INPUT_LIMITS`; a sparse 5 GB file is refused by its size, unread). Raises ``error``
    (default :class:`InputError`; the catalog reader passes :class:`CatalogError`)."""
    from lev_flows.errors import InputError

    error = error or InputError
    if not isinstance(path, (str, os.PathLike)):  # 123, None, a dict: named, never a bare TypeError
        raise error(f"{what}: expected a path (str or pathlib.Path), not {type(path).__name__} {path!r:.60}")
    path = Path(path)
    why = path_problem(path)
    if why:
        raise error(f"{str(path)[:60]}...: {why}")
    try:
        return _check_input(path, what, error, allow_empty, INPUT_LIMITS[kind] if kind else None)
    except OSError as exc:
        raise error(f"{str(path)[:120]}: cannot be read ({exc.strerror or exc})") from None


def _check_input(path: Path, what: str, error: type, allow_empty: bool, limit: InputLimit | None) -> Path:
    import stat

    try:
        st = os.stat(path)  # follows links: the target is what is checked
    except FileNotFoundError:
        dangling = f" (a link to {os.readlink(path)}, which does not exist)" if path.is_symlink() else ""
        raise error(f"{path}: {what} not found{dangling}") from None
    link = f" (a link to {os.path.realpath(path)})" if path.is_symlink() else ""
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{path}: is a directory{link}, expected a {what}")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path}: not a regular file{link} (a device, FIFO or socket), expected a {what}")
    if not allow_empty and st.st_size == 0:
        raise error(f"{path}: empty {what}")
    if limit is not None and st.st_size > limit.max_bytes:
        raise error(f"{path}: {_size(st.st_size)}, over the {_size(limit.max_bytes)} limit for a {what}")
    return path


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / MiB:.0f} MB" if n >= MiB else f"{n:,} bytes"


def open_input(path: str | Path, what: str, *, kind: str, error: type | None = None) -> BinaryIO:
    """A user file, checked (:func:`check_input_file`), opened for binary reading: without
    blocking and checked again on the open descriptor (a file swapped for a FIFO after the check
    cannot hang the read), through a bound that refuses more bytes than the kind's limit however
    the file grows meanwhile, and unpacked when gzipped (magic bytes), the unpacked stream bounded
    at ``GZIP_FACTOR`` x the limit. Errors are ``error`` (default :class:`InputError`), one line."""
    import gzip
    import stat

    from lev_flows.errors import InputError

    error = error or InputError
    path = check_input_file(path, what, error=error, allow_empty=True, kind=kind)
    limit = INPUT_LIMITS[kind].max_bytes
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise error(f"{str(path)[:120]}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise error(f"{path}: not a regular file (a device, FIFO or socket), expected a {what}")
    raw = io.BufferedReader(_Bounded(io.FileIO(fd, "rb"), limit, f"{path}: over the {_size(limit)} limit for a {what}", error))
    if raw.peek(2)[:2] != b"\x1f\x8b":
        return raw
    unpacked = gzip.GzipFile(fileobj=raw, mode="rb")
    big = GZIP_FACTOR * limit
    return io.BufferedReader(_Bounded(unpacked, big, f"{path}: unpacks to more than {_size(big)}, over the limit for a {what}",
                                      error, damaged=f"{path}: cannot read the {what} (corrupt gzip"))


class _Bounded(io.RawIOBase):
    """A read-only stream that raises ``error(message)`` once more than ``limit`` bytes came
    through; with ``damaged``, a read error of the inner stream (a broken gzip) is
    ``error(f"{damaged}: {reason})")``, one line."""

    def __init__(self, inner: Any, limit: int, message: str, error: type, damaged: str | None = None):
        super().__init__()
        self._inner, self._left, self._message, self._error, self._damaged = inner, limit, message, error, damaged

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        import zlib

        try:
            n = self._inner.readinto(buffer)
        except (OSError, EOFError, zlib.error) as exc:  # zlib.error: a damaged deflate stream
            if self._damaged is None:
                raise
            raise self._error(f"{self._damaged}: {exc})") from None
        self._left -= n or 0
        if self._left < 0:
            raise self._error(self._message)
        return n

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()


def read_input_bytes(path: str | Path, what: str, *, kind: str, error: type | None = None, allow_empty: bool = False,
                     table: bool = True) -> bytes:
    """A user file's bytes (unpacked when gzipped) through :func:`open_input`. A ``table`` (CSV)
    with more lines than the kind's ``max_rows`` (plus a header), or a header wider than its
    ``max_columns``, is refused before any parser sees it."""
    from lev_flows.errors import InputError

    error = error or InputError
    limit = INPUT_LIMITS[kind]
    path = check_input_file(path, what, error=error, allow_empty=allow_empty, kind=kind)
    with open_input(path, what, kind=kind, error=error) as fh:
        data = fh.read()
    if table:
        _check_header(data[: MAX_HEADER_BYTES + 1].split(b"\n", 1)[0], path, what, limit, error)
        if limit.max_rows is not None and data.count(b"\n") > limit.max_rows + 1:
            raise error(f"{path}: more than {limit.max_rows:,} rows, over the limit for a {what}")
    return data


def header_columns(path: str | Path, what: str, *, kind: str, error: type | None = None) -> int:
    """The number of columns in a CSV's header line (a gzipped one unpacked), refusing a table
    wider than the kind's ``max_columns`` (or a header line longer than ``MAX_HEADER_BYTES``)
    before a parser sees it: a million-column table is refused in milliseconds."""
    from lev_flows.errors import InputError

    error = error or InputError
    with open_input(path, what, kind=kind, error=error) as fh:
        line = fh.readline(MAX_HEADER_BYTES + 1)
    return _check_header(line.rstrip(b"\r\n"), path, what, INPUT_LIMITS[kind], error)


def _check_header(line: bytes, path: str | Path, what: str, limit: InputLimit, error: type) -> int:
    import csv

    if len(line) > MAX_HEADER_BYTES:
        raise error(f"{path}: a header line of more than {_size(MAX_HEADER_BYTES)} (over {line.count(b','):,} columns), "
                    f"over the limit for a {what}")
    text = line.decode("utf-8-sig", errors="replace")
    n = len(next(csv.reader([text]), [])) if text.strip() else 0
    if limit.max_columns is not None and n > limit.max_columns:
        raise error(f"{path}: {n:,} columns, over the {limit.max_columns:,}-column limit for a {what}")
    return n


def check_table_rows(n_rows: int, path: str | Path, what: str, *, kind: str, error: type | None = None) -> None:
    """Refuse a parsed table with more rows than its kind's ``max_rows``."""
    from lev_flows.errors import InputError

    limit = INPUT_LIMITS[kind].max_rows
    if limit is not None and n_rows > limit:
        raise (error or InputError)(f"{path}: more than {limit:,} rows, over the limit for a {what}")


def _name_too_long(path: Path) -> str | None:
    """Why the file system would refuse ``path``'s name (a part over 255 bytes), else None."""
    long = next((p for p in path.parts if len(p.encode("utf-8", "surrogateescape")) > 255), None)
    return None if long is None else f"a name of {len(long)} characters is longer than the file system allows (255 bytes)"


#: the longest path the operating system takes (Linux's PATH_MAX, less its NUL)
MAX_PATH_BYTES = 4095


def path_problem(path: str | Path) -> str | None:
    """Why the operating system would refuse ``path`` (a NUL character, a part over 255 bytes,
    over 4,095 bytes in all), else None: checked before a path is used, so its refusal is one
    line naming the path, never a raw ``OSError`` or ``ValueError``."""
    text = os.fspath(path)
    if "\0" in text:
        return "a path cannot contain a NUL character"
    why = _name_too_long(Path(text))
    if why:
        return why
    n = len(text.encode("utf-8", "surrogateescape"))
    return None if n <= MAX_PATH_BYTES else f"a path of {n:,} bytes is longer than the operating system allows ({MAX_PATH_BYTES:,})"


def check_target(path: str | Path, force: bool) -> None:
    """Raise :class:`OutputError` if ``path`` cannot be written: missing or unwritable folder, a
    directory, a name the file system refuses, or an existing file without ``force``."""
    path = Path(path)
    why = path_problem(path)
    if why:
        raise OutputError(f"{str(path)[:60]}...: {why}")
    try:
        _check_target(path, force)
    except OutputError:  # an OSError too: our own message, not wrapped again
        raise
    except OSError as exc:  # the file system's own refusal (ELOOP, EACCES ...): one line
        raise OutputError(f"{str(path)[:120]}: cannot be written ({exc.strerror or exc})") from None


def _check_target(path: Path, force: bool) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise OutputError(f"{path}: directory {parent} does not exist")
    if not parent.is_dir():
        raise OutputError(f"{path}: {parent} is not a directory")
    if path.is_dir():
        raise OutputError(f"{path}: is a directory")
    if path.is_symlink() or (path.exists() and not path.is_file()):
        # --force replaces a file, never a link, a FIFO or a device such as /dev/null
        raise OutputError(f"{path}: not a regular file (a link, FIFO or device); give a file path")
    if path.exists() and not force:
        raise OutputError(f"{path}: already exists; pass force=True to overwrite")  # the CLI shows --force
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{path}: directory {parent} is not writable")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes, *, force: bool = False, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` via a temp file in the same directory and a rename, so a
    failure (disk full, interrupt) never leaves a partial file. Refuses to overwrite an
    existing file unless ``force``. ``durable=False`` skips the fsync (a cache, checked on read
    and rebuilt when a crash lost it)."""
    path = Path(path)
    check_target(path, force)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write in {path.parent} ({exc.strerror or exc})") from None
    try:
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str, *, force: bool = False) -> Path:
    # a name that is not UTF-8 (a file called caf\xe9) is written as its visible escape, \udce9
    return atomic_write_bytes(path, text.encode("utf-8", "backslashreplace"), force=force)


#: the first bytes of a derived file written by :func:`write_cache`
CACHE_MAGIC = b"lev_flows derived 1 "
#: the largest derived file read back
MAX_CACHE_BYTES = 2048 * MiB


def write_cache(path: str | Path, payload: bytes, meta: dict[str, Any]) -> bool:
    """Write a derived file (a parsed copy of an input, a snapshot of the store): one header
    line, ``CACHE_MAGIC`` then JSON of ``meta`` (what it was made from: the source's identity)
    with the payload's SHA-256 and length, then the payload. Atomic (temp file + rename), not
    fsynced (a copy a crash lost is rebuilt). False, never an error, when it cannot be written."""
    import hashlib
    import json

    head = {**meta, "sha256": hashlib.sha256(payload).hexdigest(), "bytes": len(payload)}
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, CACHE_MAGIC + json.dumps(head, sort_keys=True).encode() + b"\n" + payload,
                           force=True, durable=False)
    except (OSError, OutputError, TypeError, ValueError):
        return False
    return True


def read_cache(path: str | Path, meta: dict[str, Any]) -> tuple[bytes, dict[str, Any]] | None:
    """``(payload, header)`` of a derived file written by :func:`write_cache`, only when it is a
    regular file whose header carries ``meta`` exactly and whose payload has the recorded length
    and SHA-256; None otherwise (missing, edited, truncated, made from another source): the caller
    rebuilds it from its source."""
    import hashlib
    import json
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_CACHE_BYTES:
            return None
        data = fh.read(MAX_CACHE_BYTES + 1)
    if not data.startswith(CACHE_MAGIC) or b"\n" not in data[:65536]:
        return None
    line, payload = data[len(CACHE_MAGIC):].split(b"\n", 1)
    try:
        head = json.loads(line)
    except ValueError:
        return None
    if not isinstance(head, dict) or any(head.get(k) != v for k, v in json.loads(json.dumps(meta)).items()):
        return None
    if head.get("bytes") != len(payload) or head.get("sha256") != hashlib.sha256(payload).hexdigest():
        return None
    return payload, head


def file_identity(path: str | Path) -> list[int]:
    """What says a file is the same one as before without reading it: size, modification and
    change times (ns; ``touch`` can reset the first, nothing resets the second) and inode."""
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


__all__ = [
    "INPUT_LIMITS",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_input_file",
    "check_target",
    "file_identity",
    "header_columns",
    "open_input",
    "read_cache",
    "read_input_bytes",
    "write_cache",
]


@contextmanager
def exclusive_lock(path: str | Path):
    """Hold an exclusive advisory lock on ``path`` (created if needed) for the ``with`` block;
    a second writer gets :class:`OutputError` at once instead of mixing its files in."""
    import fcntl

    path = Path(path)
    try:
        fh = open(path, "a+")
    except OSError as exc:
        raise OutputError(f"{path}: cannot create the lock file ({exc.strerror or exc})") from None
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(f"{path.parent}: another lev-flows run is writing here; try again when it ends") from None
        yield path
    finally:
        fh.close()
