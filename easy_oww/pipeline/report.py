"""Evaluation phase: the exported ONNX model on data that training never touched.

Held-out positives (voices and phrasings kept out of training, always reverberant and
noisy), held-out near-miss phrases, and the test part of the long negative audio. The
threshold comes from validation (not from this test data), so the numbers are honest.
"""

from __future__ import annotations

import datetime as _dt
import logging
from pathlib import Path
from typing import Any

import numpy as np

from easy_oww import __version__
from easy_oww.config import ProjectConfig
from easy_oww.contract import MODEL_INPUT_FRAMES
from easy_oww.fsutil import atomic_write_json, atomic_write_text
from easy_oww.pipeline.clips import ClipPlan
from easy_oww.workspace import ProjectPaths, Workspace

log = logging.getLogger(__name__)


def stream_scores(model: Any, stream: np.ndarray, batch: int = 8192) -> np.ndarray:
    """Score every 16-frame window of an embedding stream, as a streaming detector would."""
    from easy_oww.datasets import feature_windows

    w = feature_windows(np.asarray(stream, dtype=np.float32))
    return np.concatenate([model.score_windows(w[i:i + batch]) for i in range(0, len(w), batch)]
                          or [np.zeros(0, np.float32)])


def clip_peaks(model: Any, clips: np.ndarray, patience: int = 1) -> np.ndarray:
    """Each held-out clip's best score over its 16-frame windows, held for `patience`
    frames (as a streaming detector sees the phrase pass)."""
    from easy_oww.evaluate.metrics import clip_peak

    if len(clips) == 0:
        return np.zeros(0, np.float32)
    n_win = clips.shape[1] - MODEL_INPUT_FRAMES + 1
    views = np.lib.stride_tricks.sliding_window_view(clips, MODEL_INPUT_FRAMES, axis=1)
    flat = views.transpose(0, 1, 3, 2).reshape(-1, MODEL_INPUT_FRAMES, clips.shape[2])
    rows = model.score_windows(flat).reshape(len(clips), n_win)
    return np.array([clip_peak(r, min(patience, n_win)) for r in rows], dtype=np.float32)


THRESHOLD_SOURCE = "validation data (held-out voices, a separate part of the negative audio)"


def heldout_figures(paths: ProjectPaths, config: ProjectConfig, model_path: Path,
                    threshold: float) -> tuple[dict[str, Any], Any]:
    """`model_path` scored on the project's held-out feature sets and test stream at
    `threshold`: the figures of train's evaluation phase, and its DET curve. `eval` on a
    project with default arguments calls this too, so both print the same numbers."""
    from easy_oww.evaluate import metrics as m
    from easy_oww.evaluate.detector import WakeWordModel
    from easy_oww.features.store import open_features

    ev = config.evaluation
    model = WakeWordModel(model_path)
    pos = clip_peaks(model, open_features(paths.features / "eval_positive").load_all(),
                     ev.patience)
    adv_dir = paths.features / "eval_adversarial"
    adv = (clip_peaks(model, open_features(adv_dir).load_all(), ev.patience)
           if adv_dir.is_dir() else np.zeros(0, np.float32))
    neg_meta = _summary(paths.negative_audio)
    neg = stream_scores(model, np.load(paths.negative_audio / "test_stream.npy", mmap_mode="r"))
    hours = float(neg_meta["test_hours"])
    debounce = m.debounce_frames_for(ev.debounce_s)
    kw = {"patience": ev.patience, "debounce_frames": debounce}
    det = m.det_curve(pos, neg, hours, patience=ev.patience, debounce_frames=debounce)
    fig: dict[str, Any] = {
        "model": str(model_path), "threshold": threshold, "recall": m.recall(pos, threshold),
        "fp_per_hour": m.fp_per_hour(neg, threshold, hours, **kw),
        "near_miss_false_accept_rate": m.false_accept_rate(adv, threshold) if adv.size else None,
        "target_fp_per_hour": ev.target_fp_per_hour,
        "positives": int(pos.size), "near_miss_clips": int(adv.size),
        "negative_hours": hours, "debounce_s": ev.debounce_s, "det_area": det.area,
        "at_default_threshold": {
            "threshold": ev.threshold, "recall": m.recall(pos, ev.threshold),
            "fp_per_hour": m.fp_per_hour(neg, ev.threshold, hours, **kw)}}
    fig["meets_target"] = bool(fig["fp_per_hour"] <= ev.target_fp_per_hour)
    fig["out_of_family"] = _out_of_family(model, paths, threshold, ev.patience)
    fig["real_speech"] = _real_speech(model, paths, neg_meta, threshold, ev.patience, debounce)
    return fig, det


