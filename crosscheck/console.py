"""Plain terminal output: aligned tables, colour when the terminal supports it, a progress bar on stderr.

No dependency beyond the standard library, so that the command runs from a bare source checkout.
"""
import os
import re
import sys
import time

_CODES = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2", "cyan": "36"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def use_colour(stream=None):
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"


def paint(text, *styles, enabled=None):
    enabled = use_colour() if enabled is None else enabled
    if not enabled or not styles:
        return text
    return f"\x1b[{';'.join(_CODES[s] for s in styles)}m{text}\x1b[0m"


def visible_len(text):
    return len(_ANSI.sub("", text))


def table(headers, rows, align=None):
    """Rows of strings (colour codes allowed) as aligned text; align is 'l' or 'r' per column."""
    align = align or ["l"] * len(headers)
    widths = [max(visible_len(str(c)) for c in column) for column in zip(headers, *rows)]

    def line(cells):
        out = []
        for cell, width, a in zip(cells, widths, align):
            cell = str(cell)
            pad = " " * (width - visible_len(cell))
            out.append(pad + cell if a == "r" else cell + pad)
        return "  ".join(out).rstrip()

    rule = "  ".join("─" * w for w in widths)
    return "\n".join([line(headers), rule] + [line(r) for r in rows])


class Progress:
    """`with Progress(total, "label") as p: … p.advance("what")` — a bar on stderr, only on a terminal."""

    def __init__(self, total, label="", stream=None, enabled=None):
        self.total, self.label, self.done = max(total, 1), label, 0
        self.stream = stream or sys.stderr
        self.enabled = (hasattr(self.stream, "isatty") and self.stream.isatty()) if enabled is None else enabled
        self.start = time.perf_counter()

    def __enter__(self):
        self._draw("")
        return self

    def advance(self, what="", step=1):
        self.done = min(self.total, self.done + step)
        self._draw(what)

    def _draw(self, what):
        if not self.enabled:
            return
        width = 28
        filled = int(width * self.done / self.total)
        elapsed = time.perf_counter() - self.start
        bar = "█" * filled + "░" * (width - filled)
        self.stream.write(f"\r\x1b[2K{self.label} {bar} {self.done}/{self.total} {elapsed:5.1f}s {what}"[:200])
        self.stream.flush()

    def __exit__(self, *exc):
        if self.enabled:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
        return False
