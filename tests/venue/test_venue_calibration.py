"""The shipped configuration is calibrated to the real FX market: EUR/USD moves about 0.16 pip
per square-root second (7% a year), not the 2 pips of a stress test, and the LP's last look
rejects a few percent of orders, not a fifth. The `stress` profile keeps the rough settings
under a name. Measured on the seeded price process itself, over simulated time."""
import math
import random
from pathlib import Path

from fxpipe.venue.config import load
from fxpipe.venue.pairs import load as load_pairs
from fxpipe.venue.prices import SECONDS_PER_YEAR, PriceProcess

CONFIG = Path(__file__).resolve().parents[2] / "config" / "venues.toml"


def eur_usd_path(profile: str | None, seconds: float) -> tuple[list[int], list[int], float, int]:
    cfg = load(CONFIG, profile)
    pairs = load_pairs(cfg.refdata)
    pp = PriceProcess(pairs, cfg.market.seed, cfg.market.process, cfg.market.rate)
    i = [p.symbol for p in pairs].index("EUR/USD")
    mids, asks = [], []
    for _ in range(int(seconds * cfg.market.rate)):
        pp.advance()
        mids.append(pp.mid_e8[i])
        asks.append(pp.ask_e8[i])
    return mids, asks, cfg.market.rate, pairs[i].pip_e8


def realised_pips_per_sqrt_s(mids: list[int], seconds: float, pip_e8: int) -> float:
    return math.sqrt(sum((b - a) ** 2 for a, b in zip(mids, mids[1:], strict=False)) / seconds) / pip_e8


def test_eur_usd_moves_as_the_real_market_does():
    mids, _, _, pip = eur_usd_path(None, 60)
    got = realised_pips_per_sqrt_s(mids, 60, pip)
    real = 108_500_000 / pip * 0.07 / math.sqrt(SECONDS_PER_YEAR)  # 7% a year: 0.16 pip/sqrt(s)
    assert 0.1 < real < 0.2
    assert 0.8 * real < got < 1.4 * real


def test_the_stress_profile_is_an_order_of_magnitude_rougher():
    mids, _, _, pip = eur_usd_path("stress", 20)
    assert realised_pips_per_sqrt_s(mids, 20, pip) > 1.0


def lp_reject_share(profile: str | None) -> float:
    """Orders priced at the LP's offer when they arrive, decided after a hold drawn from the
    profile: the share whose offer moved against them by more than the tolerance."""
    cfg = load(CONFIG, profile)
    ll = next(v.profile.last_look for v in cfg.venues if v.profile.last_look is not None)
    _, asks, rate, pip = eur_usd_path(profile, 60)
    rng = random.Random(5)
    tol = ll.tolerance_pips * pip
    rejected = 0
    trials = 3000
    for _ in range(trials):
        k = rng.randrange(0, len(asks) // 2)
        later = k + max(1, int(ll.hold.sample_ns(rng) * rate / 1e9))
        rejected += asks[later] - asks[k] > tol
    return rejected / trials


def test_the_lp_rejects_a_few_percent_and_a_stressed_one_far_more():
    assert 0.01 < lp_reject_share(None) < 0.10
    assert lp_reject_share("stress") > 0.2
