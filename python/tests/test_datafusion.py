"""The SQL functions in datafusion-python (through the DataFusion FFI)
against the command line."""

from __future__ import annotations

import importlib
import sys

import pyarrow.parquet as pq
import pytest

datafusion = pytest.importorskip("datafusion")

import entangle.datafusion  # noqa: E402

IMAGES = ("--array", "pixels", "--shape", "16,16", "--label", "bright_blob")


@pytest.fixture
def ctx(samples):
    ctx = datafusion.SessionContext()
    entangle.datafusion.register(ctx)
    ctx.register_parquet("images", str(samples / "images_2d.parquet"))
    ctx.register_parquet("shuffled", str(samples / "images_2d_shuffled.parquet"))
    return ctx


def scalar(ctx, query):
    table = ctx.sql(query).to_arrow_table()
    assert table.num_rows == 1
    return table.column(0)[0].as_py()


def test_entanglement_equals_the_cli(cli, samples, ctx):
    expected = cli.json("profile", samples / "images_2d.parquet", *IMAGES)
    value = scalar(ctx, "SELECT entanglement(pixels, bright_blob, 'shape=16x16') FROM images")
    assert value == expected["mean_entropy"]


def test_profile_and_group_by(cli, samples, ctx):
    expected = cli.json("profile", samples / "images_2d.parquet", *IMAGES)
    profile = scalar(
        ctx, "SELECT entanglement_profile(pixels, bright_blob, 'shape=16x16') FROM images"
    )
    assert [p["entropy"] for p in profile] == [
        part["entropy"] for level in expected["levels"] for part in level["partitions"]
    ]
    grouped = ctx.sql(
        "SELECT bright_blob, entanglement(pixels, NULL, 'shape=16x16, levels=1..2') AS e "
        "FROM images GROUP BY bright_blob ORDER BY bright_blob"
    ).to_pylist()
    assert len(grouped) == 2
    for row in grouped:
        alone = scalar(
            ctx,
            "SELECT entanglement(pixels, NULL, 'shape=16x16, levels=1..2') FROM images "
            f"WHERE bright_blob = {row['bright_blob']}",
        )
        assert row["e"] == alone


def test_feature_order_and_permute_match_cli_arrange(cli, samples, ctx, tmp_path):
    out = tmp_path / "arranged.parquet"
    arranged = cli.json("arrange", samples / "images_2d_shuffled.parquet", "-o", out, *IMAGES)
    order = scalar(ctx, "SELECT feature_order(pixels, 'shape=16x16') FROM shuffled")
    assert order == arranged["order"]
    permuted = ctx.sql(
        f"SELECT permute(pixels, make_array({', '.join(map(str, order))})) AS pixels FROM shuffled"
    ).to_arrow_table()
    assert permuted.column("pixels").to_pylist() == pq.read_table(out).column("pixels").to_pylist()


def test_rearrange_of_a_file_equals_cli_arrange(cli, samples, ctx, tmp_path):
    source = samples / "images_2d_shuffled.parquet"
    out = tmp_path / "arranged.parquet"
    cli("arrange", source, "-o", out, *IMAGES)
    expected = pq.read_table(out)
    options = "array=pixels, shape=16x16, label=bright_blob"
    table = ctx.sql(f"SELECT * FROM rearrange('{source}', '{options}')").to_arrow_table()
    assert table.column_names == expected.column_names
    for column in expected.column_names:
        assert table.column(column).to_pylist() == expected.column(column).to_pylist()
    wide = samples / "signals_1d_shuffled.parquet"
    cli("arrange", wide, "-o", tmp_path / "wide.parquet", "--features-prefix", "x")
    expected = pq.read_table(tmp_path / "wide.parquet")
    table = ctx.sql(f"SELECT * FROM rearrange('{wide}', 'features_prefix=x')").to_arrow_table()
    assert table.column_names == expected.column_names
    assert table.to_pylist() == expected.to_pylist()


