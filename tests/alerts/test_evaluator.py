"""The alert evaluator: each rule kind, firing once, re-arming, and its state surviving a checkpoint."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from briefings.alerts import AlertState, Evaluation, RuleSpec, Sample, duration_text, evaluate
from briefings.watch import WatchState
from documents import AlertKind

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
CROWDED = RuleSpec(id="crowded", kind=AlertKind.OCCUPANCY, seconds=10, threshold=3)
COUNTER = RuleSpec(id="counter", kind=AlertKind.ZONE_EMPTY, seconds=30, zone_id="counter")
RUSH = RuleSpec(id="rush", kind=AlertKind.ENTRIES, seconds=60, threshold=3)
BLIND = RuleSpec(id="blind", kind=AlertKind.CAMERA_UNREADABLE, seconds=5)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def people(counts: Sequence[tuple[float, int]], **extra: object) -> list[Sample]:
    """Samples with the given occupancy at the given second offsets."""
    return [Sample(at=at(t), occupancy=n, **extra) for t, n in counts]  # type: ignore[arg-type]


def run(rules: Sequence[RuleSpec], samples: Sequence[Sample], state: AlertState | None = None) -> Evaluation:
    return evaluate(rules=rules, samples=samples, state=state or AlertState())


def fired_at(evaluation: Evaluation) -> list[tuple[str, float]]:
    return [(f.rule_id, (f.at - T0).total_seconds()) for f in evaluation.firings]


def test_occupancy_fires_once_when_it_held_for_the_given_seconds() -> None:
    # given 3 people in view from t=0 on, sampled every second for 20 s
    samples = people([(t, 3) for t in range(21)])
    # when the rule "3 or more for 10 s" is evaluated
    result = run([CROWDED], samples)
    # then it fires once, at t=10, having begun at t=0 with 3 observed
    assert fired_at(result) == [("crowded", 10.0)]
    assert result.firings[0].since == T0
    assert result.firings[0].observed == 3


def test_occupancy_that_dips_before_the_seconds_pass_does_not_fire() -> None:
    # given a crowd that thins out for one sample every 8 s
    samples = people([(t, 2 if t % 8 == 7 else 4) for t in range(40)])
    # then the condition never holds 10 s in a row
    assert run([CROWDED], samples).firings == []


def test_occupancy_rearms_only_after_the_condition_clears() -> None:
    # given a crowd for 30 s, nobody for 5 s, then a crowd again for 15 s
    samples = people([(t, 5) for t in range(30)] + [(t, 0) for t in range(30, 35)] + [(t, 5) for t in range(35, 50)])
    # then it fires once per crowded spell, not once per sample
    assert fired_at(run([CROWDED], samples)) == [("crowded", 10.0), ("crowded", 45.0)]


def test_occupancy_with_a_label_counts_only_that_class() -> None:
    # given 4 people of whom 1 is female
    rule = RuleSpec(id="women", kind=AlertKind.OCCUPANCY, seconds=1, threshold=2, label="female")
    few = [Sample(at=at(t), occupancy=4, by_label={"male": 3, "female": 1}) for t in range(5)]
    many = [Sample(at=at(t), occupancy=4, by_label={"male": 2, "female": 2}) for t in range(5, 10)]
    # then only the samples with 2 women count
    assert fired_at(run([rule], [*few, *many])) == [("women", 6.0)]


def test_zone_empty_fires_when_the_counter_stays_unattended() -> None:
    # given someone at the counter until t=10, then nobody for a minute
    samples = [Sample(at=at(t), zones={"counter": 1 if t < 10 else 0}) for t in range(0, 70, 2)]
    # then the rule "counter empty for 30 s" fires at t=40 with 0 observed
    result = run([COUNTER], samples)
    assert fired_at(result) == [("counter", 40.0)]
    assert result.firings[0].observed == 0


def test_zone_empty_ignores_samples_that_do_not_report_the_zone() -> None:
    # given samples that report other zones only
    samples = [Sample(at=at(t), zones={"door": 0}) for t in range(100)]
    # then nothing is known about the counter, and nothing fires
    assert run([COUNTER], samples).firings == []


def test_entries_fire_when_enough_people_came_in_within_the_window() -> None:
    # given a cumulative entry counter rising at t=1, 50, 90 and 100
    counter = [(0, 0), (1, 1), (50, 2), (90, 3), (100, 4), (120, 4)]
    samples = [Sample(at=at(t), entries=n) for t, n in counter]
    # when the rule is "3 entries within 60 s"
    result = run([RUSH], samples)
    # then two within any minute up to t=90 is not enough; 50, 90 and 100 are 3 within 60 s → fires at 100
    assert fired_at(result) == [("rush", 100.0)]
    assert result.firings[0].observed == 3


def test_entries_rearm_after_the_window_slides_past_the_rush() -> None:
    # given three entries at t=0..2, quiet until t=200, then three more at t=200..202
    counter = [(t, t + 1) for t in range(3)] + [(100, 3)] + [(200 + t, 4 + t) for t in range(3)]
    samples = [Sample(at=at(t), entries=n) for t, n in [(-1, 0), *counter]]
    # then each rush fires once
    assert fired_at(run([RUSH], samples)) == [("rush", 2.0), ("rush", 202.0)]


def test_entries_treat_a_counter_that_went_down_as_restarted() -> None:
    # given a counter at 50 that restarts from 0 (another watcher), then counts 2 more
    samples = [Sample(at=at(t), entries=n) for t, n in [(0, 50), (1, 0), (2, 1), (3, 2)]]
    # then only the 2 entries after the restart count (the drop is not -50, nor 50 entries)
    assert run([RUSH], samples).firings == []
    assert fired_at(run([RUSH], [*samples, Sample(at=at(4), entries=3)])) == [("rush", 4.0)]


def test_camera_unreadable_fires_after_the_seconds_and_rearms_on_a_good_frame() -> None:
    # given frames that fail from t=0 to t=9, one good frame, then failures again from t=11 to t=20
    samples = [Sample(at=at(t), readable=t == 10) for t in range(21)]
    # then the rule "unreadable for 5 s" fires at t=5 and again at t=16
    assert fired_at(run([BLIND], samples)) == [("blind", 5.0), ("blind", 16.0)]


def test_unreadable_frames_leave_the_other_rules_as_they_were() -> None:
    # given a crowd that the camera loses sight of in the middle
    samples = people([(t, 4) for t in range(5)]) + [Sample(at=at(t), readable=False) for t in range(5, 9)]
    samples += people([(t, 4) for t in range(9, 12)])
    # then the crowd counts from t=0 (a blind spell neither clears nor proves anything) and fires at t=10
    assert fired_at(run([CROWDED], samples)) == [("crowded", 10.0)]


def test_state_round_trips_through_json_and_another_worker_continues_without_refiring() -> None:
    # given a crowd evaluated for 15 s (the rule fired at t=10), checkpointed as JSON
    first = run([CROWDED, RUSH], people([(t, 3) for t in range(16)], entries=0))
    text = first.state.dumps()
    # when another worker loads it and feeds the same samples again, then 15 s more
    restored = AlertState.loads(text)
    assert restored == first.state
    again = run([CROWDED, RUSH], people([(t, 3) for t in range(31)], entries=0), restored)
    # then nothing fires twice: replayed samples are skipped and the rule is still fired
    assert again.firings == []
    assert again.state.last_at == at(30)


def test_a_condition_that_spans_two_evaluations_fires_with_its_original_start() -> None:
    # given a crowd seen in two batches of samples, 6 s each
    state = run([CROWDED], people([(t, 3) for t in range(6)])).state
    result = run([CROWDED], people([(t, 3) for t in range(6, 12)]), AlertState.loads(state.dumps()))
    # then it fires in the second batch, since t=0
    assert fired_at(result) == [("crowded", 10.0)]
    assert result.firings[0].since == T0


def test_a_changed_or_removed_rule_starts_afresh() -> None:
    # given a rule that fired
    state = run([CROWDED], people([(t, 3) for t in range(12)])).state
    # when its threshold changes
    stricter = RuleSpec(id="crowded", kind=AlertKind.OCCUPANCY, seconds=10, threshold=2)
    result = run([stricter], people([(t, 3) for t in range(12, 30)]), state)
    # then it is a new rule: its condition starts at t=12 and fires at t=22
    assert fired_at(result) == [("crowded", 22.0)]
    # and a rule no longer given leaves no state behind
    assert run([], people([(40, 3)]), result.state).state.rules == {}


def test_evaluate_does_not_change_the_state_it_was_given() -> None:
    # given a state mid-way through a crowded spell
    state = run([CROWDED], people([(t, 3) for t in range(5)])).state
    before = state.dumps()
    # when more samples are evaluated from it
    run([CROWDED], people([(t, 3) for t in range(5, 20)]), state)
    # then the given state is as it was (the watcher may still checkpoint it)
    assert state.dumps() == before


@pytest.mark.parametrize(("seconds", "text"), [(0, "0초"), (45, "45초"), (90, "1분 30초"), (3600, "1시간")])
def test_durations_read_as_captions_say_them(seconds: int, text: str) -> None:
    assert duration_text(seconds) == text


def test_a_watched_frame_becomes_a_sample_with_every_zone_of_the_camera() -> None:
    # given a watched frame: 2 men and 1 woman in view, one man at the counter, 5 entries so far
    frame = WatchState(
        camera_id="demo",
        at=at(3),
        fps=5,
        counts={"male": 2, "female": 1},
        entered={"male": 3, "female": 2},
        zones={"counter": {"male": 1}},
    )
    # when it is read as a sample of a camera with zones "counter" and "door"
    sample = Sample.of_watch(frame, zones=["counter", "door"])
    # then the totals add up, and the empty door zone reads 0
    assert (sample.at, sample.readable, sample.occupancy, sample.entries) == (at(3), True, 3, 5)
    assert sample.by_label == {"male": 2, "female": 1}
    assert sample.zones == {"counter": 1, "door": 0}


def test_an_unreadable_watched_frame_is_an_unreadable_sample() -> None:
    frame = WatchState(camera_id="demo", at=at(3), fps=5, error="camera unreachable")
    assert Sample.of_watch(frame, zones=["counter"]) == Sample(at=at(3), readable=False)
