"""entangle.profile / arrange / apply against the command line."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

import entangle

IMAGES = ("--array", "pixels", "--shape", "16,16", "--label", "bright_blob")


def test_profile_is_the_cli_json(cli, samples):
    path = samples / "images_2d.parquet"
    assert entangle.profile(
        path, array="pixels", shape=(16, 16), label="bright_blob"
    ) == cli.json("profile", path, *IMAGES)
    multiclass = samples / "sensors_multiclass.parquet"
    expected = cli.json("profile", multiclass, "--label", "regime", "--levels", "1..2")
    assert entangle.profile(multiclass, label="regime", levels="1..2") == expected


def test_arrange_writes_the_cli_bytes_and_apply_the_same_layout(cli, samples, tmp_path):
    source = samples / "images_2d_shuffled.parquet"
    cli_out, py_out = tmp_path / "cli.parquet", tmp_path / "py.parquet"
    expected = cli.json(
        "arrange", source, "-o", cli_out, *IMAGES, "--order-out", tmp_path / "cli.json"
    )
    result = entangle.arrange(
        source,
        py_out,
        array="pixels",
        shape=(16, 16),
        label="bright_blob",
        order_out=tmp_path / "py.json",
    )
    assert result == expected
    assert py_out.read_bytes() == cli_out.read_bytes()
    assert (tmp_path / "py.json").read_text() == (tmp_path / "cli.json").read_text()
    applied = entangle.apply(source, tmp_path / "py.json", tmp_path / "applied.parquet")
    assert applied == {"rows": 1000, "features": 256}
    assert pq.read_table(tmp_path / "applied.parquet").equals(pq.read_table(cli_out))
    # --shrink: the same JSON (with the τ kept) and the same bytes.
    shrunk = entangle.arrange(
        source, py_out, array="pixels", shape=(16, 16), label="bright_blob", shrink="auto"
    )
    assert shrunk == cli.json("arrange", source, "-o", cli_out, *IMAGES, "--shrink", "auto")
    assert shrunk["shrink"] in (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
    assert py_out.read_bytes() == cli_out.read_bytes()


def test_errors_name_the_column_option_or_file(samples, tmp_path):
    path = samples / "images_2d.parquet"
    with pytest.raises(ValueError, match="column 'nope'"):
        entangle.profile(path, array="nope")
    with pytest.raises(ValueError, match="levels"):
        entangle.profile(path, array="pixels", shape=(16, 16), levels=7)
    with pytest.raises(FileNotFoundError, match="missing.parquet"):
        entangle.profile(tmp_path / "missing.parquet")
    with pytest.raises(ValueError, match="weights"):
        entangle.profile(path, array="pixels", weights="fast")
    with pytest.raises(ValueError, match="placement: expected seams or tree, got 'random'"):
        entangle.arrange(path, tmp_path / "out.parquet", array="pixels", placement="random")
    with pytest.raises(ValueError, match=r"none, auto or a number in \[0, 1\), got 2"):
        entangle.arrange(path, tmp_path / "out.parquet", array="pixels", shrink=2)
    assert not (tmp_path / "out.parquet").exists()
    with pytest.raises(TypeError):
        entangle.profile(path, colour="red")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(ValueError, match="broken.parquet"):
        entangle.profile(tmp_path / "broken.parquet")


def test_profile_of_frames_is_the_cli_json(cli, samples):
    import polars as pl

    path = samples / "images_2d.parquet"
    expected = cli.json("profile", path, *IMAGES)
    options = dict(array="pixels", shape=(16, 16), label="bright_blob")
    assert entangle.profile(pl.read_parquet(path), **options) == expected
    assert entangle.profile(pl.scan_parquet(path), **options) == expected
    # One batch, as the CLI reads this file: the same bits everywhere.
    assert entangle.profile(pq.read_table(path).combine_chunks(), **options) == expected
    # Rows split otherwise: entropies are bit-identical (the sample does not
    # depend on the split); the surrogate's streamed co-moments agree to
    # 1e-12 relative (docs/conventions.md#co-moments).
    chunked = entangle.profile(pq.read_table(path), **options)
    assert chunked["levels"] == expected["levels"]
    assert chunked["mean_entropy"] == expected["mean_entropy"]
    assert chunked["surrogate"]["mean"] == pytest.approx(expected["surrogate"]["mean"], rel=1e-12)
    with pytest.raises(TypeError, match="frame"):
        entangle.profile([1, 2, 3])


def test_an_identifier_taken_as_a_feature_is_warned_of(cli, samples):
    import warnings

    path = samples / "signals_1d.parquet"
    warned = r"integer column 'id' looks like a row identifier.*features_prefix="
    with pytest.warns(UserWarning, match=warned):
        report = entangle.profile(path, max_samples=50)
    assert report == cli.json("profile", path, "--max-samples", "50")
    assert report["feature_columns"]["identifier_like"] == ["id"]
    assert report["feature_columns"]["columns"][:2] == ["id", "x00"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = entangle.profile(path, features_prefix="x", max_samples=50)
    assert report["feature_columns"] == {
        "selected_by": "prefix",
        "columns": [f"x{i:02}" for i in range(64)],
        "identifier_like": [],
    }
