"""Side-by-side tables for benchmarks: our number, the reference's, and their ratio.

Printed as Markdown, so a run's output can go into the README as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Comparison:
    """One measured quantity on both sides; `higher_is_better` says how to read the ratio."""

    what: str
    ours: float
    reference: float
    unit: str = ""
    higher_is_better: bool = False
    decimals: int = 1


def ratio(ours: float, reference: float) -> str:
    """ours ÷ reference as `xN.NN` (three significant digits below 0.1); `n/a` against a zero reference."""
    if reference == 0:
        return "n/a"
    value = ours / reference
    return f"x{value:.3g}" if value < 0.1 else f"x{value:.2f}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the first column left-aligned, the others right-aligned."""
    widths = [max(len(row[column]) for row in [headers, *rows]) for column in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|" + "|".join(("-" * (width + 1) + ":") if i else ("-" * (width + 2)) for i, width in enumerate(widths)) + "|"
    )
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def side_by_side(comparisons: Sequence[Comparison], ours_label: str, reference_label: str) -> str:
    rows = [
        [
            c.what,
            _amount(c.ours, c),
            _amount(c.reference, c),
            ratio(c.ours, c.reference),
            "higher" if c.higher_is_better else "lower",
        ]
        for c in comparisons
    ]
    return markdown_table(["", ours_label, reference_label, "ratio", "better"], rows)


def _amount(value: float, comparison: Comparison) -> str:
    number = f"{value:,.{comparison.decimals}f}"
    return f"{number} {comparison.unit}" if comparison.unit else number
