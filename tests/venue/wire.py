"""Small helpers the venue's wire tests share: a report as a {tag: text} dict, the first
report of an order in a given state, and an extra venue table for a test's own profile."""
from __future__ import annotations

from session_doubles import free_port
from venue_harness import levels


def fields(m) -> dict[int, str]:
    out: dict[int, str] = {}
    for tag, value in m.fields():
        out.setdefault(tag, value.decode())
    return out


def reports(c, cl_ord_id: str, n: int) -> list[dict[int, str]]:
    return [fields(m) for m in c.wait_for("8", n, t11=cl_ord_id)]


def pick(r: dict[int, str], *tags: int) -> tuple:
    return tuple(r.get(t) for t in tags)


def venue_table(name: str, comp_id: str, clients=("C1",), **keys) -> tuple[str, int]:
    """A `[venues.NAME]` table on a free port (TOML text, port); values are written as given."""
    port = free_port()
    lines = [f"[venues.{name}]", f"port = {port}", f'comp_id = "{comp_id}"',
             "clients = [" + ", ".join(f'"{c}"' for c in clients) + "]"]
    lines += [f"{k} = {v}" for k, v in keys.items()]
    return "\n" + "\n".join(lines) + "\n", port


LP_KEYS = dict(symbol_format='"concat"', depth=3, level_sizes="[2000000, 3000000, 5000000]", markup_ticks=1,
               time_in_force='["ioc", "fok"]', ioc_remainder='"on_fill"', required_tags="{ D = [60] }")


def last_asks(c) -> list[tuple[int, int]]:
    """The offers as the subscriber's W and Xs put them together now, best first."""
    book: dict[int, tuple[int, int]] = {}
    for m in c.app.messages:
        if m.msg_type == "W":
            book = {pos: lv for pos, lv in enumerate(levels(m)[1], 1)}
        elif m.msg_type == "X":
            for g in m.groups(268):
                if g.get_str(269) != "1":
                    continue
                pos = int(g.get_str(290))
                if g.get_str(279) == "2":
                    book.pop(pos, None)
                else:
                    book[pos] = (g.get_scaled(270, 8), g.get_scaled(271, 2))
    return [book[k] for k in sorted(book)]
