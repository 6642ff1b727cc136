"""CPU time and memory from /proc (Linux), for the benchmarks: what a process and everything it
started have spent and hold, and how busy the whole machine was meanwhile.

    before = tree_cpu_s(server_pid)
    ...  # requests
    spent_s = tree_cpu_s(server_pid) - before

CPU time, unlike wall time, is what a request costs whatever else runs on the machine: on a shared
2-core machine it is the figure to compare (`MachineLoad` says how shared it was).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Busy", "MachineLoad", "tree_cpu_s", "tree_rss_kib"]

_PROC = Path("/proc")
_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
_PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def tree_cpu_s(root: int) -> float:
    """User and system CPU time of process `root` and of all its descendants, in seconds: the living
    ones, and those that ended and were reaped within the tree (counted in their parent's
    cutime/cstime, as a PostgreSQL backend that ends is in its postmaster's)."""
    # utime, stime, cutime, cstime (fields 14 to 17 of proc(5)).
    ticks = sum(sum(int(value) for value in fields[11:15]) for fields in _tree_stats(root))
    return ticks / _TICKS_PER_S


def tree_rss_kib(root: int) -> int:
    """The resident memory of process `root` and of all its living descendants, in KiB."""
    # rss, in pages (field 24 of proc(5)).
    return sum(int(fields[21]) for fields in _tree_stats(root)) * _PAGE_KIB


def _tree_stats(root: int) -> list[list[str]]:
    """The fields of /proc/<pid>/stat from the third on (field N at N - 3), of `root` and of every
    process below it."""
    parents: dict[int, int] = {}
    stats: dict[int, list[str]] = {}
    for stat in _PROC.glob("[0-9]*/stat"):
        try:
            # The command name (field 2) may hold spaces and parentheses: split after its end.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        stats[pid] = fields
    tree = []
    for pid, fields in stats.items():
        ancestor = pid
        while ancestor != root and ancestor in parents and ancestor > 1:
            ancestor = parents[ancestor]
        if ancestor == root:
            tree.append(fields)
    return tree


@dataclass(frozen=True)
class MachineLoad:
    """The machine's CPU counters at one moment (/proc/stat): `busy_s` over all cores."""

    busy_s: float
    at_s: float  # the same counters' idea of elapsed time, over all cores

    @classmethod
    def now(cls) -> MachineLoad:
        first = (_PROC / "stat").read_text().splitlines()[0].split()
        # user nice system idle iowait irq softirq steal (guest time is inside user already).
        values = [int(value) for value in first[1:9]]
        idle = values[3] + values[4]
        return cls(busy_s=(sum(values) - idle) / _TICKS_PER_S, at_s=sum(values) / _TICKS_PER_S)

    def busy_since(self, earlier: MachineLoad, own_s: float = 0.0) -> Busy:
        """How many cores were busy on average between `earlier` and this moment, and how many of
        them with `own_s` seconds of CPU that the caller knows to be its own."""
        elapsed_s = (self.at_s - earlier.at_s) / (os.cpu_count() or 1)
        if elapsed_s <= 0:
            return Busy(0.0, 0.0)
        return Busy((self.busy_s - earlier.busy_s) / elapsed_s, own_s / elapsed_s)


@dataclass(frozen=True)
class Busy:
    """Cores busy on average over a while: in all, and with the caller's own work."""

    cores: float
    own_cores: float

    @property
    def other_cores(self) -> float:
        return max(0.0, self.cores - self.own_cores)
