"""The one HTTP client every online provider shares.

* httpx with a connect/read timeout per request and an overall deadline per response, so a
  server that drips one byte a second cannot hold a fetch forever. httpx's timeouts are per
  socket operation, so every connect, write and read is also bounded by what is left of the
  request's budget (:class:`_BoundedBackend`): the response headers must be complete within
  ``timeout_s``, the whole response within ``deadline_s``, and neither past the run's deadline;
* retries with tenacity: exponential backoff with jitter on timeouts, connection errors,
  truncated bodies, 429 and 5xx; a 429's ``Retry-After`` (seconds or an HTTP date) is honoured,
  capped at ``max_retry_after_s``;
* a polite concurrency limit for many symbols (a thread pool of ``concurrency`` workers);
* an on-disk cache with expiry. An entry is written only after the provider has parsed the
  body successfully, through a temp file and a rename, so a failure or a crash never leaves
  a partial or invalid entry. Unreadable entries are ignored and removed.

Providers call :meth:`HttpClient.get` with a ``parse`` function that turns ``(status, body)``
into their result or raises :class:`BadResponse`; failures come back as
:class:`~lev_flows.errors.DataSourceError` naming the symbol and the URL.
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import ipaddress
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, TypeVar

import httpcore
import httpx
from pydantic import BaseModel, Field
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from lev_flows.clock import system_now
from lev_flows.errors import DataSourceError
from lev_flows.io import CACHE_ENV, default_cache_dir  # noqa: F401 - re-exported: the cache folder is the providers' too

T = TypeVar("T")

USER_AGENT = "lev_flows/0.2 (+https://github.com/lev-flows; leveraged ETF rebalancing estimates)"


class HttpSettings(BaseModel):
    """Network behaviour of the shared client (seconds, counts, bytes)."""

    timeout_s: float = Field(10.0, gt=0, description="connect / read timeout, and the most the response headers may take")
    deadline_s: float = Field(30.0, gt=0, description="longest a single response may take in total")
    attempts: int = Field(4, ge=1, le=10, description="tries per URL, the first included")
    backoff_s: float = Field(0.5, ge=0, description="first backoff; doubles each retry, with jitter")
    max_backoff_s: float = Field(8.0, ge=0)
    max_retry_after_s: float = Field(30.0, ge=0, description="cap on a server's Retry-After (also never past deadline_s)")
    run_deadline_s: float = Field(300.0, gt=0, description="the whole run's budget: requests not started by then fail, "
                                  "one in flight is cut off")
    concurrency: int = Field(4, ge=1, le=32, description="requests in flight at once")
    max_bytes: int = Field(20 * 2**20, gt=0)
    cache_dir: Path | None = None
    user_agent: str = USER_AGENT


class Transient(Exception):
    """A failure worth retrying (timeout, connection, truncated body, 429, 5xx)."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


class SourceUnavailable(DataSourceError):
    """A request still failed after every retry (timeouts, connection errors, 429, 5xx)."""


class RunDeadline(DataSourceError):
    """The run's overall deadline passed before this request could be made."""


class BadResponse(Exception):
    """The server answered, but not with what the provider expected (not retried)."""


_BUDGET = threading.local()  # ``until``: the monotonic time this thread's request must be done by


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """A socket operation's timeout, cut to what is left of the request's budget (none set: as is)."""
    until = getattr(_BUDGET, "until", None)
    if until is None:
        return timeout
    left = until - time.monotonic()
    if left <= 0:
        raise error("the request's time budget is spent")
    return left if timeout is None else min(timeout, left)


