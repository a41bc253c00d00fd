"""Metric functions on hand-made score sequences with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from easy_oww.evaluate import intervals as iv
from easy_oww.evaluate import metrics as m


def _reference_activations(scores, threshold, patience, debounce):
    """A frame-by-frame detector written the obvious way, to cross-check the fast one."""
    fired, run, silent = [], 0, 0
    for i, s in enumerate(scores):
        if silent:
            silent -= 1
            run = 0
            continue
        run = run + 1 if s >= threshold else 0
        if run >= patience:
            fired.append(i)
            run, silent = 0, debounce
    return fired


def test_activations_single_frames():
    s = np.array([0.0, 0.6, 0.2, 0.7, 0.7, 0.1, 0.9])
    assert m.activations(s, 0.5).tolist() == [1, 3, 4, 6]
    assert m.count_activations(s, 0.65) == 3
    assert m.count_activations(s, 0.95) == 0
    assert m.count_activations(s, 0.6) == 4  # >= threshold fires


def test_activations_debounce_silences_following_frames():
    s = np.array([0.9] * 10)
    # fire at 0, silent 1..3, fire at 4, silent 5..7, fire at 8
    assert m.activations(s, 0.5, debounce_frames=3).tolist() == [0, 4, 8]
    s2 = np.array([0, 0.9, 0, 0.9, 0, 0, 0, 0.9])
    assert m.activations(s2, 0.5, debounce_frames=2).tolist() == [1, 7]


def test_activations_patience_needs_consecutive_frames():
    s = np.array([0.9, 0.1, 0.9, 0.9, 0.1, 0.9, 0.9, 0.9])
    assert m.activations(s, 0.5, patience=2).tolist() == [3, 6]
    assert m.activations(s, 0.5, patience=3).tolist() == [7]
    assert m.activations(s, 0.5, patience=4).tolist() == []


def test_activations_match_reference_on_random_sequences():
    rng = np.random.default_rng(0)
    for _ in range(200):
        s = rng.random(rng.integers(0, 60)) ** 2
        t = float(rng.random())
        p = int(rng.integers(1, 4))
        d = int(rng.integers(0, 6))
        assert m.activations(s, t, patience=p, debounce_frames=d).tolist() == \
            _reference_activations(s, t, p, d)


def test_fp_per_hour_and_debounce_from_seconds():
    assert m.debounce_frames_for(1.0) == 12  # round(12.5) -> 12 (banker's rounding)
    assert m.debounce_frames_for(0.8) == 10
    assert m.hours_for_frames(45_000) == pytest.approx(1.0)
    s = np.zeros(45_000)
    s[[100, 101, 5000, 9000]] = 0.8
    assert m.fp_per_hour(s, 0.5, 1.0) == 4.0
    assert m.fp_per_hour(s, 0.5, 0.5, debounce_frames=12) == 6.0  # 100/101 merge
    with pytest.raises(ValueError):
        m.fp_per_hour(s, 0.5, 0.0)


def test_recall_and_clip_peak():
    assert m.recall(np.array([0.9, 0.4, 0.5, 0.1]), 0.5) == 0.5
    assert m.recall(np.array([]), 0.5) == 0.0
    assert m.false_accept_rate(np.array([0.2, 0.7]), 0.5) == 0.5
    clip = [0.1, 0.95, 0.3, 0.7, 0.8, 0.6]
    assert m.clip_peak(clip) == 0.95
    assert m.clip_peak(clip, patience=2) == 0.7  # best level held for two frames
    assert m.clip_peak(clip, patience=3) == 0.6
    for t in (0.55, 0.6, 0.65, 0.7, 0.75):
        fires = m.count_activations(np.array(clip), t, patience=2) > 0
        assert fires == (m.clip_peak(clip, patience=2) >= t)


def test_det_curve_known_points_and_area():
    pos = np.array([0.2, 0.6, 0.9, 0.95])
    neg = np.zeros(450)  # 450 frames = 36 s = 0.01 h
    neg[[10, 200]] = [0.3, 0.7]
    hours = m.hours_for_frames(neg.size)
    curve = m.det_curve(pos, neg, hours, thresholds=[0.25, 0.5, 0.8, 1.0])
    assert curve.thresholds.tolist() == [0.25, 0.5, 0.8, 1.0]
    assert curve.miss_rate.tolist() == [0.25, 0.25, 0.5, 1.0]
    assert curve.fp_per_hour == pytest.approx([200.0, 100.0, 0.0, 0.0])
    # Within 0..10 fp/h only the zero-fp points count: best miss there is 0.5.
    assert curve.area == pytest.approx(0.5)
    # Budget 0..200: 0.5 on [0,100), 0.25 on [100,200] -> mean 0.375.
    assert curve.area_up_to(200.0) == pytest.approx(0.375)
    assert curve.to_json()["area"] == pytest.approx(0.5)


def test_recall_within_a_false_positive_budget() -> None:
    pos = np.array([0.2, 0.6, 0.9, 0.95])
    neg = np.zeros(450)
    neg[[10, 200]] = [0.3, 0.7]
    curve = m.det_curve(pos, neg, m.hours_for_frames(neg.size), thresholds=[0.25, 0.5, 0.8])
    assert curve.recall_within(200.0) == 0.75
    assert curve.recall_within(100.0) == 0.75
    assert curve.recall_within(50.0) == 0.5
    no_quiet_threshold = m.det_curve(pos, neg, m.hours_for_frames(neg.size), thresholds=[0.25])
    assert no_quiet_threshold.recall_within(50.0) == 0.0


def test_resampled_recall_draws_whole_blocks_of_negative_audio() -> None:
    # Ten blocks standing for 10 h; one holds a single loud false activation (0.1 an hour
    # when drawn once), over a budget of 0.05 an hour. Half the clips peak below it.
    pos = np.array([0.9, 0.99] * 20)
    neg = np.zeros(1000)
    neg[550] = 0.95
    full = m.det_curve(pos, neg, 10.0).recall_within(0.05)
    assert full == 0.5
    draws = iv.resampled_recall_within(pos, neg, 10.0, 0.05, block_frames=100, n_resamples=2000,
                                       seed=3)
    # No draw of the loud block: every clip is caught; one or more: only the loud half.
    assert set(np.round(draws, 6)) <= {1.0} | set(np.round(np.arange(41) / 40, 6))
    quiet = np.mean(draws == 1.0)
    assert quiet == pytest.approx(0.9 ** 10, abs=0.04)
    assert np.all(draws[draws < 1.0] <= 0.8)


def test_resampled_recall_is_seeded_paired_and_narrows_with_more_clips() -> None:
    rng = np.random.default_rng(0)
    neg = np.full(500, 0.5)  # fires at every threshold up to 0.5

    def spread(n: int) -> float:
        pos = np.where(rng.random(n) < 0.7, 0.9, 0.1)
        return float(np.std(iv.resampled_recall_within(pos, neg, 1.0, 0.5, block_frames=50,
                                                        n_resamples=400, seed=1)))

    assert 5.0 < spread(40) / spread(4000) < 20.0  # sampling noise falls as 1/sqrt(n)
    pos = np.where(rng.random(200) < 0.5, 0.8, 0.2)
    a = iv.resampled_recall_within(pos, neg, 1.0, 0.5, block_frames=50, n_resamples=50, seed=7)
    b = iv.resampled_recall_within(pos + 0.05, neg, 1.0, 0.5, block_frames=50,
                                   n_resamples=50, seed=7)
    assert np.array_equal(a, b)  # the same draws for both: a paired difference of 0
    c = iv.resampled_recall_within(pos, neg, 1.0, 0.5, block_frames=50, n_resamples=50, seed=8)
    assert not np.array_equal(a, c)
    with pytest.raises(ValueError):
        iv.resampled_recall_within(pos, neg, 1.0, 0.5, block_frames=0)


def test_det_curve_default_grid_is_monotone_and_perfect_detector_has_zero_area():
    rng = np.random.default_rng(1)
    pos = 0.9 + 0.1 * rng.random(50)
    neg = 0.5 * rng.random(4500)
    curve = m.det_curve(pos, neg, m.hours_for_frames(neg.size), debounce_frames=12)
    assert np.all(np.diff(curve.miss_rate) >= 0)
    assert np.all(np.diff(curve.fp_per_hour) <= 0)
    assert curve.thresholds[-1] > 1.0 and curve.fp_per_hour[-1] == 0
    assert curve.area == 0.0  # a threshold in (0.5, 0.9) catches all with no false alarm


def test_threshold_for_target_picks_lowest_meeting_threshold():
    pos = np.array([0.3, 0.55, 0.8, 0.9])
    neg = np.zeros(4500)  # 0.1 h
    neg[[5, 50, 500]] = [0.6, 0.5, 0.85]
    hours = m.hours_for_frames(neg.size)
    # 0.3: 3 fires (30/h); 0.55: 2 (20/h); 0.8: 1 (10/h); 0.9: 0.
    choice = m.threshold_for_target(pos, neg, hours, 10.0)
    assert (choice.threshold, choice.recall, choice.met) == (0.8, 0.5, True)
    assert choice.fp_per_hour == pytest.approx(10.0)
    choice = m.threshold_for_target(pos, neg, hours, 0.0)
    assert (choice.threshold, choice.recall, choice.fp_per_hour) == (0.9, 0.25, 0.0)
    choice = m.threshold_for_target(pos, neg, hours, 100.0)
    assert (choice.threshold, choice.recall) == (0.3, 1.0)


def test_threshold_for_target_unmet():
    pos = np.array([0.4, 0.5])
    neg = np.zeros(4500)
    neg[[5, 50]] = [0.7, 0.95]
    hours = m.hours_for_frames(neg.size)
    choice = m.threshold_for_target(pos, neg, hours, 0.0)
    assert not choice.met
    assert choice.recall == 0.0 and choice.fp_per_hour == 0.0
    assert 0.95 < choice.threshold <= 1.0
    neg[7] = 1.0  # saturated score: even 1.0 fires
    choice = m.threshold_for_target(pos, neg, hours, 0.0)
    assert not choice.met and choice.threshold == 1.0 and choice.fp_per_hour == 10.0


def test_classification_report():
    labels = [1, 1, 1, 0, 0, 0, 0]
    preds = [1, 1, 0, 1, 0, 0, 0]
    r = m.classification_report(labels, preds)
    assert (r["tp"], r["fn"], r["fp"], r["tn"]) == (2, 1, 1, 3)
    assert r["precision"] == pytest.approx(2 / 3)
    assert r["recall"] == pytest.approx(2 / 3)
    assert r["f1"] == pytest.approx(2 / 3)
    assert r["confusion_matrix"] == [[3, 1], [1, 2]]
    assert m.classification_report([0, 0], [0, 0])["f1"] == 0.0
    with pytest.raises(ValueError):
        m.classification_report([1], [1, 0])


def test_poisson_upper_bound_matches_the_chi_square_values() -> None:
    from easy_oww.evaluate.metrics import poisson_upper

    # chi2.ppf(c, 2 (k + 1)) / 2, from tables
    assert poisson_upper(0, 0.8) == pytest.approx(1.6094, abs=1e-3)  # -ln(0.2)
    assert poisson_upper(1, 0.8) == pytest.approx(2.9943, abs=1e-3)
    assert poisson_upper(2, 0.95) == pytest.approx(6.2958, abs=1e-3)
    with pytest.raises(ValueError):
        poisson_upper(-1)


def test_validation_allowance_meets_the_target_with_confidence() -> None:
    from easy_oww.evaluate.metrics import validation_allowance

    assert validation_allowance(0.5, 1.0) == 0.0  # too short: nothing allowed
    assert validation_allowance(0.5, 4.0) == 0.0  # upper bound after one event: 3.0 / 4 > 0.5
    assert validation_allowance(0.5, 8.0) == 0.125  # one event: bound 3.0 / 8 <= 0.5
    assert validation_allowance(0.5, 8.0, confidence=0.95) == 0.0
    assert validation_allowance(2.0, 4.0) == 1.25  # five events: bound 7.9 / 4 <= 2
    with pytest.raises(ValueError):
        validation_allowance(0.5, 0.0)


def test_threshold_with_confidence_meets_the_target_on_new_audio() -> None:
    # Simulated "hours" of activations (i.i.d. peaks): a threshold set with the allowance
    # on 8 h fires at most 0.5/h on the next 8 h in most draws, not only on average.
    from easy_oww.evaluate.metrics import validation_allowance

    rng = np.random.default_rng(1)
    m = round(validation_allowance(0.5, 8.0) * 8)
    rates = []
    for _ in range(2000):
        val = np.sort(rng.random(8 * 40))[::-1]  # 40 candidate activations per hour
        threshold = val[m]  # just above the (m + 1)-th highest: m allowed
        rates.append(np.sum(rng.random(8 * 40) > threshold) / 8)
    rates = np.array(rates)
    assert np.mean(rates) == pytest.approx((m + 1) / 8, rel=0.15)
    assert np.mean(rates <= 0.5) >= 0.8


def test_threshold_above_the_sample_maximum_fires_about_once_per_sample_length() -> None:
    # the reason for the allowance: a threshold just above the highest of T hours of
    # activations fires on new audio about 1/T per hour (i.i.d. scores: rank argument)
    rng = np.random.default_rng(0)
    rates = []
    for _ in range(2000):
        peaks = rng.random(40)  # one "hour": 40 candidate activations' peak scores
        threshold = peaks.max()
        rates.append(np.sum(rng.random(40) > threshold))  # the next hour
    assert np.mean(rates) == pytest.approx(40 / 41, rel=0.1)


def test_proportion_interval_is_wilsons_and_never_claims_certainty() -> None:
    lo, hi = iv.proportion_interval(61, 100)  # 90 %: the textbook Wilson interval
    assert (lo, hi) == (pytest.approx(0.5279, abs=1e-4), pytest.approx(0.6863, abs=1e-4))
    assert iv.proportion_interval(0, 10) == (0.0, pytest.approx(0.2129, abs=1e-4))
    assert iv.proportion_interval(10, 10) == (pytest.approx(0.7871, abs=1e-4), 1.0)
    narrow, wide = iv.proportion_interval(450, 500), iv.proportion_interval(18, 20)
    assert narrow[1] - narrow[0] < 0.4 * (wide[1] - wide[0])
    with pytest.raises(ValueError):
        iv.proportion_interval(5, 4)
