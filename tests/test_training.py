"""Training: heads, sampler, schedules, selection, learning, determinism, kill/resume."""

from __future__ import annotations

import dataclasses
import io
import itertools
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from easy_oww.config import EvaluationConfig, TrainingConfig
from easy_oww.training.data import BalancedBatches, RoundPairs, ShardSampler, TrainingData
from easy_oww.training.heads import HEADS, ScoreModel, build_head
from easy_oww.training.selection import average_state_dicts, best_entry
from easy_oww.training.synthetic import make_training_data
from easy_oww.training.trainer import _Loop, lr_at, negative_weight_at, train_classifier


def _bytes(model: torch.nn.Module) -> bytes:
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def easy_data() -> TrainingData:
    return make_training_data(7, n_pos=1000, n_neg=2000, n_adv=500, n_val=200,
                              val_hours=0.1, stream_hours=0.05, difficulty=0.3,
                              near_miss_every=0)


def _config(**kw: object) -> TrainingConfig:
    base = {"head": "temporal_attention", "steps": 240, "batch_size": 128,
            "validate_every": 80, "layer_size": 32, "threads": 1, "warmup_fraction": 0.05,
            "max_negative_weight": 100.0, "learning_rate": 1e-3}
    return TrainingConfig(**{**base, **kw})


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("batch", [1, 7])
def test_heads_map_windows_to_one_score(head: str, batch: int) -> None:
    model = ScoreModel(build_head(head, 16)).eval()
    out = model(torch.randn(batch, 16, 96))
    assert out.shape == (batch, 1)
    assert torch.all((out >= 0) & (out <= 1))


def test_dnn_head_is_openwakewords_architecture() -> None:
    head = build_head("dnn", 32, n_blocks=2)
    names = [n for n, _ in head.named_children()]
    assert names == ["flatten", "layer1", "layernorm1", "relu1", "blocks", "last_layer"]
    assert head.layer1.in_features == 16 * 96 and head.last_layer.out_features == 1
    assert len(head.blocks) == 2


@pytest.mark.parametrize("head", HEADS)
def test_window_norm_ignores_what_a_window_adds_to_each_dimension(head: str) -> None:
    """A speaker, room or steady noise that raises or stretches a dimension for the
    whole window changes nothing with window_norm, and a great deal without it."""
    x = torch.randn(32, 16, 96)
    moved = x * (1.0 + 3.0 * torch.rand(32, 1, 96)) + 5.0 * torch.randn(32, 1, 96)
    for window_norm, alike in ((True, True), (False, False)):
        torch.manual_seed(0)
        model = ScoreModel(build_head(head, 16, window_norm=window_norm)).eval()
        with torch.no_grad():
            gap = float((model(x, logits=True) - model(moved, logits=True)).abs().max())
        assert (gap < 0.02) == alike, (window_norm, gap)


@pytest.mark.parametrize("head", HEADS)
def test_a_caller_scaling_windows_in_place_gets_what_the_head_computes(head: str) -> None:
    """Training and validation scale their own batches in place and tell the head so:
    the same values as the head's own scaling, and the caller's windows left alone."""
    from easy_oww.training.heads import (
        input_normalised_by_caller,
        normalise_window,
        normalise_window_,
    )
    from easy_oww.training.validation import score_windows

    torch.manual_seed(2)
    model = ScoreModel(build_head(head, 16, window_norm=True)).eval()
    x = torch.randn(300, 16, 96) * 3.0 + 1.0
    assert torch.equal(normalise_window_(x.clone()), normalise_window(x))
    with torch.no_grad():
        want = model(x, logits=True)
        with input_normalised_by_caller(model):
            got = model(normalise_window_(x.clone()), logits=True)
            unscaled = model(x, logits=True)  # taken as already scaled: not scaled again
        assert torch.equal(got, want)
        assert not torch.allclose(unscaled, want, atol=1e-3)
        assert torch.equal(model(x, logits=True), want)  # the block's end restores the head
    windows = x.numpy().copy()  # contiguous float32: a view of it would be scaled in place
    scores = score_windows(model, windows, torch.device("cpu"), chunk=128)
    assert np.array_equal(windows, x.numpy())
    np.testing.assert_allclose(scores, torch.sigmoid(want.double()).reshape(-1).numpy(),
                               rtol=0, atol=1e-6)


