"""The pure helpers behind the benchmarks' printed tables (no system started, no timing)."""

from __future__ import annotations

from bench.comparison_table import Comparison, markdown_table, ratio, side_by_side
from bench.load import LoadResult
from bench.process_cpu import cpu_spent


def test_ratio_is_ours_over_the_reference():
    assert ratio(12.0, 108.0) == "x0.11"
    assert ratio(46.6, 5.5) == "x8.47"


def test_ratio_keeps_three_significant_digits_when_small():
    assert ratio(1.0, 250.0) == "x0.004"


def test_ratio_against_a_zero_reference_is_not_a_number():
    assert ratio(3.0, 0.0) == "n/a"


def test_markdown_table_pads_columns_and_right_aligns_numbers():
    table = markdown_table(["what", "n"], [["throughput", "1.5"], ["p50", "800"]])
    assert table.splitlines() == [
        "| what       |   n |",
        "|------------|----:|",
        "| throughput | 1.5 |",
        "| p50        | 800 |",
    ]


def test_side_by_side_prints_both_amounts_the_ratio_and_which_way_is_better():
    table = side_by_side(
        [
            Comparison("throughput", 12.0, 108.0, "jobs/s", higher_is_better=True),
            Comparison("p50", 8800, 800, "ms", decimals=0),
        ],
        "ours",
        "reference",
    )
    header, _, throughput, p50 = table.splitlines()
    assert [cell.strip() for cell in header.strip("|").split("|")] == ["", "ours", "reference", "ratio", "better"]
    assert [cell.strip() for cell in throughput.strip("|").split("|")] == [
        "throughput", "12.0 jobs/s", "108.0 jobs/s", "x0.11", "higher"
    ]  # fmt: skip
    assert [cell.strip() for cell in p50.strip("|").split("|")] == ["p50", "8,800 ms", "800 ms", "x11.00", "lower"]


def test_percentiles_pick_the_nearest_rank():
    result = LoadResult(requests=200, errors=0, seconds=10.0, latencies_ms=[float(n) for n in range(1, 201)])
    assert result.percentile(99) == 198.0
    assert result.percentile(100) == 200.0
    assert result.median == 100.5
    assert result.per_second == 20.0


def test_cpu_spent_counts_processes_started_between_snapshots_from_zero():
    assert cpu_spent({1: 2.0, 2: 1.0}, {1: 2.5, 2: 1.0, 3: 0.25}) == 0.75
