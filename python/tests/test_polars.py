"""The polars plugin against the command line: the same numbers, bit for bit."""

from __future__ import annotations

import re

import polars as pl
import pyarrow.parquet as pq
import pytest

import entangle

IMAGES = ("--array", "pixels", "--shape", "16,16", "--label", "bright_blob")


@pytest.fixture(scope="module")
def images(samples):
    return pl.read_parquet(samples / "images_2d.parquet")


@pytest.fixture(scope="module")
def images_profile(cli, samples):
    return cli.json("profile", samples / "images_2d.parquet", *IMAGES)


def test_entanglement_equals_the_cli(images, images_profile):
    value = images.select(entangle.entanglement("pixels", "bright_blob", shape=(16, 16))).item()
    assert value == images_profile["mean_entropy"]


def test_profile_equals_the_cli_partition_by_partition(images, images_profile):
    rows = (
        images.select(
            entangle.entanglement_profile("pixels", "bright_blob", shape=(16, 16)).alias("p")
        )
        .explode("p")
        .unnest("p")
    )
    expected = [
        (level["level"], part["chunk"], part["size"], part["entropy"], part["geometric"])
        for level in images_profile["levels"]
        for part in level["partitions"]
    ]
    assert rows.rows() == expected
    assert rows.schema == pl.Schema(
        {
            "level": pl.Int32,
            "chunk": pl.Int32,
            "size": pl.Int64,
            "entropy": pl.Float64,
            "geometric": pl.Float64,
        }
    )


def test_lazy_query_equals_eager(samples, images):
    options = dict(shape=(16, 16), levels="1..2", max_samples=300, seed=7)
    eager = images.select(entangle.entanglement("pixels", "bright_blob", **options)).item()
    lazy = (
        pl.scan_parquet(samples / "images_2d.parquet")
        .select(entangle.entanglement("pixels", "bright_blob", **options))
        .collect()
        .item()
    )
    assert lazy == eager


def test_group_by_gives_each_groups_value(images):
    expr = entangle.entanglement("pixels", shape=(16, 16), levels=[1, 2])
    grouped = images.group_by("bright_blob").agg(expr.alias("e")).sort("bright_blob")
    assert grouped.height == 2
    for group, value in grouped.iter_rows():
        alone = images.filter(pl.col("bright_blob") == group).select(expr).item()
        assert value == alone


def test_wide_columns_by_name_equal_the_cli(cli, samples):
    frame = pl.read_parquet(samples / "signals_1d.parquet")
    names = [name for name in frame.columns if name.startswith("x")]
    expected = cli.json(
        "profile", samples / "signals_1d.parquet", "--features-prefix", "x", "--label", "spike"
    )
    value = frame.select(entangle.entanglement(names, "spike")).item()
    assert value == expected["mean_entropy"]
    surrogate = frame.select(entangle.surrogate_entanglement(names)).item()
    assert surrogate == expected["surrogate"]["mean"]


def test_feature_order_and_permute_match_cli_arrange(cli, samples, tmp_path):
    source = samples / "images_2d_shuffled.parquet"
    out = tmp_path / "arranged.parquet"
    arranged = cli.json("arrange", source, "-o", out, *IMAGES)
    frame = pl.read_parquet(source)
    order = frame.select(entangle.feature_order("pixels", shape=(16, 16))).item().to_list()
    assert order == arranged["order"]
    permuted = frame.with_columns(entangle.permute("pixels", order))
    assert permuted.equals(pl.read_parquet(out))


def test_rearrange_writes_what_cli_arrange_writes(cli, samples, tmp_path):
    source = samples / "signals_1d_shuffled.parquet"
    out = tmp_path / "arranged.parquet"
    arranged = cli.json("arrange", source, "-o", out, "--features-prefix", "x", "--label", "spike")
    frame = pl.read_parquet(source)
    rearranged, order = entangle.rearrange(frame, features_prefix="x")
    assert order == arranged["order"]
    assert rearranged.equals(pl.read_parquet(out))
    lazy, lazy_order = entangle.rearrange(frame.lazy(), features_prefix="x")
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy_order == order and lazy.collect().equals(rearranged)
    # Written back through polars, the data is the CLI's file, column for
    # column (polars picks its own string type and nullability; the values
    # are the same).
    rearranged.write_parquet(tmp_path / "polars.parquet")
    written, expected = pq.read_table(tmp_path / "polars.parquet"), pq.read_table(out)
    assert written.column_names == expected.column_names
    for name in expected.column_names:
        assert written.column(name).to_pylist() == expected.column(name).to_pylist(), name


