"""The numpy dtypes of fxpipe.model.events against the C structs and the events.pxd text:
every field's name, offset, size, type and alignment, no compiler padding, one slot each."""
import re
from pathlib import Path

import numpy as np
import pytest

from fxpipe.model import events as ev

PXD = Path(__file__).resolve().parents[2] / "cython" / "fxpipe" / "model" / "events.pxd"
C_TYPES = {"int64_t": ("<i8", 8), "uint32_t": ("<u4", 4), "uint16_t": ("<u2", 2),
           "uint8_t": ("|u1", 1), "char": ("|S", 1)}


def pxd_constants(text: str) -> dict[str, int]:
    return {m[1]: int(m[2]) for m in re.finditer(r"^\s+([A-Z_]+) = (\d+)", text, re.M)}


def pxd_structs(text: str) -> dict[str, list[tuple[str, str, int]]]:
    """struct name -> [(C type, field name, array length)] in declaration order."""
    consts = pxd_constants(text)
    structs, current = {}, None
    for line in text.splitlines():
        m = re.match(r"cdef (?:struct|union) (\w+):", line)
        if m:
            current = structs.setdefault(m[1], [])
            continue
        if current is None:
            continue
        code = line.split("#")[0].rstrip()
        if not code.startswith("    ") or not code.strip():
            if code.strip():
                current = None
            continue
        m = re.fullmatch(r"\s+(\w+) (\w+)(?:\[(\w+)\])?", code)
        assert m, f"cannot read field line {line!r}"
        count = int(consts.get(m[3], m[3])) if m[3] else 1
        current.append((m[1], m[2], count))
    return structs


TEXT = PXD.read_text()
STRUCTS = pxd_structs(TEXT)


def simulate(struct: str) -> tuple[list[tuple[str, str, int, int]], int]:
    """C layout from the .pxd text with natural alignment: [(name, numpy format, offset, size)],
    header fields expanded; asserts that no field needs implicit padding before it."""
    out, offset = [], 0
    for ctype, name, count in STRUCTS[struct]:
        if ctype == "EventHeader":
            assert offset == 0, f"{struct}: the header must come first"
            header, size = simulate("EventHeader")
            out += header
            offset += size
            continue
        fmt, size = C_TYPES[ctype]
        assert offset % size == 0, f"{struct}.{name} at {offset} would get compiler padding"
        if not name.startswith("_pad"):
            out.append((name, f"|S{count}" if ctype == "char" else fmt, offset, size * count))
        offset += size * count
    return out, offset


def test_every_struct_of_the_pxd_has_a_layout_and_a_union_member():
    event_structs = {name for name in STRUCTS if name not in ("EventHeader", "Event")}
    assert event_structs == {layout[0] for layout in ev.C_LAYOUTS.values()}
    assert set(ev.C_LAYOUTS) == set(ev.EventType)
    members = {ctype for ctype, _, _ in STRUCTS["Event"]}
    assert event_structs | {"EventHeader"} <= members


def test_header_is_one_cache_line_and_slot_is_whole_cache_lines():
    fields, size = simulate("EventHeader")
    assert size == ev.HEADER_SIZE == 64
    assert ev.SLOT_SIZE == 192 and ev.SLOT_SIZE % 64 == 0
    assert ev.C_UNION_SIZE == ev.SLOT_SIZE
    assert ev.BODY_SIZE == ev.SLOT_SIZE - ev.HEADER_SIZE
    assert [f[:4] for f in ev.HEADER_FIELDS] == [(n, f.replace("|", ""), o, s) for n, f, o, s in fields]


@pytest.mark.parametrize("event_type", list(ev.EventType), ids=lambda t: t.name)
def test_dtype_matches_c_struct_field_by_field(event_type):
    struct, c_size, hdr_at, c_fields = ev.C_LAYOUTS[event_type]
    expected, text_size = simulate(struct)
    assert c_size == text_size == ev.SLOT_SIZE, f"{struct} is not exactly one slot"
    assert hdr_at == 0
    # C (offsets/sizes measured by the compiler) agrees with the .pxd text
    assert [(n, o, s) for n, _, o, s in c_fields] == [(n, o, s) for n, _, o, s in expected]
    dt = ev.dtype_for(event_type)
    assert dt.itemsize == c_size
    assert list(dt.names) == [n for n, _, _, _ in expected]
    for name, fmt, offset, size in expected:
        fdt, foff = dt.fields[name][:2]
        assert foff == offset, f"{struct}.{name}: dtype offset {foff}, C offset {offset}"
        assert fdt.itemsize == size, f"{struct}.{name}: dtype size {fdt.itemsize}, C size {size}"
        assert fdt.str == np.dtype(fmt).str, f"{struct}.{name}: dtype {fdt.str}, C type {fmt}"
        align = 1 if fdt.kind == "S" else fdt.itemsize
        assert foff % align == 0, f"{struct}.{name} is misaligned"


def test_no_two_fields_overlap_and_pads_fill_the_rest():
    for t in ev.EventType:
        dt = ev.dtype_for(t)
        spans = sorted((dt.fields[n][1], dt.fields[n][1] + dt.fields[n][0].itemsize) for n in dt.names)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), t.name
        pads = sum(count for ctype, name, count in STRUCTS[ev.C_LAYOUTS[t][0]] if name.startswith("_pad"))
        assert sum(e - s for s, e in spans) + pads == ev.SLOT_SIZE, t.name


def test_python_enums_mirror_the_pxd_constants():
    consts = pxd_constants(TEXT)
    assert ev.Side.BUY == consts["SIDE_BUY"] == ord("1")
    assert ev.OrdStatus.PENDING_REPLACE == consts["ORD_STATUS_PENDING_REPLACE"] == ord("E")
    assert ev.TimeInForce.IOC == ord("3") and ev.TimeInForce.FOK == ord("4")
    assert ev.IntentAction.REPLACE == ord("G")
    assert ev.ExecTransType.CORRECT == ord("2")
    for cls, prefix in [(ev.EventType, "EVT_"), (ev.ExecType, "EXEC_TYPE_"), (ev.OrdStatus, "ORD_STATUS_"),
                        (ev.RiskCheck, "RISK_"), (ev.SessionReason, "SESSION_REASON_"),
                        (ev.ControlCommand, "CMD_"), (ev.LatencyHop, "HOP_")]:
        for member in cls:
            assert consts[prefix + member.name] == member.value, f"{cls.__name__}.{member.name}"
    assert ev.EventFlag.POSS_DUP | ev.EventFlag.SNAPSHOT | ev.EventFlag.SYNTHETIC == consts["FLAG_ALL"]
