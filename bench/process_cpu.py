"""CPU seconds used by a set of processes and their descendants, read from /proc."""

from __future__ import annotations

import os
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces; everything after its closing paren is fixed.
    return raw[raw.rindex(")") + 2 :].split()


def descendants(root_pids: list[int]) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))):
            parents[int(entry.name)] = int(fields[1])
    found = set(root_pids)
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in found and pid not in found:
                found.add(pid)
                changed = True
    return found


def cpu_seconds(pids: set[int]) -> dict[int, float]:
    """utime + stime per live pid (fields 14 and 15 of /proc/<pid>/stat)."""
    usage = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            usage[pid] = (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND
    return usage


def tree_cpu_seconds(root_pids: list[int]) -> dict[int, float]:
    """CPU seconds of every live process in the trees under `root_pids` (workers forked later included)."""
    return cpu_seconds(descendants(root_pids))


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two snapshots by the processes alive at the second (new ones from zero)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