def test_only_models_whose_heads_all_scale_windows_take_scaled_input() -> None:
    from easy_oww.training.heads import EnsembleHead, input_normalised_by_caller, normalises_windows

    mixed = ScoreModel(EnsembleHead([build_head("dnn", 8, window_norm=True),
                                     build_head("dnn", 8)]))
    assert not normalises_windows(mixed)
    assert not normalises_windows(ScoreModel(build_head("dnn", 8)))
    with pytest.raises(ValueError, match="do not scale"), input_normalised_by_caller(mixed):
        pass
    with input_normalised_by_caller(mixed, normalised=False):  # a no-op when told so
        pass
    both = ScoreModel(EnsembleHead([build_head("dnn", 8, window_norm=True)] * 2))
    assert normalises_windows(both)
    with pytest.raises(RuntimeError), input_normalised_by_caller(both):
        raise RuntimeError("a step that fails")
    assert not any(getattr(m, "_input_normalised", False) for m in both.modules())


def test_training_steps_are_the_same_whoever_scales_the_windows(
        tmp_path: Path, easy_data: TrainingData, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop scales its batch in place (after input dropout, as the head would): the
    same weights after a few steps as when the head scales a copy itself."""
    from easy_oww.training import heads

    cfg = _config(head="dnn", window_norm=True, input_dropout=0.2)
    fast = _Loop(easy_data, cfg, EvaluationConfig(), 3, tmp_path / "fast", "cpu")
    with monkeypatch.context() as patch:  # a loop that leaves the scaling to the head
        patch.setattr(heads, "normalises_windows", lambda model: False)
        slow = _Loop(easy_data, cfg, EvaluationConfig(), 3, tmp_path / "slow", "cpu")
    assert fast.normalise and not slow.normalise
    for _ in range(3):
        fast.train_step()
        slow.train_step()
    assert fast.losses == slow.losses
    for (name, a), b in zip(fast.model.state_dict().items(), slow.model.state_dict().values()):
        assert torch.equal(a, b), name


def test_heads_pickled_before_window_norm_keep_scoring_as_they_did() -> None:
    """model.pt holds the pickled module: a head saved before the option existed has no
    window_norm of its own and must not start normalising when it is loaded."""
    torch.manual_seed(1)
    head = build_head("dnn", 16)
    x = torch.randn(8, 16, 96)
    with torch.no_grad():
        want = head(x)
    del head.window_norm  # what such a pickle restores
    buf = io.BytesIO()
    torch.save(ScoreModel(head), buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False).eval()
    assert loaded.head.window_norm is False
    with torch.no_grad():
        assert torch.equal(loaded(x, logits=True), want)


def test_training_builds_the_head_the_config_asks_for(tmp_path: Path,
                                                      easy_data: TrainingData) -> None:
    assert TrainingConfig().window_norm is True  # on: measured better on voices never heard
    for flag in (True, False):
        loop = _Loop(easy_data, _config(head="dnn", window_norm=flag), EvaluationConfig(), 1,
                     tmp_path / str(flag), "cpu")
        assert loop.model.head.window_norm is flag


def test_unknown_head_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown head"):
        build_head("lstm", 16)


def test_schedules() -> None:
    lrs = [lr_at(s, 100, 1e-3, 0.1) for s in range(100)]
    assert lrs[0] == pytest.approx(1e-4) and max(lrs) == pytest.approx(1e-3)
    assert np.argmax(lrs) == 9 and lrs[-1] == pytest.approx(1e-5)
    assert all(a >= b for a, b in itertools.pairwise(lrs[9:]))
    assert negative_weight_at(0, 100, 1500) == 1.0
    assert negative_weight_at(99, 100, 1500) == 1500.0


def test_sampler_reads_float16_memmaps_by_weight(tmp_path: Path) -> None:
    big = np.lib.format.open_memmap(tmp_path / "acav.npy", "w+", np.float16, (5000, 16, 96))
    big[:] = 1.0
    big.flush()
    ro = np.load(tmp_path / "acav.npy", mmap_mode="r")
    small = np.full((100, 16, 96), 2.0, np.float32)
    sampler = ShardSampler([ro, small], weights=[0.02, 1.0])  # 100 vs 100 row-mass
    x = sampler.sample(4000, np.random.default_rng(0))
    assert x.dtype == np.float32 and x.shape == (4000, 16, 96)
    share_small = float(np.mean(x[:, 0, 0] == 2.0))
    assert 0.45 < share_small < 0.55


def test_balanced_batches_are_seeded(easy_data: TrainingData) -> None:
    a = BalancedBatches(easy_data, 64, np.random.default_rng(5), 0.25)
    b = BalancedBatches(easy_data, 64, np.random.default_rng(5), 0.25)
    xa, ya = a.next()
    xb, _ = b.next()
    assert np.array_equal(xa, xb) and int(ya.sum()) == 16 and len(ya) == 64
    state = a.get_state()
    x1, _ = a.next()
    a.set_state(state)
    x2, _ = a.next()
    assert np.array_equal(x1, x2)


def test_selection_prefers_met_target_then_recall() -> None:
    h = [
        {"step": 1, "met": False, "recall": 0.0, "fp_per_hour": 9.0,
         "recall_at_default": 0.99, "fp_per_hour_at_default": 50.0},
        {"step": 2, "met": True, "recall": 0.8, "fp_per_hour": 0.4,
         "recall_at_default": 0.9, "fp_per_hour_at_default": 3.0},
        {"step": 3, "met": True, "recall": 0.9, "fp_per_hour": 0.5,
         "recall_at_default": 0.9, "fp_per_hour_at_default": 3.0},
        {"step": 4, "met": False, "recall": 0.0, "fp_per_hour": 1.0,
         "recall_at_default": 0.5, "fp_per_hour_at_default": 1.0},
    ]
    assert best_entry(h)["step"] == 3
    assert best_entry([h[0], h[3]])["step"] == 4  # fallback: fewest false positives


def test_selection_ranks_met_checkpoints_by_selection_score() -> None:
    # a lucky validation hour gives step 2 the best recall at the target, but step 3 is
    # better over the low-false-alarm end of the curve, which is what selection compares
    h = [{"step": 2, "met": True, "recall": 0.92, "fp_per_hour": 0.0, "selection_score": 0.90,
          "recall_at_default": 0.9, "fp_per_hour_at_default": 3.0},
         {"step": 3, "met": True, "recall": 0.88, "fp_per_hour": 0.0, "selection_score": 0.95,
          "recall_at_default": 0.9, "fp_per_hour_at_default": 3.0}]
    assert best_entry(h)["step"] == 3


def test_selection_score_averages_recall_over_false_positive_rates() -> None:
    from easy_oww.training.validation import selection_score

    pos = np.linspace(0.5, 0.99, 100)  # peaks of 100 positive clips
    neg = np.zeros(45_000)  # one hour of negative frames
    neg[[1000, 5000, 9000]] = [0.95, 0.9, 0.8]  # three separate false activations
    # recall at 0 FP/h (0.5 target: none allowed) 4/100 above 0.95; at 1 FP/h 14/100 ...
    levels = {0.0: 0.95, 1.0: 0.9, 2.0: 0.8, 3.0: 0.5, 5.0: 0.5}
    want = np.mean([np.mean(pos > t) if t > 0.5 else 1.0 for t in levels.values()])
    got = selection_score(pos, neg, 1.0, 0.5, debounce_frames=12, patience=1)
    assert got == pytest.approx(want, abs=0.011)
    assert selection_score(pos, np.zeros(45_000), 1.0, 0.5, debounce_frames=12,
                           patience=1) == 1.0


def test_average_state_dicts() -> None:
    a = {"w": torch.tensor([1.0, 3.0]), "n": torch.tensor(4)}
    b = {"w": torch.tensor([3.0, 5.0]), "n": torch.tensor(4)}
    avg = average_state_dicts([a, b])
    assert torch.equal(avg["w"], torch.tensor([2.0, 4.0])) and int(avg["n"]) == 4


def test_training_learns_separable_features(tmp_path: Path, easy_data: TrainingData) -> None:
    result = train_classifier(easy_data, _config(), EvaluationConfig(target_fp_per_hour=0.5),
                              seed=1, checkpoint_dir=tmp_path / "ckpt")
    assert result.met_target
    assert result.val_recall >= 0.85
    assert result.val_fp_per_hour <= 0.5
    assert len(result.history) == 3 and [h["step"] for h in result.history] == [80, 160, 240]
    assert not result.model.training
    assert 0.0 < result.threshold < 1.0
    x = torch.from_numpy(np.ascontiguousarray(easy_data.val_positives[:5]))
    assert result.model(x).shape == (5, 1)


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path,
                                                 easy_data: TrainingData) -> None:
    cfg = _config(steps=100, validate_every=50, head="dnn")
    ev = EvaluationConfig()
    a = train_classifier(easy_data, cfg, ev, seed=3, checkpoint_dir=tmp_path / "a")
    b = train_classifier(easy_data, cfg, ev, seed=3, checkpoint_dir=tmp_path / "b")
    c = train_classifier(easy_data, cfg, ev, seed=4, checkpoint_dir=tmp_path / "c")
    assert _bytes(a.model) == _bytes(b.model)
    assert _bytes(a.model) != _bytes(c.model)
    assert torch.get_num_threads() >= 1  # the caller's setting is restored, not left at 1


class _Kill(Exception):
    pass


@pytest.mark.parametrize("head", ["dnn", "temporal_attention"])
def test_killed_run_resumes_to_the_same_model(tmp_path: Path, easy_data: TrainingData,
                                              head: str) -> None:
    cfg = _config(steps=150, validate_every=50, head=head)
    ev = EvaluationConfig()
    full = train_classifier(easy_data, cfg, ev, seed=9, checkpoint_dir=tmp_path / "full")

    def killer(task: str, done: int, total: int) -> None:
        if done == 120:  # after the step-100 checkpoint, mid-interval
            raise _Kill

    with pytest.raises(_Kill):
        train_classifier(easy_data, cfg, ev, seed=9, checkpoint_dir=tmp_path / "r",
                         progress=killer)
    seen: list[int] = []
    resumed = train_classifier(easy_data, cfg, ev, seed=9, checkpoint_dir=tmp_path / "r",
                               progress=lambda t, d, n: seen.append(d))
    assert seen[0] == 100  # continued from the checkpoint, not from scratch
    assert _bytes(resumed.model) == _bytes(full.model)
    assert resumed.selected_step == full.selected_step
    assert [h["recall"] for h in resumed.history] == [h["recall"] for h in full.history]


def test_input_dropout_drops_whole_embedding_dimensions(tmp_path: Path,
                                                        easy_data: TrainingData) -> None:
    loop = _Loop(easy_data, _config(input_dropout=0.25), EvaluationConfig(), 1, tmp_path, "cpu")
    mask = loop._dropout_mask(4000, 96, 0.25)
    assert mask.shape == (4000, 1, 96)  # one draw per window and dimension, all 16 frames
    assert sorted(set(mask.unique().tolist())) == [0.0, pytest.approx(1 / 0.75)]
    assert float((mask == 0).float().mean()) == pytest.approx(0.25, abs=0.01)
    assert float(mask.mean()) == pytest.approx(1.0, abs=0.02)  # scaled: same mean input
    assert not torch.equal(mask[0], mask[1])


def test_input_dropout_changes_the_model_not_the_batches(tmp_path: Path,
                                                         easy_data: TrainingData) -> None:
    loops = [_Loop(easy_data, _config(head="dnn", input_dropout=p), EvaluationConfig(), 5,
                   tmp_path / str(p), "cpu") for p in (0.0, 0.2)]
    for loop in loops:
        for _ in range(3):
            loop.train_step()
    assert loops[0].batches.get_state() == loops[1].batches.get_state()
    assert _bytes(loops[0].model) != _bytes(loops[1].model)


def test_changed_settings_start_afresh(tmp_path: Path, easy_data: TrainingData) -> None:
    ev = EvaluationConfig()
    train_classifier(easy_data, _config(steps=60, validate_every=30, head="dnn"), ev,
                     seed=2, checkpoint_dir=tmp_path)
    seen: list[int] = []
    train_classifier(easy_data, _config(steps=60, validate_every=30, head="dnn",
                                        learning_rate=5e-4), ev, seed=2,
                     checkpoint_dir=tmp_path, progress=lambda t, d, n: seen.append(d))
    assert seen[0] == 0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_is_deterministic(tmp_path: Path, easy_data: TrainingData) -> None:
    cfg = _config(steps=100, validate_every=50)
    ev = EvaluationConfig()
    a = train_classifier(easy_data, cfg, ev, seed=3, checkpoint_dir=tmp_path / "a",
                         device="cuda")
    b = train_classifier(easy_data, cfg, ev, seed=3, checkpoint_dir=tmp_path / "b",
                         device="cuda")
    assert next(a.model.parameters()).device.type == "cpu"  # returned on the CPU
    assert _bytes(a.model) == _bytes(b.model)


def test_missing_cuda_is_a_device_error(tmp_path: Path, easy_data: TrainingData) -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA is present")
    from easy_oww.errors import DeviceError

    with pytest.raises(DeviceError):
        train_classifier(easy_data, _config(steps=20, validate_every=10), EvaluationConfig(),
                         seed=1, checkpoint_dir=tmp_path, device="cuda")


def test_rerun_of_a_finished_run_only_reselects(tmp_path: Path,
                                                easy_data: TrainingData) -> None:
    cfg = _config(steps=60, validate_every=30, head="dnn")
    ev = EvaluationConfig()
    first = train_classifier(easy_data, cfg, ev, seed=5, checkpoint_dir=tmp_path)
    seen: list[int] = []
    again = train_classifier(easy_data, cfg, ev, seed=5, checkpoint_dir=tmp_path,
                             progress=lambda t, d, n: seen.append(d))
    assert seen == [60]
    assert _bytes(again.model) == _bytes(first.model)
    assert again.threshold == first.threshold


def test_ensemble_scores_the_mean_logit_of_its_members() -> None:
    from easy_oww.training.heads import EnsembleHead, ScoreModel, build_head

    torch.manual_seed(0)
    members = [build_head("dnn", 16), build_head("dnn", 16), build_head("temporal", 16)]
    model = ScoreModel(EnsembleHead(members)).eval()
    x = torch.randn(50, 16, 96)
    with torch.no_grad():
        want = torch.stack([m(x).reshape(-1) for m in members]).mean(dim=0)
        got = model(x, logits=True).reshape(-1)
    assert torch.allclose(got, want, atol=1e-6)
    with pytest.raises(ValueError):
        EnsembleHead([])


@pytest.mark.parametrize("head", ["dnn", "temporal", "temporal_attention", "ensemble"])
def test_calibrate_threshold_moves_the_threshold_to_one_half(head: str) -> None:
    from easy_oww.training.heads import EnsembleHead, ScoreModel, build_head, calibrate_threshold

    torch.manual_seed(0)
    if head == "ensemble":
        model = ScoreModel(EnsembleHead([build_head("dnn", 16) for _ in range(2)])).eval()
    else:
        model = ScoreModel(build_head(head, 16)).eval()
    x = torch.randn(400, 16, 96)
    with torch.no_grad():
        before = model(x).reshape(-1).double().numpy()
    threshold = float(np.quantile(before, 0.8))  # an arbitrary operating point
    calibrate_threshold(model, threshold)
    with torch.no_grad():
        after = model(x).reshape(-1).double().numpy()
    assert np.array_equal(before >= threshold, after >= 0.5)  # same decisions at 0.5
    assert np.array_equal(np.argsort(before, kind="stable"), np.argsort(after, kind="stable"))
    calibrate_threshold(model, 0.5, 0.7)  # and to any other default
    with torch.no_grad():
        again = model(x).reshape(-1).double().numpy()
    assert np.array_equal(after >= 0.5, again >= 0.7)


def test_validation_scores_keep_their_order_beyond_float32_saturation() -> None:
    from easy_oww.training.heads import ScoreModel
    from easy_oww.training.validation import score_windows

    class Fixed(torch.nn.Module):  # logits 20, 25, 30: all exactly 1.0 as float32 sigmoids
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, 0, :1] * 5.0 + 15.0

    x = np.zeros((3, 16, 96), np.float32)
    x[:, 0, 0] = [1.0, 2.0, 3.0]
    model = ScoreModel(Fixed())
    assert torch.all(model(torch.from_numpy(x)) == 1.0)  # what float32 would give
    scores = score_windows(model, x, torch.device("cpu"))
    assert scores[0] < scores[1] < scores[2] < 1.0


def test_member_progress_is_drained_in_order_and_report_errors_reach_the_caller() -> None:
    """train_members' progress queue: a thread passes the members' steps on while the pool
    map runs, the rest after it; an error in the callback is raised, not lost."""
    import queue

    from easy_oww.pipeline.learn import _draining

    q: queue.Queue[tuple[int, int]] = queue.Queue()
    seen: list[tuple[int, int]] = []
    with _draining(q, lambda k, step: seen.append((k, step))):
        q.put((0, 10))
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:
            time.sleep(0.01)
        q.put((1, 20))
        q.put((0, 30))
    assert seen == [(0, 10), (1, 20), (0, 30)]

    def broken(k: int, step: int) -> None:
        raise ValueError("bar gone")

    with pytest.raises(ValueError, match="bar gone"), _draining(q, broken):
        q.put((0, 1))


# -- round consistency -------------------------------------------------------------------
def _grouped(data: TrainingData, rounds: int = 2) -> TrainingData:
    n = sum(len(s) for s in data.positives)
    return dataclasses.replace(data, positive_groups=np.arange(n) // rounds)


def test_round_pairs_draw_two_rounds_of_one_clip() -> None:
    # row value = 10 * clip + round; clip 4 has a single round and never pairs
    rows = [(c, r) for c in range(4) for r in range(3)] + [(4, 0)]
    values = np.array([10 * c + r for c, r in rows], np.float32)
    x = np.broadcast_to(values[:, None, None], (len(rows), 16, 96)).copy()
    shards = [x[:5], x[5:11], x[11:]]  # clips cross shard boundaries
    pairs = RoundPairs(shards, np.array([c for c, _ in rows]))
    assert len(pairs) == 4
    out = pairs.sample(500, np.random.default_rng(0))
    a, b = out[:500, 0, 0], out[500:, 0, 0]
    assert np.array_equal(a // 10, b // 10)  # the same clip
    assert np.all(a != b)  # two different rounds
    assert set(np.unique(a // 10)) == {0, 1, 2, 3}
    assert set(np.unique(np.concatenate([a, b]) % 10)) == {0, 1, 2}
    assert np.all(out == out[:, :1, :1])  # whole rows, not mixed
    with pytest.raises(ValueError, match="at least two rounds"):
        RoundPairs([x[:4]], np.arange(4))


def test_positive_groups_must_name_every_positive_row(easy_data: TrainingData) -> None:
    bad = dataclasses.replace(easy_data, positive_groups=np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="positive_groups"):
        bad.validate()


def _pair_distance(loop: _Loop, data: TrainingData) -> float:
    from easy_oww.training.heads import output_layer
    from easy_oww.training.trainer import round_distance

    x = torch.from_numpy(np.ascontiguousarray(data.positives[0][:400]))
    x = torch.cat([x[0::2], x[1::2]])  # rows 2i and 2i + 1 are one clip's rounds
    hidden: list[torch.Tensor] = []
    hook = output_layer(loop.model.head).register_forward_hook(
        lambda _m, i, _o: hidden.append(i[0]))
    with torch.no_grad():
        loop.model.eval()
        loop.model(x)
    hook.remove()
    return float(round_distance(hidden[0], 200))


def test_round_consistency_makes_two_rounds_of_a_clip_alike(tmp_path: Path,
                                                            easy_data: TrainingData) -> None:
    data = _grouped(easy_data)
    loops = [_Loop(data, _config(head="dnn", round_consistency=w), EvaluationConfig(), 5,
                   tmp_path / str(w), "cpu") for w in (0.0, 5.0)]
    for loop in loops:
        for _ in range(60):
            loop.train_step()
    plain, paired = (_pair_distance(loop, data) for loop in loops)
    assert paired < 0.5 * plain
    assert loops[0].batches.get_state() == loops[1].batches.get_state()  # same negatives


def test_round_consistency_without_groups_trains_as_without_it(
        tmp_path: Path, easy_data: TrainingData, caplog: pytest.LogCaptureFixture) -> None:
    ev = EvaluationConfig()
    a = train_classifier(easy_data, _config(steps=40, validate_every=20, head="dnn"), ev,
                         seed=3, checkpoint_dir=tmp_path / "a")
    b = train_classifier(easy_data, _config(steps=40, validate_every=20, head="dnn",
                                            round_consistency=1.0), ev,
                         seed=3, checkpoint_dir=tmp_path / "b")
    assert _bytes(a.model) == _bytes(b.model)
    assert "positive_groups" in caplog.text


def test_killed_run_with_round_consistency_resumes_to_the_same_model(
        tmp_path: Path, easy_data: TrainingData) -> None:
    data = _grouped(easy_data, rounds=3)
    cfg = _config(steps=120, validate_every=40, head="dnn", round_consistency=1.0)
    ev = EvaluationConfig()
    full = train_classifier(data, cfg, ev, seed=9, checkpoint_dir=tmp_path / "full")

    def killer(task: str, done: int, total: int) -> None:
        if done == 100:
            raise _Kill

    with pytest.raises(_Kill):
        train_classifier(data, cfg, ev, seed=9, checkpoint_dir=tmp_path / "r", progress=killer)
    resumed = train_classifier(data, cfg, ev, seed=9, checkpoint_dir=tmp_path / "r")
    assert _bytes(resumed.model) == _bytes(full.model)
    plain = train_classifier(data, _config(steps=120, validate_every=40, head="dnn"), ev,
                             seed=9, checkpoint_dir=tmp_path / "plain")
    assert _bytes(plain.model) != _bytes(full.model)


def test_clip_groups_give_the_rounds_of_one_clip_one_id() -> None:
    from easy_oww.pipeline.learn import clip_groups

    ids = clip_groups(["pos:a.wav", "pos:a.wav", "pos:b.wav", "pos:b.wav", "pos:a.wav:1",
                       "real:c.wav"])
    assert ids[0] == ids[1] and ids[2] == ids[3]
    assert len(set(ids.tolist())) == 4  # a reused clip's second use is a clip of its own
