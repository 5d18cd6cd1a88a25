"""The ground floor for files: atomic writes (a temp file in the same folder, then a rename), so
a failure or an interrupt never leaves a partial file. Imports nothing of ours but the errors."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

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


def check_input_file(path: str | Path, what: str = "file", *, error: type | None = None, allow_empty: bool = False) -> Path:
    """The one check every reader of a user file makes first: the path exists, is a regular
    file (not a directory, FIFO or device) and, unless ``allow_empty``, is not empty. Raises
    ``error`` (default :class:`InputError`; the catalog reader passes :class:`CatalogError`)."""
    from lev_flows.errors import InputError

    error = error or InputError
    path = Path(path)
    why = _name_too_long(path)
    if why:
        raise error(f"{str(path)[:60]}...: {why}")
    try:
        return _check_input(path, what, error, allow_empty)
    except OSError as exc:
        raise error(f"{str(path)[:120]}: cannot be read ({exc.strerror or exc})") from None


def _check_input(path: Path, what: str, error: type, allow_empty: bool) -> Path:
    if not path.exists():
        raise error(f"{path}: {what} not found")
    if path.is_dir():
        raise error(f"{path}: is a directory, expected a {what}")
    if not path.is_file():
        raise error(f"{path}: not a regular file (a device, FIFO or socket), expected a {what}")
    if not allow_empty and path.stat().st_size == 0:
        raise error(f"{path}: empty {what}")
    return path


def _name_too_long(path: Path) -> str | None:
    """Why the file system would refuse ``path``'s name (a part over 255 bytes), else None."""
    long = next((p for p in path.parts if len(p.encode("utf-8", "surrogateescape")) > 255), None)
    return None if long is None else f"a name of {len(long)} characters is longer than the file system allows (255 bytes)"


def check_target(path: str | Path, force: bool) -> None:
    """Raise :class:`OutputError` if ``path`` cannot be written: missing or unwritable folder, a
    directory, a name the file system refuses, or an existing file without ``force``."""
    path = Path(path)
    why = _name_too_long(path)
    if why:
        raise OutputError(f"{str(path)[:60]}...: {why}")
    try:
        _check_target(path, force)
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
        raise OutputError(f"{path}: already exists; pass --force to overwrite")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{path}: directory {parent} is not writable")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` via a temp file in the same directory and a rename, so a
    failure (disk full, interrupt) never leaves a partial file. Refuses to overwrite an
    existing file unless ``force``."""
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
    return atomic_write_bytes(path, text.encode("utf-8"), force=force)


__all__ = ["atomic_write_bytes", "atomic_write_text", "check_target"]


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
