"""Outside the codec, FIX tags are written by name (Tag.MsgSeqNum, admin.TARGET_COMP_ID), never
as numbers: a raw 34 or b"\\x0134=" reads as noise, and a wrong digit is a silent bug the
generated vocabulary cannot catch. An AST scan of the session layer and the venue looks for
the shapes a raw tag takes, and leaves ordinary numbers (sizes, ports, counts) alone:

- a tag field in a str/bytes constant: b"34=", b"\\x0156=" (docstrings are prose, not scanned);
- a FIX tag number as the first argument of a message accessor (get, get_int, get_str,
  get_char, get_scaled, get_utc_ns, has, groups);
- a (tag, value) pair: a 2-tuple whose first item is a FIX tag number and whose second is not
  a number, inside a list, tuple or set display;
- a comparison of something named *tag* with a FIX tag number (tag == 56, tag in (49, 56)).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from fxpipe.fix.spec42 import FIELDS

SRC = Path(__file__).resolve().parents[2] / "src" / "fxpipe"
SCANNED = sorted([*(SRC / "fix" / "session").glob("*.py"), *(SRC / "venue").glob("*.py")])
ACCESSORS = {"get", "get_int", "get_str", "get_char", "get_scaled", "get_utc_ns", "has", "groups"}
TAG_FIELD = re.compile(rb"(?:^|\x01)([0-9]{1,4})=")


def _is_tag(node: ast.AST) -> bool:
    return (isinstance(node, ast.Constant) and type(node.value) is int and node.value in FIELDS)


def _is_number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _named_tag(node: ast.AST) -> bool:
    while isinstance(node, ast.Subscript):
        node = node.value
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return any(word in ("tag", "tags") for word in name.lower().split("_"))


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def raw_tags(source: str) -> list[tuple[int, str]]:
    """(line, what) for each raw FIX tag in source."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes) and id(node) not in skip:
            data = node.value.encode("latin-1", "replace") if isinstance(node.value, str) else node.value
            for m in TAG_FIELD.finditer(data):
                if int(m.group(1)) in FIELDS:
                    found.append((node.lineno, f"tag field {m.group(0)!r} in a string"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ACCESSORS and node.args and _is_tag(node.args[0]):
                found.append((node.lineno, f"{node.func.attr}({node.args[0].value})"))  # type: ignore[attr-defined]
        elif isinstance(node, ast.List | ast.Tuple | ast.Set):
            for elt in node.elts:
                if (isinstance(elt, ast.Tuple) and len(elt.elts) == 2 and _is_tag(elt.elts[0])
                        and not _is_number(elt.elts[1])):
                    found.append((elt.lineno, f"({elt.elts[0].value}, ...) pair"))  # type: ignore[attr-defined]
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_named_tag(s) for s in sides):
                for s in sides:
                    numbers = s.elts if isinstance(s, ast.Tuple | ast.Set | ast.List) else [s]
                    found.extend((node.lineno, f"compared with {n.value}") for n in numbers if _is_tag(n))  # type: ignore[attr-defined]
    return sorted(found)


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: str(p.relative_to(SRC)))
def test_no_raw_fix_tag_numbers_outside_the_codec(path):
    found = raw_tags(path.read_text())
    assert not found, f"{path.relative_to(SRC)}: raw FIX tags, use fxpipe.fix.tags.Tag names: {found}"


@pytest.mark.parametrize("snippet", [
    'at = frame.find(b"\\x0134=")',
    'head = b"9=%d\\x01" % n',
    "key = (msg.get_str(56), msg.get_str(49))",
    "body = [(58, text), (Tag.RefSeqNum, seq)]",
    "if tag == 35:\n    pass",
    "if field_tag in (49, 56):\n    pass",
    "if tags[i] != 10:\n    pass",
])
def test_the_scan_finds_each_shape_of_a_raw_tag(snippet):
    assert raw_tags(snippet), snippet


@pytest.mark.parametrize("snippet", [
    '"""A frame starts with 8=FIX and 34= is its MsgSeqNum."""',
    "data = conn.sock.recv(1 << 16)",
    "normals = g.standard_normal((3, _BLOCK))",
    "pairs = [(1, 2), (3, 4.5)]",
    "if count == 35:\n    pass",
    "if not 1 <= stage_id <= 255:\n    pass",
    'host = ("127.0.0.1", 8080)',
    'text = f"MsgSeqNum too low, expecting {expected} but received {seq}"',
    "at = frame.find(b\"\\x01%d=\" % Tag.MsgSeqNum)",
])
def test_the_scan_leaves_ordinary_numbers_alone(snippet):
    assert not raw_tags(snippet), snippet


def fix_enum_copies(source: str) -> list[str]:
    """Classes named after a FIX field (OrdRejReason, CxlRejReason, ...): a second copy of
    code values that fxpipe.fix.enums generates from FIX42.xml."""
    names = {entry[0] for entry in FIELDS.values()}
    return [node.name for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.ClassDef) and node.name in names]


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: str(p.relative_to(SRC)))
def test_no_copy_of_the_fix_enums_outside_the_codec(path):
    assert not fix_enum_copies(path.read_text()), f"{path.relative_to(SRC)}: import them from fxpipe.fix.enums"


def test_the_enum_scan_finds_a_copy():
    assert fix_enum_copies("class OrdRejReason(enum.IntEnum):\n    UNKNOWN_SYMBOL = 1\n") == ["OrdRejReason"]
