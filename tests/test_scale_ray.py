"""``--engine ray`` (issue 13): on a local Ray cluster started here (2 worker processes),
the check's findings and the export are identical to the single-machine run.

The 100k-example comparison is in bench/bench_scale.py (too long for the suite)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scale_data import write
from validators import cli

ray = pytest.importorskip("ray")
MODEL = ["--model", "gpt-4.1-nano"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    from validators.streaming import engine_ray

    ray.init(num_cpus=2, include_dashboard=False, runtime_env=engine_ray.runtime_env(), log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("ray") / "gen.jsonl", 1500)


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_ray_check_identical(cluster: None, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    single = run_cli(["check", str(data), "--json", *MODEL], capsys)
    on_ray = run_cli(["check", str(data), "--json", "--engine", "ray", *MODEL], capsys)
    assert single == on_ray
    assert '"near_duplicate"' in on_ray[1] and '"exact_duplicate"' in on_ray[1]
    from validators.streaming import engine_ray

    pieces = sorted(engine_ray.last_split, key=lambda p: p["piece"])  # every example checked once, by some worker
    assert [p["piece"] for p in pieces] == list(range(len(pieces)))
    assert sum(p["examples"] for p in pieces) == 1500


def test_pieces_give_every_worker_a_share() -> None:
    """A file of a few pieces of 32 MiB was split 3/2 between two workers: it is now cut
    into several pieces per CPU, never under 1 MiB nor over 32 MiB."""
    from validators.streaming.engine_ray import MIN_RANGE_BYTES, RANGE_BYTES, range_bytes

    size = 133_862_723  # the 100k bench file
    for cpus in (1, 2, 4, 16):
        step = range_bytes(size, cpus)
        pieces = -(-size // step)
        assert MIN_RANGE_BYTES <= step <= RANGE_BYTES
        assert pieces >= 4 * cpus or step == MIN_RANGE_BYTES
    assert range_bytes(5 * 10**9, 2) == RANGE_BYTES
    assert range_bytes(1000, 2) == MIN_RANGE_BYTES
    assert range_bytes(0, 0) == MIN_RANGE_BYTES


def test_ray_export_identical(cluster: None, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = {}
    for mode in ("single", "ray"):
        out = tmp_path / mode / "train.jsonl"
        flags = ["--engine", "ray"] if mode == "ray" else []
        code, printed, err = run_cli(["export", str(data), "--dedupe", "near", "--validation-split", "0.1", "-o", str(out), *flags], capsys)
        files = sorted(p.name for p in out.parent.iterdir())
        results[mode] = (code, printed.replace(str(out.parent), "X"), err, {f: (out.parent / f).read_bytes() for f in files})
    assert results["single"] == results["ray"]


def test_shuffle_parts_pair_and_group_like_one_group_per_key() -> None:
    """The shuffles group by a coarse part and sort inside it; the pairs and the exact
    groups are those of one group per band bucket / per digest (the code they replaced)."""
    import numpy as np

    from validators.streaming.engine_ray import _bucket_pairs, _exact_part

    rng = np.random.default_rng(3)
    n = 5000
    band, key = rng.integers(0, 9, n), rng.integers(-40, 40, n) * 7919
    ex = rng.permutation(np.arange(1, n + 1))
    got = _bucket_pairs({"band": band, "key": key, "ex": ex})
    want: set[tuple[int, int]] = set()
    for b, k in set(zip(band.tolist(), key.tolist())):
        members = np.sort(ex[(band == b) & (key == k)]).tolist()
        want |= {(members[0], m) for m in members[1:]} | set(zip(members, members[1:]))
    assert set(zip(got["a"].tolist(), got["b"].tolist())) == want
    assert all(a < b for a, b in zip(got["a"].tolist(), got["b"].tolist()))

    hi, lo = rng.integers(0, 30, n), rng.integers(0, 3, n)
    out = _exact_part({"hi": hi, "lo": lo, "ex": ex})
    groups: dict[tuple[int, int], list[int]] = {}
    for h, low, e in zip(hi.tolist(), lo.tolist(), ex.tolist()):
        groups.setdefault((h, low), []).append(e)
    want_groups = sorted(sorted(g) for g in groups.values() if len(g) > 1)
    assert sorted(json.loads(m) for m in out["members"]) == want_groups
    assert sorted(out["first"].tolist()) == [g[0] for g in want_groups]
    assert _exact_part({"hi": hi[:0], "lo": lo[:0], "ex": ex[:0]})["members"].size == 0