def _report(paths: ProjectPaths, config: ProjectConfig, trained: dict[str, Any],
            plan: ClipPlan, feat: dict[str, Any], model_path: Path, threshold: float,
            source: str) -> tuple[dict[str, Any], Any]:
    """The evaluation report (figures, data, families, quality lines) and its DET curve."""
    fig, det = heldout_figures(paths, config, model_path, threshold)
    neg_meta = _summary(paths.negative_audio)
    result: dict[str, Any] = {
        "wake_word": config.wake_word, **fig,
        "threshold_source": source,
        "validation": {k: trained.get(k) for k in ("val_recall", "val_fp_per_hour",
                                                    "selected_step", "met_target",
                                                    "validation_threshold")},
        "data": {"train_voices": len(plan.train_voices), "held_out_voices": len(plan.eval_voices),
                 "clips": plan.counts(), "features": feat.get("counts", {}),
                 "acoustic_sources": feat.get("sources", {}),
                 "negative_audio": neg_meta.get("source"),
                 "train_negative_audio_hours": neg_meta.get("train_hours", 0.0),
                 "precomputed_negatives": trained.get("precomputed_negatives", 0)},
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "tool_version": __version__,
        "families": {"trained": plan.families("train"),
                     "in_family_measured": plan.families("eval"),
                     "out_of_family_measured": plan.families("oof")},
    }
    result["quality"] = quality_lines(result)
    return result, det


def evaluate_model(ws: Workspace, paths: ProjectPaths, config: ProjectConfig,
                   trained: dict[str, Any], plan: ClipPlan, feat: dict[str, Any], *,
                   timings: Any = ()) -> dict[str, Any]:
    """train's evaluation phase: the report, the DET curve, test_results.json, the card."""
    result, det = _report(paths, config, trained, plan, feat, paths.model,
                          float(trained["threshold"]), THRESHOLD_SOURCE)
    atomic_write_json(paths.evaluation / "report.json", {**result, "det": det.to_json()})
    save_det_plot(det, paths.evaluation / "det_curve.png", config.wake_word)
    atomic_write_json(paths.test_results, result)
    write_model_card(paths, config, result)
    return result


def has_heldout_data(paths: ProjectPaths) -> bool:
    """Whether train's evaluation data is in place (its features and test stream)."""
    from easy_oww.pipeline.phases import load_manifest

    return all((load_manifest(d) or {}).get("complete") is True
               for d in (paths.clips, paths.features, paths.negative_audio, paths.training)) \
        and (paths.negative_audio / "test_stream.npy").is_file()


def rescore_project(ws: Workspace, paths: ProjectPaths, config: ProjectConfig,
                    model_path: Path, threshold: float | None = None
                    ) -> tuple[dict[str, Any], Any]:
    """`eval`'s default on a trained project: train's evaluation again, on the same
    held-out clips, voices and negative audio, for `model_path` (the project's model at
    train's threshold unless `threshold` is given) and its DET curve. Writes nothing."""
    from easy_oww.pipeline.phases import load_manifest

    def summary(d: Path) -> dict[str, Any]:
        return dict((load_manifest(d) or {}).get("summary") or {})

    trained, feat = summary(paths.training), summary(paths.features)
    plan = ClipPlan.from_json(summary(paths.clips)["plan"], ws.root)
    if threshold is not None:
        t, source = float(threshold), "given"
    elif model_path.resolve() == paths.model.resolve():
        t, source = float(trained["threshold"]), THRESHOLD_SOURCE
    else:  # train's threshold belongs to the project's model
        t, source = config.evaluation.threshold, "config (default for another model)"
    return _report(paths, config, trained, plan, feat, model_path, t, source)


def _out_of_family(model: Any, paths: ProjectPaths, threshold: float,
                   patience: int) -> dict[str, Any] | None:
    """Recall and near-miss fires on voice families that training never heard."""
    from easy_oww.evaluate import metrics as m
    from easy_oww.features.store import open_features

    pos_dir, adv_dir = paths.features / "oof_positive", paths.features / "oof_adversarial"
    if not pos_dir.is_dir():
        return None
    pos = clip_peaks(model, open_features(pos_dir).load_all(), patience)
    adv = (clip_peaks(model, open_features(adv_dir).load_all(), patience)
           if adv_dir.is_dir() else np.zeros(0, np.float32))
    return {"recall": m.recall(pos, threshold), "positives": int(pos.size),
            "near_miss_false_accept_rate": m.false_accept_rate(adv, threshold)
            if adv.size else None, "near_miss_clips": int(adv.size)}


def _real_speech(model: Any, paths: ProjectPaths, meta: dict[str, Any], threshold: float,
                 patience: int, debounce: int) -> dict[str, Any] | None:
    """False positives per hour on the held-out part of the user's real speech."""
    from easy_oww.evaluate import metrics as m

    path = paths.negative_audio / "real_test_stream.npy"
    if not path.is_file():
        return None
    stream = np.load(path, mmap_mode="r")
    if len(stream) < MODEL_INPUT_FRAMES:
        return None
    hours = m.hours_for_frames(len(stream))
    scores = stream_scores(model, stream)
    return {"fp_per_hour": m.fp_per_hour(scores, threshold, hours, patience=patience,
                                         debounce_frames=debounce),
            "hours": hours, "sources": list(meta.get("real_sources", [])),
            "train_hours": float(meta.get("real_train_hours", 0.0))}


