"""Runs every order-book scenario in tests/oms/scenarios/ (see oms_scenarios.py)."""
import pytest
from oms_scenarios import Scenario, ScenarioError, scenario_files


@pytest.mark.parametrize("path", scenario_files(), ids=lambda p: p.stem)
def test_scenario(path):
    Scenario(path).run()


def test_a_wrong_expectation_fails_with_file_line_and_what_differed(tmp_path):
    bad = tmp_path / "bad.oms"
    bad.write_text("new A qty=1000 px=1.085\nvenue ack A\nexpect A status=FILLED\n")
    with pytest.raises(ScenarioError, match=r"(?s)bad.oms:3: .*A.status: expected FILLED, got NEW"):
        Scenario(bad).run()


def test_there_are_scenarios():
    assert len(scenario_files()) >= 8
