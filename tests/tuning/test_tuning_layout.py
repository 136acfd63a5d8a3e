"""Layouts: the TOML file and --cores, and every way they can be wrong on a given host."""
import pytest
from fake_host_tree import FakeHost, FakeNic

from fxpipe.tuning.host import Host
from fxpipe.tuning.layout import LayoutError, layout_from_cores, load_layout, resolve
from fxpipe.tuning.topology import read_topology


def _write(tmp_path, text):
    path = tmp_path / "layout.toml"
    path.write_text(text)
    return str(path)


@pytest.fixture
def host16(tmp_path):
    FakeHost(tmp_path / "root", cores=16)
    return Host(tmp_path / "root")


@pytest.fixture
def host16_smt(tmp_path):
    FakeHost(tmp_path / "root", cores=16, smt=True)
    return Host(tmp_path / "root")


def test_layout_file_with_trading_and_housekeeping(tmp_path, host16):
    layout = load_layout(_write(tmp_path, "[cores]\ntrading = [2,3,4,5]\nhousekeeping = [0,1]\n"
                                          "[tuning]\nturbo = \"on\"\nuser = \"fxpipe\"\n"))
    target = resolve(layout, read_topology(host16), "root")
    assert target.trading == {2, 3, 4, 5}
    assert target.housekeeping == {0, 1}
    assert target.options.turbo == "on"
    assert target.user == "fxpipe"


def test_layout_file_accepts_cpulist_strings_and_ignores_other_tables(tmp_path, host16):
    layout = load_layout(_write(tmp_path, "[stages.feed]\ncore = 2\n[cores]\ntrading = \"2-5,7\"\n"))
    target = resolve(layout, read_topology(host16), "ops")
    assert target.trading == {2, 3, 4, 5, 7}
    assert target.housekeeping == {0, 1, 6} | set(range(8, 16))
    assert target.user == "ops"


def test_cores_syntax(host16):
    target = resolve(layout_from_cores("2-5,7", "0-1"), read_topology(host16), "root")
    assert target.trading == {2, 3, 4, 5, 7} and target.housekeeping == {0, 1}


def test_unknown_core_names_it_and_the_online_cores(host16):
    with pytest.raises(LayoutError) as err:
        resolve(layout_from_cores("2,19"), read_topology(host16), "root")
    assert "trading core 19 is not an online core" in str(err.value)
    assert "online cores: 0-15" in str(err.value)


def test_unknown_housekeeping_core(host16):
    with pytest.raises(LayoutError, match="housekeeping core 40 is not an online core"):
        resolve(layout_from_cores("2", "0,40"), read_topology(host16), "root")


def test_core_both_trading_and_housekeeping(host16):
    with pytest.raises(LayoutError, match="core 2 is listed as both trading and housekeeping"):
        resolve(layout_from_cores("2-3", "0-2"), read_topology(host16), "root")


def test_no_housekeeping_core_left(tmp_path):
    FakeHost(tmp_path, cores=2)
    with pytest.raises(LayoutError, match="no housekeeping core left"):
        resolve(layout_from_cores("0-1"), read_topology(Host(tmp_path)), "root")


def test_smt_siblings_are_not_housekeeping_by_default(host16_smt):
    target = resolve(layout_from_cores("2-3"), read_topology(host16_smt), "root")
    # cpu10 and cpu11 are the siblings of 2 and 3 on the 8-core, 2-thread fake.
    assert not target.housekeeping & {10, 11}
    assert target.offline == frozenset()


def test_smt_offline_takes_siblings_out(tmp_path, host16_smt):
    layout = load_layout(_write(tmp_path, "[cores]\ntrading = [2,3]\n[tuning]\nsmt = \"offline\"\n"))
    target = resolve(layout, read_topology(host16_smt), "root")
    assert target.offline == {10, 11}
    assert not target.per_core & {10, 11}


def test_smt_offline_refuses_trading_siblings(tmp_path, host16_smt):
    layout = load_layout(_write(tmp_path, "[cores]\ntrading = [2,10]\n[tuning]\nsmt = \"offline\"\n"))
    with pytest.raises(LayoutError, match="share physical cores"):
        resolve(layout, read_topology(host16_smt), "root")


def test_smt_offline_refuses_a_sibling_named_housekeeping(tmp_path, host16_smt):
    layout = load_layout(_write(tmp_path, "[cores]\ntrading = [2]\nhousekeeping = [0,10]\n"
                                          "[tuning]\nsmt = \"offline\"\n"))
    with pytest.raises(LayoutError, match="housekeeping cores 10 are SMT siblings"):
        resolve(layout, read_topology(host16_smt), "root")


def test_unknown_nic(tmp_path):
    FakeHost(tmp_path, cores=4, nics=[FakeNic("eth0")])
    layout = layout_from_cores("2")
    import dataclasses
    layout = dataclasses.replace(layout, options=dataclasses.replace(layout.options, nics=("eth7",)))
    with pytest.raises(LayoutError, match="NIC eth7 is not on this host \\(NICs: eth0\\)"):
        resolve(layout, read_topology(Host(tmp_path)), "root")


@pytest.mark.parametrize("text, message", [
    ("[cores]\nhousekeeping = [0]\n", "needs a \\[cores\\] table with trading"),
    ("[cores]\ntrading = []\n", "non-empty list of core numbers"),
    ("[cores]\ntrading = [2, \"x\"]\n", "non-empty list of core numbers"),
    ("[cores]\ntrading = \"2-x\"\n", "bad core list"),
    ("[cores]\ntrading = [2]\ntradng = [3]\n", "unknown key cores.tradng"),
    ("[cores]\ntrading = [2]\n[tuning]\nsmtt = \"offline\"\n", "unknown key tuning.smtt"),
    ("[cores]\ntrading = [2]\n[tuning]\nsmt = \"off\"\n", "tuning.smt = 'off' is not one of warn, offline"),
    ("[cores]\ntrading = [2]\n[tuning]\nrx_ring = -4\n", "tuning.rx_ring must be"),
    ("[cores]\ntrading = [2]\n[tuning]\nidle_poll = \"yes\"\n", "idle_poll must be true or false"),
    ("[cores]\ntrading = [2]\n[tuning]\nnics = \"eth0\"\n", "tuning.nics must be a list"),
    ("[cores\ntrading = [2]\n", "is not valid TOML"),
])
def test_bad_layout_files_are_explained(tmp_path, text, message):
    with pytest.raises(LayoutError, match=message):
        load_layout(_write(tmp_path, text))


def test_missing_layout_file(tmp_path):
    with pytest.raises(LayoutError, match="layout file .*nope.toml does not exist"):
        load_layout(str(tmp_path / "nope.toml"))


@pytest.mark.parametrize("text", ["", "2-", "a-b"])
def test_bad_cores_option(text):
    with pytest.raises(LayoutError, match="--cores"):
        layout_from_cores(text)