def _resolve(host: str, port: int, timeout: float | None) -> list[str]:
    """``host``'s addresses, the lookup bounded by ``timeout`` (``getaddrinfo`` itself has no
    timeout: it runs in a daemon thread, left to finish on its own when it is too slow)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return [host]
    except ValueError:
        pass
    answer: list = []

    def lookup() -> None:
        try:
            answer.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            answer.append(exc)

    worker = threading.Thread(target=lookup, name=f"dns {host}", daemon=True)
    worker.start()
    worker.join(timeout)
    if not answer:
        raise httpcore.ConnectTimeout(f"looking up {host} took over {timeout:.2g} s")
    if isinstance(answer[0], OSError):
        raise httpcore.ConnectError(f"{host}: {answer[0]}")
    return list(dict.fromkeys(info[4][0] for info in answer[0]))


class _BoundedStream(httpcore.NetworkStream):
    """A network stream whose every read, write and TLS handshake ends by the request's budget."""

    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None, timeout: float | None = None):
        return _BoundedStream(self._inner.start_tls(ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _BoundedBackend(httpcore.NetworkBackend):
    """httpcore's own backend, its connections cut to the request's budget (see :func:`_left`)."""

    def __init__(self, inner: httpcore.NetworkBackend):
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        error: Exception | None = None
        for address in _resolve(host, port, _left(timeout, httpcore.ConnectTimeout)):
            try:
                stream = self._inner.connect_tcp(address, port, _left(timeout, httpcore.ConnectTimeout), local_address,
                                                 socket_options)
                return _BoundedStream(stream)
            except httpcore.ConnectError as exc:  # the next address, as socket.create_connection does
                error = exc
        raise error or httpcore.ConnectError(f"{host}: no address")

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> httpcore.NetworkStream:
        return _BoundedStream(self._inner.connect_unix_socket(path, _left(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _bound(client: httpx.Client) -> None:
    """Every httpcore pool of ``client`` (its transport, an environment proxy's) gets the bounded
    backend. A transport without one (a test's MockTransport) makes no socket calls to bound."""
    for transport in (client._transport, *client._mounts.values()):
        pool = getattr(transport, "_pool", None)
        if pool is not None and not isinstance(pool._network_backend, _BoundedBackend):
            pool._network_backend = _BoundedBackend(pool._network_backend)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """A ``Retry-After`` header as seconds: ``"3"`` or an HTTP date; None if absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (system_now().timestamp() if now is None else now))


class HttpClient:
    """Shared httpx client with retries, a deadline, a concurrency limit and a disk cache.

    ``sleep`` is the function used to wait between tries (tests pass a recorder).
    """

    def __init__(
        self,
        settings: HttpSettings | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ):
        self.settings = settings or HttpSettings()
        self._sleep = sleep
        self._started = time.monotonic()
        self.requests = 0  # HTTP requests sent (retries included; cache hits not)
        self._count_lock = threading.Lock()
        limits = httpx.Limits(max_connections=self.settings.concurrency, max_keepalive_connections=self.settings.concurrency)
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.settings.timeout_s),
            headers={"User-Agent": self.settings.user_agent, "Accept": "application/json, text/csv, */*"},
            follow_redirects=True,
            limits=limits,
            transport=transport,
        )
        if transport is None:
            _bound(self._client)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- one URL ------------------------------------------------------------------------------

    def get(
        self,
        url: str,
        parse: Callable[[int, bytes], T],
        *,
        params: dict[str, Any] | None = None,
        what: str,
        ttl_s: float = 0.0,
        cache_if: Callable[[T], bool] | None = None,
        max_bytes: int | None = None,
        deadline_s: float | None = None,
    ) -> T:
        """GET ``url`` and return ``parse(status, body)``; cached for ``ttl_s`` seconds.

        ``what`` names the request in errors (a symbol, a fund). ``max_bytes`` / ``deadline_s``
        replace the settings' limits for this request (an issuer's one large all-funds file).
        Raises DataSourceError.
        """
        try:
            full = str(httpx.URL(url, params=params or {}))
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            raise DataSourceError(f"{what}: {url!r} is not a URL ({exc})") from None
        cached = self._cache_read(full, parse) if ttl_s > 0 else None
        if cached is not None:
            return cached
        try:
            status, body = self._fetch_with_retries(full, max_bytes, deadline_s)
            result = parse(status, body)
        except RunDeadline as exc:
            raise RunDeadline(f"{what}: {exc}") from None
        except Transient as exc:
            tries = f"{self.settings.attempts} tries" if self.settings.attempts != 1 else "1 try"
            raise SourceUnavailable(f"{what}: {exc} after {tries} ({full})") from None
        except BadResponse as exc:
            raise DataSourceError(f"{what}: {exc} ({full})") from None
        except DataSourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - an answer of an unexpected shape is this item's failure, never the run's
            raise DataSourceError(f"{what}: unreadable answer ({type(exc).__name__}: {str(exc)[:200]}) ({full})") from None
        if ttl_s > 0 and (cache_if is None or cache_if(result)):  # only a complete answer is kept
            self._cache_write(full, status, body, ttl_s)
        return result

    def _fetch_with_retries(self, url: str, max_bytes: int | None = None, deadline_s: float | None = None) -> tuple[int, bytes]:
        s = self.settings
        jitter = wait_exponential(multiplier=s.backoff_s, max=s.max_backoff_s) + wait_random(0, s.backoff_s)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, Transient) and exc.retry_after is not None:
                # a server's Retry-After is honoured within this request's own budget
                return min(exc.retry_after, s.max_retry_after_s, s.deadline_s)
            return jitter(state)

        def out_of_time(state: RetryCallState) -> bool:
            return self.remaining() <= 0

        retrying = Retrying(
            stop=stop_after_attempt(s.attempts) | out_of_time,
            wait=wait,
            retry=retry_if_exception_type(Transient),
            sleep=self._sleep,
            reraise=True,
        )
        return retrying(self._fetch_once, url, max_bytes or s.max_bytes, deadline_s or s.deadline_s)

    def remaining(self) -> float:
        """Seconds left of the run's deadline (``run_deadline_s`` from the client's creation)."""
        return self.settings.run_deadline_s - (time.monotonic() - self._started)

    def _fetch_once(self, url: str, max_bytes: int, deadline_s: float) -> tuple[int, bytes]:
        s = self.settings
        run_left = self.remaining()
        if run_left <= 0:
            raise RunDeadline(f"not fetched: the run's deadline of {s.run_deadline_s:g} s has passed")
        start = time.monotonic()
        with self._count_lock:
            self.requests += 1
        # the phases' budgets: headers within timeout_s, the whole response within deadline_s,
        # neither past the run's deadline; each phase's message says which limit it hit
        phases = {"headers": min(s.timeout_s, deadline_s, run_left), "body": min(deadline_s, run_left)}
        phase = "headers"
        _BUDGET.until = start + phases[phase]
        try:
            with self._client.stream("GET", url) as resp:
                phase = "body"
                _BUDGET.until = start + phases[phase]
                return self._read_body(resp, max_bytes, deadline_s, start)
        except httpx.TimeoutException as exc:
            took = time.monotonic() - start
            if str(exc).startswith("looking up "):  # the name lookup took the budget (see _resolve)
                raise Transient(str(exc)) from None
            if phases[phase] >= run_left and took >= phases[phase] - 0.05:  # the run's budget, not this request's
                raise RunDeadline(f"cut off mid-request: the run's deadline of {s.run_deadline_s:g} s has passed") from None
            raise Transient(self._slow(phase, phases[phase], deadline_s, took)) from None
        except httpx.RemoteProtocolError as exc:
            raise Transient(f"connection closed mid-response, body truncated ({exc})") from None
        except httpx.TooManyRedirects:
            raise BadResponse("redirect loop (too many redirects)") from None
        except httpx.TransportError as exc:
            raise Transient(f"connection failed ({type(exc).__name__}: {exc})") from None
        except httpx.HTTPError as exc:  # any other request error: this item fails, with the reason
            raise BadResponse(f"request failed ({type(exc).__name__}: {exc})") from None
        finally:
            _BUDGET.until = None

    def _slow(self, phase: str, budget: float, deadline_s: float, took: float) -> str:
        """Why a request timed out: a socket's own timeout, or the budget of its phase."""
        s = self.settings
        if took < budget - 0.05:  # a single connect / read waited its whole timeout_s
            return f"timed out after {s.timeout_s:g} s"
        if phase == "headers" and budget < deadline_s:
            return f"no complete response headers within {budget:g} s (--timeout; too slow)"
        return f"response still arriving after {deadline_s:g} s (too slow)"

    @staticmethod
    def _read_body(resp: httpx.Response, max_bytes: int, deadline_s: float, start: float) -> tuple[int, bytes]:
        if resp.status_code == 429:
            raise Transient("HTTP 429 too many requests", retry_after_seconds(resp.headers.get("Retry-After")))
        if resp.status_code >= 500:
            raise Transient(f"HTTP {resp.status_code} server error")
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise BadResponse(f"response larger than {max_bytes:,} bytes")
            if time.monotonic() - start > deadline_s:
                raise Transient(f"response still arriving after {deadline_s:g} s (too slow)")
            chunks.append(chunk)
        if time.monotonic() - start > deadline_s:
            raise Transient(f"response took over {deadline_s:g} s (too slow)")
        return resp.status_code, b"".join(chunks)

    # ---- many URLs ----------------------------------------------------------------------------

    def get_many(
        self,
        requests: Iterable[tuple[str, str, dict[str, Any] | None]],
        parse: Callable[[str, int, bytes], T],
        *,
        ttl_s: float = 0.0,
        progress: Callable[[str, bool], None] | None = None,
        cache_if: Callable[[T], bool] | None = None,
        max_bytes: int | None = None,
        deadline_s: float | None = None,
    ) -> tuple[dict[str, T], dict[str, str]]:
        """Fetch ``(key, url, params)`` requests with at most ``concurrency`` in flight.

        ``parse(key, status, body)`` reads each response. Returns ``(results by key, error
        message by key)``; one failure never stops the rest.
        ``progress(key, ok)`` is called as each finishes.

        A source that is down is not hammered ~2,000 times: if the first ``unreachable_after``
        requests to finish all failed after their retries (no answer at all, not merely an
        unknown symbol), the rest are cancelled and :class:`SourceUnavailable` is raised.
        """
        results: dict[str, T] = {}
        errors: dict[str, str] = {}
        unreachable_after = max(8, 2 * self.settings.concurrency)
        down = 0
        with ThreadPoolExecutor(max_workers=self.settings.concurrency) as pool:
            futures = {
                pool.submit(self.get, url, functools.partial(parse, key), params=params, what=key, ttl_s=ttl_s,
                            cache_if=cache_if, max_bytes=max_bytes, deadline_s=deadline_s): key
                for key, url, params in requests
            }
            for fut in as_completed(futures):
                key = futures[fut]
                try:
                    results[key] = fut.result()
                except RunDeadline as exc:
                    errors[key] = str(exc)  # out of time: listed, not counted as the source being down
                except SourceUnavailable as exc:
                    errors[key] = str(exc)
                    down += 1
                except DataSourceError as exc:
                    errors[key] = str(exc)
                if progress is not None:
                    progress(key, key in results)
                if down >= unreachable_after and down == len(errors) and not results:
                    for other in futures:
                        other.cancel()
                    raise SourceUnavailable(
                        f"the source is not answering: the first {down} requests all failed; last: {errors[key]}"
                    )
        return results, errors

    # ---- cache --------------------------------------------------------------------------------

    def _cache_path(self, url: str) -> Path | None:
        if self.settings.cache_dir is None:
            return None
        digest = hashlib.sha256(url.encode()).hexdigest()
        return self.settings.cache_dir / digest[:2] / f"{digest}.json"

    def _cache_read(self, url: str, parse: Callable[[int, bytes], T]) -> T | None:
        path = self._cache_path(url)
        if path is None or not path.exists():
            return None
        try:
            entry = json.loads(path.read_text("utf-8"))
            if entry["url"] != url or entry["expires_at"] < system_now().timestamp():
                return None
            if hashlib.sha256(entry["body"].encode("utf-8")).hexdigest() != entry["sha256"]:
                raise ValueError("checksum mismatch")  # edited or damaged: not trusted, dropped below
            return parse(int(entry["status"]), entry["body"].encode("utf-8"))
        except Exception:  # noqa: BLE001 - any unreadable entry (a null body, another shape): drop it, refetch
            path.unlink(missing_ok=True)
            return None

    def _cache_write(self, url: str, status: int, body: bytes, ttl_s: float) -> None:
        path = self._cache_path(url)
        if path is None:
            return
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return  # cache text bodies only
        fetched = system_now().timestamp()
        entry = {"url": url, "status": status, "fetched_at": fetched, "expires_at": fetched + ttl_s, "body": text,
                 "sha256": hashlib.sha256(body).hexdigest()}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".entry.", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(entry, fh)
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError:
            pass  # a cache that cannot be written is not an error; the data was fetched


__all__ = ["HttpClient", "HttpSettings", "BadResponse", "Transient", "SourceUnavailable", "retry_after_seconds", "default_cache_dir"]
