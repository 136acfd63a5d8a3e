"""FIX codec benchmark: parse an FX ExecutionReport and encode an FX NewOrderSingle with fxpipe
(Python API and C level), simplefix and quickfix, in one run.

    ExecutionReport bytes ──parse──► fxpipe.parse / direct decode / C scan+validate+decode
                                     simplefix.FixParser / quickfix.Message(dd)
    NewOrderSingle fields ──encode──► fxpipe.encode / Encoder / direct / C template
                                     simplefix.FixMessage / quickfix42.NewOrderSingle

Two measures per path: µs per message (best of several timed batches, wall clock, so it
moves with machine load) and instructions per message from `valgrind --tool=callgrind`, which
counts only the measured section (client requests zero and dump the counters around it) and
repeats on a noisy machine. Sections are a list: the FIX session engineer appends the loopback
round trip (NewOrderSingle -> ExecutionReport over TCP) as one more entry of SECTIONS.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quickfix  # noqa: E402
import quickfix42  # noqa: E402
import simplefix  # noqa: E402
from _harness import Results, parse_args  # noqa: E402

from fxpipe.fix import codec, direct, timing  # noqa: E402

T0_NS = 1_700_000_000_123_000_000
T0 = codec.format_utc_timestamp(T0_NS)
ER_BODY = [
    (37, "LP-ORD-991"), (11, "ord-20231114-000042"), (17, "LP-EXEC-5531"), (20, "0"), (150, "1"),
    (39, "1"), (55, "EUR/USD"), (54, "1"), (38, "5000000"), (40, "2"), (44, "1.08345"), (59, "3"),
    (32, "1000000"), (31, "1.08341"), (151, "4000000"), (14, "1000000"), (6, "1.08341"),
    (60, "20231114-22:13:20.120"), (15, "EUR"),
]
NOS_BODY = [
    (11, "ord-20231114-000042"), (21, "1"), (55, "EUR/USD"), (54, "1"), (60, T0), (38, "5000000"),
    (15, "EUR"), (40, "2"), (44, "1.08345"), (59, "3"),
]
NOS_FIELDS = dict(cl_ord_id="ord-20231114-000042", symbol="EUR/USD", currency="EUR", side="1",
                  ord_type="2", time_in_force="3", handl_inst="1", order_qty_e2=500000000,
                  price_e8=108345000, transact_time_ns=T0_NS)
EXEC_REPORT = codec.encode("8", "LP1", "FXPIPE", 12, T0_NS, ER_BODY)
FIX42_XML = Path(sysconfig.get_paths()["data"]) / "share" / "quickfix" / "FIX42.xml"


def codec_paths():
    """{(system, metric): (callable running n messages, n for a timing batch)}."""
    raw = EXEC_REPORT
    raw_str = raw.decode()
    dd = quickfix.DataDictionary(str(FIX42_XML))
    enc = codec.Encoder("FXPIPE", "LP1")

    def loop(fn):
        def run(n):
            for _ in range(n):
                fn()
        return run

    def simplefix_parse():
        p = simplefix.FixParser()
        p.append_buffer(raw)
        return p.get_message()

    def simplefix_encode():
        m = simplefix.FixMessage()
        m.append_pair(8, "FIX.4.2", header=True)
        m.append_pair(35, "D", header=True)
        m.append_pair(49, "FXPIPE", header=True)
        m.append_pair(56, "LP1", header=True)
        m.append_pair(34, 7, header=True)
        m.append_pair(52, T0, header=True)
        for t, v in NOS_BODY:
            m.append_pair(t, v)
        return m.encode()

    def quickfix_encode():
        m = quickfix42.NewOrderSingle()
        h = m.getHeader()
        h.setField(quickfix.SenderCompID("FXPIPE"))
        h.setField(quickfix.TargetCompID("LP1"))
        h.setField(quickfix.MsgSeqNum(7))
        h.setField(quickfix.StringField(52, T0))
        m.setField(quickfix.ClOrdID("ord-20231114-000042"))
        m.setField(quickfix.HandlInst("1"))
        m.setField(quickfix.Symbol("EUR/USD"))
        m.setField(quickfix.Side("1"))
        m.setField(quickfix.StringField(60, T0))
        m.setField(quickfix.OrderQty(5000000))
        m.setField(quickfix.Currency("EUR"))
        m.setField(quickfix.OrdType("2"))
        m.setField(quickfix.StringField(44, "1.08345"))
        m.setField(quickfix.TimeInForce("3"))
        return m.toString()

    c_parse = {mode: (lambda n, m=mode: timing.parse_loop(raw, n, m)) for mode in (0, 1, 2, 3)}
    return {
        ("fxpipe", "parse ExecutionReport, Python parse()"): loop(lambda: codec.parse(raw)),
        ("fxpipe", "parse ExecutionReport, Python parse(validate=False)"):
            loop(lambda: codec.parse(raw, validate=False)),
        ("fxpipe", "parse ExecutionReport, Python direct decode to dict"):
            loop(lambda: direct.decode_execution_report(raw)),
        ("fxpipe", "parse ExecutionReport, C scan + header"): c_parse[0],
        ("fxpipe", "parse ExecutionReport, C scan + validate"): c_parse[1],
        ("fxpipe", "parse ExecutionReport, C scan + validate + decode struct"): c_parse[2],
        ("fxpipe", "parse ExecutionReport, C scan + validate -> OrderUpdate+Fill events"): c_parse[3],
        ("simplefix", "parse ExecutionReport"): loop(simplefix_parse),
        ("quickfix", "parse ExecutionReport (FIX42 dictionary)"):
            loop(lambda: quickfix.Message(raw_str, dd, True)),
        ("fxpipe", "encode NewOrderSingle, Python encode()"):
            loop(lambda: codec.encode("D", "FXPIPE", "LP1", 7, T0_NS, NOS_BODY)),
        ("fxpipe", "encode NewOrderSingle, Python Encoder.encode()"):
            loop(lambda: enc.encode("D", 7, T0_NS, NOS_BODY)),
        ("fxpipe", "encode NewOrderSingle, Python direct from dict"):
            loop(lambda: direct.encode_order(enc, "D", 7, T0_NS, NOS_FIELDS)),
        ("fxpipe", "encode NewOrderSingle, C template from struct"):
            lambda n: timing.encode_loop(enc, n, T0_NS),
        ("fxpipe", "encode NewOrderSingle, C from OrderIntent event"):
            lambda n: timing.intent_loop(enc, n, T0_NS),
        ("simplefix", "encode NewOrderSingle"): loop(simplefix_encode),
        ("quickfix", "encode NewOrderSingle"): loop(quickfix_encode),
    }


def time_us(run, n: int, repeats: int) -> float:
    """Best µs per message over `repeats` batches of n (the least disturbed batch)."""
    best = float("inf")
    run(min(n, 1000))   # warm-up
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        run(n)
        best = min(best, (time.perf_counter_ns() - t0) / n)
    return best / 1000.0


def batch_size(system: str, metric: str, quick: bool) -> int:
    if " C " in metric:
        n = 200_000
    elif system == "fxpipe":
        n = 50_000
    else:
        n = 5_000
    return n // 10 if quick else n


def codec_section(results: Results, args) -> None:
    paths = codec_paths()
    repeats = 3 if args.quick else 7
    for (system, metric), run in paths.items():
        us = time_us(run, batch_size(system, metric, args.quick), repeats)
        results.add(system, f"{metric} µs/msg", "us", round(us, 4))
    instructions = callgrind_counts(args.quick)
    if isinstance(instructions, str):
        results.notes.append(f"callgrind: {instructions}")
    else:
        for system, metric in paths:
            if (system, metric) in instructions:
                results.add(system, f"{metric} instructions/msg", "count", instructions[(system, metric)])
    add_ratios(results)


def add_ratios(results: Results) -> None:
    pairs = [
        ("parse ExecutionReport, Python parse()", "parse ExecutionReport", "parse ExecutionReport (FIX42 dictionary)"),
        ("encode NewOrderSingle, Python encode()", "encode NewOrderSingle", "encode NewOrderSingle"),
    ]
    for ours, sf, qf in pairs:
        for unit in ("µs/msg", "instructions/msg"):
            mine = results.value("fxpipe", f"{ours} {unit}")
            for peer, theirs in (("simplefix", sf), ("quickfix", qf)):
                other = results.value(peer, f"{theirs} {unit}")
                if mine and other:
                    results.add("fxpipe", f"{ours}: {peer} / fxpipe ({unit})", "ratio", round(other / mine, 2))


# --- callgrind ------------------------------------------------------------------------------

CALLGRIND_N = 2000


def callgrind_counts(quick: bool):
    """{(system, metric): instructions per message}, or a string saying why not measured."""
    if not shutil.which("valgrind"):
        return "valgrind not installed (Debian: apt-get install valgrind)"
    if not timing.HAVE_CALLGRIND:
        return "fxpipe was built without valgrind/callgrind.h; rebuild with valgrind installed"
    n = CALLGRIND_N // 4 if quick else CALLGRIND_N
    with tempfile.TemporaryDirectory(prefix="fxpipe-cg-") as tmp:
        out = os.path.join(tmp, "cg.out")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no",
               sys.executable, __file__, "--callgrind-child", str(n)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            return f"valgrind failed ({r.returncode}): {r.stderr.strip().splitlines()[-1:]}"
        counts = {}
        for path in Path(tmp).glob("cg.out*"):
            text = path.read_text(errors="replace")
            m = re.search(r"^desc: Trigger: Client Request: (.+)$", text, re.M)
            t = re.search(r"^(?:totals|summary): (\d+)", text, re.M)
            if m and t and "|" in m.group(1):
                system, metric = m.group(1).split("|", 1)
                counts[(system, metric)] = round(int(t.group(1)) / n)
        return counts or "callgrind produced no section dumps"


def callgrind_child(n: int) -> None:
    for (system, metric), run in codec_paths().items():
        run(10)
        timing.callgrind_zero()
        run(n)
        timing.callgrind_dump(f"{system}|{metric}")


# The loopback round trip (fxpipe <-> fxpipe against QuickFIX <-> QuickFIX) joins this list.
SECTIONS = [codec_section]


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--callgrind-child":
        callgrind_child(int(sys.argv[2]))
        return 0
    args = parse_args("fix", __doc__.splitlines()[0])
    results = Results("fix")
    for section in SECTIONS:
        section(results, args)
    results.notes.append("µs/msg: best batch, wall clock on a shared machine; instructions/msg: "
                         "callgrind, repeatable")
    results.finish(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
