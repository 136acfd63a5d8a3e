"""The FIX vocabulary is generated from FIX42.xml by one generator: the committed files are its
output, byte for byte, and it refuses an XML that does not fit what fxpipe declares."""
import re
from pathlib import Path

import pytest

from fxpipe.fix import specgen


def test_committed_vocabulary_is_the_generators_output():
    stale = specgen.drifted()
    assert not stale, (f"{[str(p) for p in stale]} differ from what FIX42.xml gives: "
                       "run python -m fxpipe.fix.specgen and rebuild the Cython extensions")


def test_every_generated_file_says_so_and_names_its_source():
    for path in specgen.RENDERERS:
        head = path.read_text()[:600]
        assert specgen.MARK in head, path


def _xml_with(tmp_path: Path, old: str, new: str) -> Path:
    text = specgen.XML.read_text()
    assert old in text
    path = tmp_path / "FIX42.xml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_a_changed_dictionary_shows_as_drift(tmp_path):
    # The drift check compares real output: an XML with one enumeration renamed must differ.
    xml = _xml_with(tmp_path, "description='PARTIALLY_FILLED'", "description='PART_FILLED'")
    stale = specgen.drifted(xml)
    assert specgen.HERE / "enums.py" in stale
    assert specgen.HERE / "tags.py" not in stale
    assert "PART_FILLED = \"1\"" in specgen.render_enums(specgen.load(xml))


def test_a_session_reject_reason_without_c_constant_and_text_is_refused(tmp_path):
    xml = _xml_with(tmp_path, "<value enum='9' description='COMP_ID_PROBLEM' />",
                    "<value enum='9' description='COMP_ID_PROBLEM' />\n   <value enum='12' description='OTHER' />")
    with pytest.raises(specgen.SpecError, match="SessionRejectReason"):
        specgen.render_all(xml)


def test_a_business_reject_reason_without_text_is_refused(tmp_path):
    xml = _xml_with(tmp_path, "<value enum='5' description='CONDITIONALLY_REQUIRED_FIELD_MISSING' />",
                    "<value enum='5' description='CONDITIONALLY_REQUIRED_FIELD_MISSING' />\n"
                    "   <value enum='6' description='NOT_AUTHORIZED' />")
    with pytest.raises(specgen.SpecError, match="BusinessRejectReason"):
        specgen.render_all(xml)


def test_a_data_field_without_its_length_field_is_refused(tmp_path):
    xml = _xml_with(tmp_path, "name='EncodedListStatusTextLen'", "name='EncodedListStatusTextSize'")
    with pytest.raises(specgen.SpecError, match="EncodedListStatusText"):
        specgen.render_all(xml)


def test_an_enumeration_value_that_is_no_identifier_needs_a_declared_name(tmp_path):
    xml = _xml_with(tmp_path, "description='PREVIOUSLY_QUOTED'", "description='PREVIOUSLY QUOTED'")
    with pytest.raises(specgen.SpecError, match="OrdType"):
        specgen.render_all(xml)


def test_check_mode_reports_drift_and_writes_nothing(tmp_path, capsys, monkeypatch):
    out = tmp_path / "enums.py"
    out.write_text("# hand edited\n")
    monkeypatch.setitem(specgen.RENDERERS, out, specgen.render_enums)
    assert specgen.main(["--check"]) == 1
    assert "enums.py differs" in capsys.readouterr().out
    assert out.read_text() == "# hand edited\n"


def test_no_hand_written_copy_of_the_codes_is_left():
    # The reason codes and the encoder's own tags are written out only by the generator.
    fix = specgen.HERE
    for path in [*fix.glob("*.py"), *(fix / "session").glob("*.py"), *specgen.CYTHON.glob("*.p*")]:
        if path in specgen.RENDERERS or path.name in ("specdecl.py", "specgen.py"):
            continue
        text = path.read_text()
        assert not re.search(r"^\s*(REASON_|GARBLED_)\w+\s*=\s*\d", text, re.M), path
        assert "tag == 8 or tag == 9" not in text, path
        assert "frozenset((8, 9, 35" not in text, path