def test_rearrange_of_a_registered_table_in_fresh_sessions(cli, samples, tmp_path):
    out = tmp_path / "arranged.parquet"
    cli("arrange", samples / "images_2d_shuffled.parquet", "-o", out, *IMAGES)
    expected = pq.read_table(out)
    query = "SELECT * FROM rearrange('shuffled', 'array=pixels, shape=16x16, label=bright_blob')"
    # One session after another: each registers the functions anew.
    for _ in range(3):
        ctx = datafusion.SessionContext()
        entangle.datafusion.register(ctx)
        ctx.register_parquet("shuffled", str(samples / "images_2d_shuffled.parquet"))
        table = ctx.sql(query).to_arrow_table()
        assert table.column_names == expected.column_names
        assert table.to_pylist() == expected.to_pylist()


def test_rearrange_errors_name_the_argument(ctx, tmp_path):
    with pytest.raises(Exception, match="'nowhere' is neither a registered table nor an existing file"):
        ctx.sql("SELECT * FROM rearrange('nowhere')").collect()
    with pytest.raises(Exception, match=r"argument 1 \(source\) must be a string"):
        ctx.sql("SELECT * FROM rearrange(1)").collect()
    with pytest.raises(Exception, match="expected 1 or 2 arguments"):
        ctx.sql("SELECT * FROM rearrange('images', 'shape=16x16', 'x')").collect()
    with pytest.raises(Exception, match="rearrange: column 'nothing': not found"):
        ctx.sql("SELECT * FROM rearrange('images', 'array=nothing')").collect()
    ctx.sql("CREATE TABLE empty AS SELECT * FROM images WHERE bright_blob > 99").collect()
    with pytest.raises(Exception, match="'empty' has no rows to arrange"):
        ctx.sql("SELECT * FROM rearrange('empty', 'array=pixels, shape=16x16')").collect()


def test_errors_name_the_column(ctx):
    # SQL planning sees argument types, not names: the argument is named.
    with pytest.raises(Exception, match=r"argument 1 \(features\) must be a list of numbers"):
        ctx.sql("SELECT entanglement(bright_blob, NULL) FROM images").collect()
    with pytest.raises(Exception, match="levels"):
        ctx.sql("SELECT entanglement(pixels, NULL, 'shape=16x16, levels=9') FROM images").collect()


def test_another_major_version_is_refused(monkeypatch):
    monkeypatch.setattr(datafusion, "__version__", "54.1.0")
    monkeypatch.delitem(sys.modules, "entangle.datafusion")
    with pytest.raises(ImportError, match="datafusion-python 55.x, found 54.1.0"):
        importlib.import_module("entangle.datafusion")


def test_sparse_weights_and_a_memory_limit(cli, samples, tmp_path):
    source = samples / "images_2d_shuffled.parquet"
    sparse = ("--weights", "sparse", "--neighbours", "6")
    arranged = cli.json("arrange", source, "-o", tmp_path / "out.parquet", *IMAGES, *sparse)
    runtime = datafusion.RuntimeEnvBuilder().with_greedy_memory_pool(8 << 20)
    ctx = datafusion.SessionContext(runtime=runtime)
    entangle.datafusion.register(ctx)
    ctx.register_parquet("shuffled", str(source))
    order = scalar(
        ctx,
        "SELECT feature_order(pixels, 'shape=16x16, weights=sparse, neighbours=6') FROM shuffled",
    )
    assert order == arranged["order"]
    # 256 features' exact co-moments and their workspace (27 MiB) exceed the
    # 8 MiB the session may hold: DataFusion's own accounting of the
    # aggregate's size() ends the query (the pool is not reachable through
    # the FFI, so the function's own reservation is the machine's budget).
    with pytest.raises(Exception, match="Resources exhausted"):
        scalar(ctx, "SELECT feature_order(pixels, 'shape=16x16, weights=dense') FROM shuffled")
