"""fxpipe.oms's Python enums are the C enums of book.pxd, value for value."""
import pytest

from fxpipe import oms
from fxpipe.oms import view


@pytest.mark.parametrize("name", ["Verdict", "Refusal", "Disposition", "Alarm", "RequestState",
                                  "ExecState", "VenueState"])
def test_python_enum_equals_the_c_enum(name):
    py = {m.name: m.value for m in getattr(oms, name) if m.name != "NONE" or name != "Alarm"}
    assert py == view.C_CONSTANTS[name]


def test_cl_ord_id_layout_constants():
    assert oms.CL_ORD_ID_SPAN == view.C_CONSTANTS["CL_ORD_ID_SPAN"]
    assert oms.MAX_OMS_PREFIX == view.C_CONSTANTS["MAX_OMS_PREFIX"]
    assert (oms.MAX_OMS_PREFIX + 1) * oms.CL_ORD_ID_SPAN < 2**63