NO_REAL_SPEECH = ("No real speech was measured: how often this model fires on real people "
                  "is unknown. Point clips.negative_audio_dirs in config.yaml at a folder of "
                  "long recordings without the wake word (podcasts, TV, meetings), or run "
                  "`easy-oww download dipco`, then train again.")


def _families_text(families: dict[str, int]) -> str:
    return ", ".join(f"{f} ({n} voice{'s' if n != 1 else ''})" for f, n in families.items())


def quality_lines(r: dict[str, Any]) -> list[str]:
    """The report in plain sentences, in-family and out-of-family figures apart."""
    fam = r.get("families", {})
    t = r["threshold"]
    lines = [f"Trained on voice families: {_families_text(fam.get('trained', {}))}."]
    nm = r.get("near_miss_false_accept_rate")
    lines.append(
        f"In-family (other voices of the training families, "
        f"{_families_text(fam.get('in_family_measured', {}))}; says little about other "
        f"voices): recall {r['recall']:.3f} at threshold {t:.3f}, "
        f"{r['fp_per_hour']:.2f} false positives/hour on {r['negative_hours']:.2f} h of "
        f"synthetic negative audio" + ("" if nm is None else f", near-miss phrases fire {nm:.1%}")
        + ".")
    oof = r.get("out_of_family")
    if oof:
        onm = oof.get("near_miss_false_accept_rate")
        lines.append(
            f"Out-of-family (families held out of training whole: "
            f"{_families_text(fam.get('out_of_family_measured', {}))}): recall "
            f"{oof['recall']:.3f} on {oof['positives']} clips"
            + ("" if onm is None else f", near-miss phrases fire {onm:.1%}") + ".")
    else:
        lines.append("Out-of-family: not measured, every installed voice family trains the "
                     "model; with three or more families one is held out whole "
                     "(tts.holdout_families), e.g. after `easy-oww voices download`.")
    real = r.get("real_speech")
    if real:
        lines.append(f"Real speech: {real['fp_per_hour']:.2f} false positives/hour on "
                     f"{real['hours']:.2f} h of real recordings held out of training "
                     f"({'; '.join(real['sources'])}).")
    else:
        lines.append(NO_REAL_SPEECH)
    return lines


def _summary(directory: Path) -> dict[str, Any]:
    from easy_oww.pipeline.phases import load_manifest

    return dict((load_manifest(directory) or {}).get("summary") or {})


def save_det_plot(det: Any, path: Path, title: str) -> None:
    try:
        from easy_oww.evaluate.report import plot_det
    except ImportError:
        return
    try:
        plot_det(det, path, title=title)
    except Exception as exc:  # noqa: BLE001 - a missing plot never fails training
        log.warning("could not draw the DET curve: %s", exc)


def write_model_card(paths: ProjectPaths, config: ProjectConfig, r: dict[str, Any]) -> None:
    """models/NAME.json and NAME.md beside the ONNX model (the same card `eval` updates)."""
    from easy_oww.evaluate.report import render_card_markdown

    card = {"wake_word": config.wake_word, "model_file": paths.model.name,
            "recommended_threshold": r["threshold"], "threshold_meets_target": r["meets_target"],
            "threshold_source": r["threshold_source"],
            "recall": r["recall"], "fp_per_hour": r["fp_per_hour"],
            "near_miss_false_accept_rate": r["near_miss_false_accept_rate"],
            "evaluated_at_threshold": r["threshold"],
            "target_fp_per_hour": r["target_fp_per_hour"], "debounce_s": r["debounce_s"],
            "patience": config.evaluation.patience, "date": r["date"],
            "tool_version": r["tool_version"], "tool": "easy-oww",
            "quality": r.get("quality", []), "families": r.get("families", {}),
            "out_of_family": r.get("out_of_family"), "real_speech": r.get("real_speech"),
            "evaluation_data": {"positive_clips": r["positives"],
                                "near_miss_clips": r["near_miss_clips"], "negative_clips": 0,
                                "long_audio": [{"name": str(r["data"]["negative_audio"]),
                                                "hours": r["negative_hours"]}]},
            "training_data": {"preset": config.preset.value, "head": config.training.head.value,
                              "seed": config.seed, "voices": r["data"]["train_voices"],
                              "held_out_voices": r["data"]["held_out_voices"],
                              "clip_windows": sum(r["data"]["features"].values()),
                              "negative_audio_hours": round(
                                  r["data"]["train_negative_audio_hours"], 2),
                              "precomputed_negatives": r["data"]["precomputed_negatives"]},
            "input": f"float32 [batch, {MODEL_INPUT_FRAMES}, 96] openWakeWord embeddings",
            "output": "float32 [batch, 1] score in 0..1"}
    atomic_write_json(paths.model_card_json, card)
    atomic_write_text(paths.model_card_md, render_card_markdown(card))
