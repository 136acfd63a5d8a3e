"""Kernel value formats: cpulists, cpumasks, bracketed choices and isolcpus, and how they compare."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fxpipe.tuning.values import (
    format_cpulist,
    format_cpumask,
    normalize,
    parse_cpulist,
    parse_cpumask,
    parse_isolcpus,
    same,
)

core_sets = st.frozensets(st.integers(min_value=0, max_value=300), max_size=80)


@given(core_sets)
def test_cpulist_round_trips(cores):
    assert parse_cpulist(format_cpulist(cores)) == cores


@given(core_sets)
def test_cpumask_round_trips(cores):
    assert parse_cpumask(format_cpumask(cores)) == cores


def test_cpulist_collapses_ranges():
    assert format_cpulist({0, 1, 2, 3, 7, 9, 10}) == "0-3,7,9-10"
    assert parse_cpulist("2-5,7") == {2, 3, 4, 5, 7}
    assert parse_cpulist("(null)") == frozenset()
    assert parse_cpulist("") == frozenset()


@pytest.mark.parametrize("bad", ["2-a", "5-2", "x", "1,,2-"])
def test_bad_cpulist_says_what_is_wrong(bad):
    with pytest.raises(ValueError, match="bad core list"):
        parse_cpulist(bad)


def test_cpumask_words_as_the_kernel_prints_them():
    assert format_cpumask({0, 1}) == "3"
    assert format_cpumask(range(64)) == "ffffffff,ffffffff"
    assert format_cpumask({0, 1, 32}) == "1,00000003"
    assert parse_cpumask("00000000,00000003") == {0, 1}
    assert parse_cpumask("ffc3") == {0, 1, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
    assert format_cpumask([]) == "0"


def test_same_compares_meaning_not_spelling():
    assert same("cpulist", "0,1", "0-1")
    assert same("cpumask", "00000000,0000000f", "f")
    assert same("choice", "always [never]", "never")
    assert not same("choice", "[always] madvise never", "never")
    assert same("text", "performance\n", "performance")
    assert not same("cpulist", "garbage", "0-1")


def test_isolcpus_flags_and_cores():
    assert parse_isolcpus("managed_irq,domain,2-5") == ({"managed_irq", "domain"}, {2, 3, 4, 5})
    assert same("isolcpus", "domain,managed_irq,2,3,4,5", "managed_irq,domain,2-5")
    # No flag means "domain" to the kernel: still missing managed_irq.
    assert not same("isolcpus", "2-5", "managed_irq,domain,2-5")
    assert same("isolcpus", "2-5", "domain,2-5")
    assert not same("isolcpus", "", "managed_irq,domain,2-5")


def test_normalize_gives_what_the_file_accepts():
    assert normalize("choice", "always [madvise] never\n") == "madvise"
    assert normalize("cpulist", " 0-3\n") == "0-3"
