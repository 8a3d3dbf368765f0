from __future__ import annotations

import json
import random
from dataclasses import replace

from aiops.detection.core.detectors import series
from tests.detection.core.plain import CONFIG, NOW, baseline, run, span


def noise(n: int, seed: int = 1, low: float = 90.0, high: float = 110.0):
    rng = random.Random(seed)
    return [rng.uniform(low, high) for _ in range(n)]


def alarms(values, state=None, *, through_json=False, counts=None):
    """(step, alarm) for every alarm the series raises (not its ongoing ones)."""
    state = {} if state is None else state
    found = []
    for i, value in enumerate(values):
        alarm = series.step(state, value, counts[i] if counts else 1)
        if alarm is not None and not alarm.ongoing:
            found.append((i, alarm))
        if through_json:
            state = json.loads(json.dumps(state))
    return found


def test_a_noisy_but_stationary_series_raises_few_alarms():
    # Bounded noise never leaves its range; the level test's likelihood layer
    # lets through about one alarm in a thousand steps or fewer (its young
    # estimates make the first judged steps the likeliest).
    found = alarms(noise(3000))
    assert {alarm.test for _, alarm in found} <= {"level"}
    assert len(found) <= 3


def test_a_spike_beyond_the_range_alarms_once_then_rests():
    values = noise(400)
    values[300] = 200.0
    values[330] = 250.0  # a second spike while it rests: no new alarm
    [(at, alarm)] = [(i, a) for i, a in alarms(values) if i >= 200]

    assert at == 300
    assert (alarm.test, alarm.direction) == ("range", "up")
    assert alarm.observed == 200.0
    assert 105 < alarm.high <= 110


def test_nothing_is_judged_while_warming_up():
    values = noise(200)
    values[100] = 200.0
    assert [i for i, _ in alarms(values) if i < series.WARM_UP] == []


def test_a_level_shift_inside_the_range_alarms():
    # Two old spikes widen the range: a step from 100 to 112 stays inside it.
    rng = random.Random(3)
    values = [100 + rng.gauss(0, 3) for _ in range(600)]
    values[5], values[6] = 20.0, 200.0
    values[400:] = [112 + rng.gauss(0, 3) for _ in range(200)]
    [(at, alarm)] = [(i, a) for i, a in alarms(values) if i >= 400]

    assert (alarm.test, alarm.direction) == ("level", "up")
    assert 400 < at < 440
    assert alarm.score >= series.LEVEL_SD
    # The recent median is on its way up; the usual one still about 100.
    assert 102 < alarm.observed < 116
    assert 98 < alarm.expected < 102
    # What the summary shows as expected does not hold what was seen.
    assert alarm.observed > alarm.high > alarm.expected > alarm.low


def test_a_level_alarm_is_never_inside_the_band_it_shows():
    # On noise the level test fires now and then (about one alarm in 2,000
    # steps): when it does, the recent median is beyond the band it calls usual.
    level = []
    for seed in range(40):
        rng = random.Random(seed)
        values = [40 * rng.lognormvariate(0, 0.35) for _ in range(600)]
        level += [a for _, a in alarms(values) if a.test == "level"]
    assert len(level) >= 5
    for alarm in level:
        assert not alarm.low <= alarm.observed <= alarm.high, alarm


def test_a_drop_alarms_too():
    values = noise(400)
    values[300:] = [v - 60 for v in values[300:]]
    [(at, alarm)] = [(i, a) for i, a in alarms(values) if i >= 200]
    assert (at, alarm.direction) == (300, "down")


def test_a_drop_that_lasts_is_ongoing_through_the_rest_then_learned():
    values = noise(600)
    values[300:] = [v - 60 for v in values[300:]]
    state: dict = {}
    ongoing = []
    for i, value in enumerate(values):
        alarm = series.step(state, value)
        if alarm is not None and alarm.ongoing:
            ongoing.append(i)
            assert (alarm.test, alarm.direction) == ("range", "down")
    # Every quiet step after the alarm at 300 keeps it going; after them the
    # lower level is the series' normal.
    assert ongoing == list(range(301, 300 + series.REST))


