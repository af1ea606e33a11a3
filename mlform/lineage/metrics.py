"""A training job's metrics across the state history: one point per run, in serial order.

`collect` reads every serial kept for a workspace and, for each training job instance (or the
ones ADDR names), keeps the first serial at which each of its runs appears, with the run's
metrics, when it was recorded and who applied it. `table`, `to_json` and `png` render that; the
lineage HTML page embeds the PNG.

The PNG is drawn here, with the standard library only (zlib and struct): one panel per metric,
one line per job, axes with ticks, and a legend, in a small built-in bitmap font.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlform.state.backends import Backend, HistoryEntry
    from mlform.state.model import State

__all__ = ["Point", "Series", "collect", "table", "to_json", "png", "MetricsError"]


class MetricsError(Exception):
    def __init__(self, summary: str, detail: str = ""):
        super().__init__(summary)
        self.summary = summary
        self.detail = detail


@dataclass
class Point:
    serial: int
    at: str
    run_id: str
    metrics: dict[str, float]
    who: str = ""
    ci: str = ""


@dataclass
class Series:
    address: str
    points: list[Point] = field(default_factory=list)

    def metric_names(self) -> list[str]:
        names: list[str] = []
        for p in self.points:
            names.extend(k for k in p.metrics if k not in names)
        return names


def _numbers(metrics: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(metrics, dict):
        for k, v in metrics.items():
            if isinstance(v, bool):
                continue
            if isinstance(v, int | float) and math.isfinite(float(v)):
                out[str(k)] = float(v)
    return out


def collect_states(
    states: Iterable[tuple[HistoryEntry, State | None]], address: str | None
) -> list[Series]:
    """The series of every training job (or the one `address` names: a resource or an
    instance), from (history entry, state) pairs in serial order."""
    from mlform.lineage.render import ci_text, who_text

    series: dict[str, Series] = {}
    seen: dict[str, set[str]] = {}
    for entry, state in states:
        if state is None:
            continue
        for addr, res, inst in state.all_instances():
            if res.mode != "managed" or res.type != "training_job":
                continue
            inst_addr, res_addr = str(addr), str(addr.abs_resource)
            if address is not None and address not in (inst_addr, res_addr):
                continue
            attrs = inst.attributes or {}
            run = str(attrs.get("run_id") or attrs.get("id") or attrs.get("fingerprint") or "")
            metrics = _numbers(attrs.get("metrics"))
            if not run or not metrics or run in seen.setdefault(inst_addr, set()):
                continue
            seen[inst_addr].add(run)
            s = series.setdefault(inst_addr, Series(inst_addr))
            s.points.append(
                Point(
                    entry.serial,
                    entry.at,
                    run,
                    metrics,
                    who_text(entry.who),
                    ci_text(entry.ci),
                )
            )
    return list(series.values())


def collect(backend: Backend, workspace: str, address: str | None) -> list[Series]:
    entries = backend.history(workspace)
    found = collect_states(
        ((e, backend.read_serial(workspace, e.serial)) for e in entries), address
    )
    if not found:
        what = f"for {address}" if address else "for any training job"
        raise MetricsError(
            f"No metrics recorded {what}",
            "mlform metrics reads the metrics that training jobs wrote (MLFORM_METRICS_FILE) in "
            "every serial kept in the history. Check the address (mlform state list) and that "
            "the job has run (mlform apply).",
        )
    return found


# -- text and JSON --------------------------------------------------------------------------------


def _num(v: float) -> str:
    return f"{v:.6g}"


def table(series: list[Series]) -> str:
    from mlform.lineage.render import time_text

    blocks = []
    for s in series:
        names = s.metric_names()
        rows = [["SERIAL", "TIME", "RUN", *[n.upper() for n in names]]]
        for p in s.points:
            rows.append(
                [
                    str(p.serial),
                    time_text(p.at),
                    p.run_id,
                    *[_num(p.metrics[n]) if n in p.metrics else "-" for n in names],
                ]
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        ]
        blocks.append(s.address + "\n" + "\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def to_json(series: list[Series]) -> list[dict[str, Any]]:
    return [
        {
            "address": s.address,
            "metrics": s.metric_names(),
            "points": [
                {
                    "serial": p.serial,
                    "time": p.at,
                    "run_id": p.run_id,
                    "who": p.who,
                    "ci": p.ci,
                    "metrics": p.metrics,
                }
                for p in s.points
            ],
        }
        for s in series
    ]


# -- PNG ------------------------------------------------------------------------------------------

# A 5x7 bitmap font: each glyph is 7 rows of 5 bits, most significant bit on the left.
_FONT: dict[str, tuple[int, ...]] = {
    "0": (14, 17, 19, 21, 25, 17, 14),
    "1": (4, 12, 4, 4, 4, 4, 14),
    "2": (14, 17, 1, 2, 4, 8, 31),
    "3": (31, 2, 4, 2, 1, 17, 14),
    "4": (2, 6, 10, 18, 31, 2, 2),
    "5": (31, 16, 30, 1, 1, 17, 14),
    "6": (6, 8, 16, 30, 17, 17, 14),
    "7": (31, 1, 2, 4, 8, 8, 8),
    "8": (14, 17, 17, 14, 17, 17, 14),
    "9": (14, 17, 17, 15, 1, 2, 12),
    "A": (14, 17, 17, 31, 17, 17, 17),
    "B": (30, 17, 17, 30, 17, 17, 30),
    "C": (14, 17, 16, 16, 16, 17, 14),
    "D": (28, 18, 17, 17, 17, 18, 28),
    "E": (31, 16, 16, 30, 16, 16, 31),
    "F": (31, 16, 16, 30, 16, 16, 16),
    "G": (14, 17, 16, 23, 17, 17, 15),
    "H": (17, 17, 17, 31, 17, 17, 17),
    "I": (14, 4, 4, 4, 4, 4, 14),
    "J": (7, 2, 2, 2, 2, 18, 12),
    "K": (17, 18, 20, 24, 20, 18, 17),
    "L": (16, 16, 16, 16, 16, 16, 31),
    "M": (17, 27, 21, 21, 17, 17, 17),
    "N": (17, 17, 25, 21, 19, 17, 17),
    "O": (14, 17, 17, 17, 17, 17, 14),
    "P": (30, 17, 17, 30, 16, 16, 16),
    "Q": (14, 17, 17, 17, 21, 18, 13),
    "R": (30, 17, 17, 30, 20, 18, 17),
    "S": (15, 16, 16, 14, 1, 1, 30),
    "T": (31, 4, 4, 4, 4, 4, 4),
    "U": (17, 17, 17, 17, 17, 17, 14),
    "V": (17, 17, 17, 17, 17, 10, 4),
    "W": (17, 17, 17, 21, 21, 21, 10),
    "X": (17, 17, 10, 4, 10, 17, 17),
    "Y": (17, 17, 17, 10, 4, 4, 4),
    "Z": (31, 1, 2, 4, 8, 16, 31),
    ".": (0, 0, 0, 0, 0, 12, 12),
    ",": (0, 0, 0, 0, 12, 4, 8),
    "-": (0, 0, 0, 31, 0, 0, 0),
    "+": (0, 4, 4, 31, 4, 4, 0),
    "_": (0, 0, 0, 0, 0, 0, 31),
    ":": (0, 12, 12, 0, 12, 12, 0),
    "/": (0, 1, 2, 4, 8, 16, 0),
    "[": (14, 8, 8, 8, 8, 8, 14),
    "]": (14, 2, 2, 2, 2, 2, 14),
    '"': (10, 10, 0, 0, 0, 0, 0),
    "(": (2, 4, 8, 8, 8, 4, 2),
    ")": (8, 4, 2, 2, 2, 4, 8),
    "#": (10, 10, 31, 10, 31, 10, 10),
    "=": (0, 0, 31, 0, 31, 0, 0),
    " ": (0, 0, 0, 0, 0, 0, 0),
}
_UNKNOWN = (31, 17, 17, 17, 17, 17, 31)
_PALETTE = [
    (21, 101, 192),
    (216, 67, 21),
    (46, 125, 50),
    (142, 36, 170),
    (0, 131, 143),
    (249, 168, 37),
]
_INK = (38, 50, 56)
_GRID = (224, 228, 232)


class _Canvas:
    def __init__(self, width: int, height: int):
        self.w, self.h = width, height
        self.px = bytearray(b"\xff" * (width * height * 3))

    def set(self, x: int, y: int, c: tuple[int, int, int]) -> None:
        if 0 <= x < self.w and 0 <= y < self.h:
            i = (y * self.w + x) * 3
            self.px[i : i + 3] = bytes(c)

    def rect(self, x0: int, y0: int, x1: int, y1: int, c: tuple[int, int, int]) -> None:
        for y in range(max(0, y0), min(self.h, y1 + 1)):
            for x in range(max(0, x0), min(self.w, x1 + 1)):
                self.set(x, y, c)

    def line(self, x0: int, y0: int, x1: int, y1: int, c: tuple[int, int, int], t: int = 1) -> None:
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        while True:
            self.rect(x0 - t // 2, y0 - t // 2, x0 + (t - 1) // 2, y0 + (t - 1) // 2, c)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def text(self, x: int, y: int, s: str, c: tuple[int, int, int] = _INK, scale: int = 1) -> None:
        for ch in s:
            glyph = _FONT.get(ch.upper(), _UNKNOWN)
            for row, bits in enumerate(glyph):
                for col in range(5):
                    if bits & (16 >> col):
                        self.rect(
                            x + col * scale,
                            y + row * scale,
                            x + col * scale + scale - 1,
                            y + row * scale + scale - 1,
                            c,
                        )
            x += 6 * scale

    def encode(self) -> bytes:
        raw = b"".join(
            b"\x00" + bytes(self.px[y * self.w * 3 : (y + 1) * self.w * 3]) for y in range(self.h)
        )

        def chunk(tag: bytes, data: bytes) -> bytes:
            return (
                struct.pack(">I", len(data))
                + tag
                + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
            )

        header = struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b"")
        )


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(1, n - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    out = []
    v = start
    while v <= hi + step * 0.5:
        out.append(round(v, 12))
        v += step
    return out


_PANEL_W, _PANEL_H = 640, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 78, 20, 34, 40


def png(series: list[Series]) -> bytes:
    """One panel per metric, stacked: the metric's value at each run (x: the serial), a line
    per job, with a legend naming the jobs."""
    names: list[str] = []
    for s in series:
        names.extend(n for n in s.metric_names() if n not in names)
    legend_h = 16 + 14 * len(series)
    width, height = _PANEL_W, legend_h + _PANEL_H * max(1, len(names))
    cv = _Canvas(width, height)
    colors = {s.address: _PALETTE[i % len(_PALETTE)] for i, s in enumerate(series)}
    # Legend.
    for i, s in enumerate(series):
        y = 8 + 14 * i
        cv.rect(_LEFT, y + 2, _LEFT + 18, y + 4, colors[s.address])
        cv.text(_LEFT + 26, y, s.address)
    serials = sorted({p.serial for s in series for p in s.points})
    x_lo, x_hi = serials[0], serials[-1]
    if x_lo == x_hi:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    for k, name in enumerate(names):
        top = legend_h + k * _PANEL_H
        px0, px1 = _LEFT, width - _RIGHT
        py0, py1 = top + _TOP, top + _PANEL_H - _BOTTOM
        values = [p.metrics[name] for s in series for p in s.points if name in p.metrics]
        yt = _ticks(min(values), max(values))
        y_lo, y_hi = yt[0], yt[-1]

        def X(serial: float, px0: int = px0, px1: int = px1) -> int:
            # 12 pixels inside the axes, so that the first and last points show whole.
            return round(px0 + 12 + (serial - x_lo) / (x_hi - x_lo) * (px1 - px0 - 24))

        def Y(
            v: float, py0: int = py0, py1: int = py1, y_lo: float = y_lo, y_hi: float = y_hi
        ) -> int:
            return round(py1 - (v - y_lo) / (y_hi - y_lo) * (py1 - py0))

        cv.text(px0, top + 12, name, scale=2)
        for v in yt:
            y = Y(v)
            cv.line(px0, y, px1, y, _GRID)
            label = f"{v:.4g}"
            cv.text(px0 - 8 - 6 * len(label), y - 3, label)
            cv.line(px0 - 4, y, px0, y, _INK)
        step = max(1, math.ceil(len(serials) / 10))
        for sv in serials[::step]:
            x = X(sv)
            cv.line(x, py1, x, py1 + 4, _INK)
            cv.text(x - 3 * len(str(sv)), py1 + 8, str(sv))
        cv.text((px0 + px1) // 2 - 18, py1 + 22, "serial")
        cv.line(px0, py0, px0, py1, _INK)
        cv.line(px0, py1, px1, py1, _INK)
        for s in series:
            pts = [(X(p.serial), Y(p.metrics[name])) for p in s.points if name in p.metrics]
            for (a, b), (c, d) in zip(pts, pts[1:], strict=False):
                cv.line(a, b, c, d, colors[s.address], 2)
            for a, b in pts:
                cv.rect(a - 2, b - 2, a + 2, b + 2, colors[s.address])
    return cv.encode()