def test_non_numeric_features_name_the_column(images):
    with pytest.raises(pl.exceptions.PolarsError, match="column 'bright_blob' has type"):
        images.select(entangle.entanglement("bright_blob"))


def test_float_label_is_refused_with_a_hint(images):
    frame = images.with_columns(pl.col("bright_blob").cast(pl.Float64).alias("score"))
    # The hint is written in polars' Python idiom, and the function named as it
    # was called (not as polars names the plugin's library).
    hint = re.escape('pl.col("score").cast(pl.Int64)')
    with pytest.raises(pl.exceptions.PolarsError, match=f"entangle.entanglement: label column 'score'.*{hint}"):
        frame.select(entangle.entanglement("pixels", "score", shape=(16, 16)))


def test_errors_name_the_function_as_python_calls_it(images):
    with pytest.raises(pl.exceptions.PolarsError, match=r"entangle\.entanglement: options: shape"):
        images.select(entangle.entanglement("pixels", shape=(15, 16)))
    with pytest.raises(pl.exceptions.PolarsError, match=r"entangle\.permute: .*order"):
        images.select(entangle.permute("pixels", [0, 1, 2]))


def test_bad_options_name_the_option(images):
    with pytest.raises(pl.exceptions.PolarsError, match="levels"):
        images.select(entangle.entanglement("pixels", shape=(16, 16), levels=9))
    with pytest.raises(pl.exceptions.PolarsError, match="shape"):
        images.select(entangle.entanglement("pixels", shape=(15, 16)))
    with pytest.raises(ValueError, match="levels"):
        entangle.entanglement("pixels", levels="one")


def test_nulls_in_features_are_an_error_unless_skipped():
    frame = pl.DataFrame({"a": [1.0, 2.0, None, 4.0, 5.0], "b": [2.0, 1.0, 3.0, 5.0, 4.0]})
    with pytest.raises(pl.exceptions.PolarsError, match="null"):
        frame.select(entangle.entanglement(["a", "b"]))
    value = frame.select(entangle.entanglement(["a", "b"], skip_null_rows=True)).item()
    expected = frame.drop_nulls().select(entangle.entanglement(["a", "b"])).item()
    assert value == expected


def test_permute_rejects_a_wrong_order(images):
    with pytest.raises(pl.exceptions.PolarsError, match="order"):
        images.select(entangle.permute("pixels", [0, 1, 2]))


def test_shrink_reaches_the_order(cli, samples, tmp_path):
    # The first 400 rows of the shuffled textures, where shrinking pays.
    frame = pl.read_parquet(samples / "textures_2d_shuffled.parquet").head(400)
    source = tmp_path / "textures_400.parquet"
    frame.write_parquet(source)
    for shrink in ("auto", 0.2):
        arranged = cli.json(
            "arrange", source, "-o", tmp_path / "out.parquet", "--array", "pixels",
            "--shape", "16,16", "--report", "surrogate", "--shrink", str(shrink),
        )
        expr = entangle.feature_order("pixels", shape=(16, 16), shrink=shrink)
        assert frame.select(expr).item().to_list() == arranged["order"]
        _, order = entangle.rearrange(frame, array="pixels", shape=(16, 16), shrink=shrink)
        assert order == arranged["order"]
    assert arranged["shrink"] == 0.2


def test_sparse_weights_reach_the_order_as_on_the_command_line(cli, samples, tmp_path):
    source = samples / "images_2d_shuffled.parquet"
    sparse = ("--weights", "sparse", "--neighbours", "6")
    arranged = cli.json("arrange", source, "-o", tmp_path / "out.parquet", *IMAGES, *sparse)
    frame = pl.read_parquet(source)
    _, order = entangle.rearrange(
        frame, array="pixels", shape=(16, 16), weights="sparse", neighbours=6
    )
    assert order == arranged["order"]
    expr = entangle.feature_order("pixels", shape=(16, 16), weights="sparse", neighbours=6)
    assert frame.select(expr).item().to_list() == order
    with pytest.raises(pl.exceptions.PolarsError, match="weights: expected auto, dense or sparse"):
        frame.select(entangle.surrogate_entanglement("pixels", weights="blocky"))


def test_weights_no_machine_holds_are_refused_before_they_are_allocated():
    # 50,000 features' exact co-moments would take 298 GiB.
    frame = pl.DataFrame({"x": [[0.5] * 50_000, [1.5] * 50_000]})
    with pytest.raises(pl.exceptions.PolarsError, match="50000 features with dense weights need"):
        frame.select(entangle.surrogate_entanglement("x", weights="dense"))