def test_the_state_is_plain_json_and_decides_the_same():
    rng = random.Random(5)
    values = [100 + rng.gauss(0, 4) for _ in range(1500)]
    values[500:800] = [v + 15 for v in values[500:800]]
    values[1200] = 400.0
    plain = alarms(values)
    assert len(plain) >= 2
    assert alarms(values, through_json=True) == plain
    state: dict = {}
    alarms(values, state)
    assert len(json.dumps(state)) < 4000


def test_irregular_counts_are_no_sampled_series():
    # About one request a cycle at random: one, two, three... never judged.
    rng = random.Random(7)
    counts = [rng.choice((1, 1, 2, 3)) for _ in range(400)]
    values = noise(400)
    values[300] = 500.0
    assert alarms(values, counts=counts) == []
    state: dict = {}
    alarms(values, state, counts=counts)
    assert not series.regular(state)


def _timed_alarms(values, times):
    state: dict = {}
    found = [
        (i, alarm)
        for i, (value, at) in enumerate(zip(values, times, strict=True))
        if (alarm := series.step(state, value, 1, at)) is not None and not alarm.ongoing
    ]
    return found, state


def test_requests_at_random_one_a_cycle_at_most_are_no_sampled_series():
    # An endpoint used every five minutes or so at random: each cycle that has
    # data holds one request, as a probe's does, but the requests keep no beat.
    rng = random.Random(11)
    times, t = [], 0.0
    for _ in range(600):
        times.append(t := t + rng.expovariate(1 / 300))
    values = [40 * rng.lognormvariate(0, 0.35) for _ in range(600)]
    values[400] = 2000.0
    found, state = _timed_alarms(values, times)
    assert found == []
    assert not series.regular(state)
    assert 0.2 < state["irregular"] < 0.45  # about 29 % of gaps are short

    # The same values from a probe every five minutes that misses a sample now
    # and then, and is sometimes late: a series, and the spike is found.
    beat = [i * 300.0 + rng.uniform(0, 60) for i in range(700)]
    missed = sorted(rng.sample(range(700), 100))
    beat = [at for i, at in enumerate(beat) if i not in set(missed)]
    found, state = _timed_alarms(values, beat)
    assert series.regular(state)
    assert (400, "range") in [(i, a.test) for i, a in found]


def steady(**fields):
    state: dict = {}
    alarms(noise(300), state)
    return baseline("probe", 100.0, series=state, **fields)


def test_a_series_endpoint_is_judged_by_the_series_detector_alone():
    result = run([span("probe", 400.0)], [steady()])

    [finding] = result.findings
    assert finding.type == "latency_series"
    assert finding.severity == "medium"
    assert finding.summary.startswith("Latency series left its range: 400.0ms, ")
    assert finding.detail["test"] == "range"
    assert result.baselines[finding.key].series["steps"] == 301


def test_a_drop_is_low_severity():
    [finding] = run([span("probe", 10.0)], [steady()]).findings
    assert (finding.severity, finding.detail["direction"]) == ("low", "down")


def test_a_new_record_a_little_beyond_the_range_is_low_severity():
    # Steady noise sets new records now and then (about ln(steps / warm-up)):
    # one just past the range is reported, without paging as a real jump does.
    [finding] = run([span("probe", 112.0)], [steady()]).findings
    assert (finding.detail["test"], finding.severity) == ("range", "low")


def test_the_series_detector_can_be_turned_off():
    # AIOPS_SERIES=0: a series endpoint is judged by the usual detectors, for
    # which one slow request is not yet a latency anomaly (it needs three).
    on = run([span("probe", 400.0)], [steady()])
    off = run([span("probe", 400.0)], [steady()], config=replace(CONFIG, series=False))
    assert [f.type for f in on.findings] == ["latency_series"]
    assert off.findings == []
    [learned] = off.baselines.values()
    assert learned.series["steps"] == 300  # no step taken


def test_a_busy_endpoint_is_not_a_series():
    spans = [span("probe", 400.0, start=NOW - 20 + i) for i in range(10)]
    result = run(spans, [steady(busy_cycles=3)])

    assert "latency_series" not in {f.type for f in result.findings}
    assert "latency_anomaly" in {f.type for f in result.findings}
    assert result.baselines[spans[0].key].series == {}
