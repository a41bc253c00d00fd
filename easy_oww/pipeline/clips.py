"""Clips phase: which audio trains the model and which evaluates it.

Voices and phrase variations are split into training and held-out sets, so the final
evaluation measures a model on voices and phrasings it never saw. TTS output is cached in
the workspace (shared by projects); the phase manifest lists clips relative to the
workspace so a workspace on an external drive can move.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from easy_oww.config import ProjectConfig
from easy_oww.errors import EasyOWWError
from easy_oww.progress import ProgressFn
from easy_oww.project import AUDIO_GLOBS
from easy_oww.rng import key_to_int
from easy_oww.tts.split import split_voices
from easy_oww.workspace import ProjectPaths, Workspace

log = logging.getLogger(__name__)

SPLITS = ("train_positive", "train_adversarial", "train_speech", "train_downloaded_speech",
          "train_real_positive", "train_real_negative", "val_positive", "val_adversarial",
          "eval_positive", "eval_adversarial", "eval_speech", "oof_positive", "oof_adversarial")
"""val_* pick the checkpoint and threshold; eval_* are touched only by the final report.
Both come from voices (of the training families) and phrasings held out from training.
eval_speech (held-out voices, other sentences) is the babble behind the held-out clips.
oof_* (report only) come from voice families held out of training whole, when any are."""
HELD_OUT_SPEECH = 96  # sentences of held-out voices that held-out clips' babble is made of
HELD_OUT_SPEECH_SEED = 7  # their sentences differ from the training sentences


@dataclass(frozen=True)
class ClipPlan:
    """Clip lists per split (absolute paths) plus what produced them."""

    splits: dict[str, list[Path]]
    train_voices: list[str]
    eval_voices: list[str]
    oof_voices: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.splits.items()}

    def to_json(self, root: Path) -> dict[str, Any]:
        out = {"splits": {k: [os.path.relpath(p, root) for p in v] for k, v in self.splits.items()},
               "train_voices": self.train_voices, "eval_voices": self.eval_voices}
        if self.oof_voices:  # absent when none: plans of earlier versions keep their keys
            out["oof_voices"] = self.oof_voices
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any], root: Path) -> ClipPlan:
        return cls({k: [root / p for p in v] for k, v in data["splits"].items()},
                   list(data["train_voices"]), list(data["eval_voices"]),
                   list(data.get("oof_voices", [])))

    def families(self, which: str) -> dict[str, int]:
        """Voice family -> number of voices, of the "train", "eval" or "oof" voices."""
        from easy_oww.tts.types import family_of_id

        out: dict[str, int] = {}
        for vid in {"train": self.train_voices, "eval": self.eval_voices,
                    "oof": self.oof_voices}[which]:
            fam = family_of_id(vid)
            out[fam] = out.get(fam, 0) + 1
        return dict(sorted(out.items()))


def real_recordings(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for g in AUDIO_GLOBS for p in folder.glob(g))


def select_voices(config: ProjectConfig, workspace: Workspace) -> list[Any]:
    from easy_oww.tts import list_voices, make_registry

    voices = list_voices(workspace, backends=config.tts.backends,
                         registry=make_registry(config.tts))
    wanted = {"espeak": config.tts.espeak_voices, "piper": config.tts.piper_voices}
    chosen = []
    for v in voices:
        sel = wanted.get(v.backend, "all")
        if sel == "all" or v.name in sel or v.id in sel:
            chosen.append(v)
    if not chosen:
        raise EasyOWWError("no text-to-speech voice is available",
                           "install the training extra: pip install 'easy-oww[train]'")
    return chosen


def family_split(voices: list[Any], setting: str | list[str]) -> tuple[list[Any], list[Any]]:
    """(voices of the families that train, voices of the families held out whole)."""
    counts: dict[str, int] = {}
    for v in voices:
        counts[v.family] = counts.get(v.family, 0) + 1
    if setting == "auto":
        held = ({min(counts, key=lambda f: (counts[f], f))} if len(counts) >= 3 else set())
    else:
        held = set(setting)
        unknown = sorted(held - set(counts))
        if unknown:
            raise EasyOWWError(f"tts.holdout_families: no installed voice family "
                               f"{', '.join(unknown)}",
                               f"installed families: {', '.join(sorted(counts))}")
        if held >= set(counts):
            raise EasyOWWError("tts.holdout_families holds out every voice family",
                               "leave at least one family to train on")
    return ([v for v in voices if v.family not in held],
            [v for v in voices if v.family in held])


def voice_split(config: ProjectConfig, workspace: Workspace) -> tuple[list[Any], list[Any]]:
    """(training voices, held-out voices of the training families): the one split every
    phase uses; families held out whole (`out_of_family_voices`) are in neither."""
    kept, _ = family_split(select_voices(config, workspace), config.tts.holdout_families)
    return split_voices(kept, config.tts.holdout_voice_fraction, config.seed)


def out_of_family_voices(config: ProjectConfig, workspace: Workspace) -> list[Any]:
    """Voices of the families held out of training whole (report only)."""
    return family_split(select_voices(config, workspace), config.tts.holdout_families)[1]


def split_texts(texts: list[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    ranked = sorted(dict.fromkeys(texts), key=lambda t: key_to_int(f"{seed}:{t}"))
    k = max(1, round(len(ranked) * fraction)) if len(ranked) > 1 else 0
    held, train = ranked[:k], ranked[k:]
    return train, (held or train)


def canonical_forms(plain: str) -> list[str]:
    """The phrase as people say it to a device: plain, and with the intonation of a
    statement, a call and a question (espeak-ng and Piper follow the punctuation)."""
    return [plain, f"{plain}.", f"{plain}!", f"{plain}?", plain.capitalize() + ","]


def positive_texts(wake_word: str, seed: int) -> tuple[list[str], list[str]]:
    """(training texts, held-out texts). Both are half the canonical forms (what users say,
    spoken by unseen voices in evaluation) and half written variations (fillers, casing,
    pauses), of which a quarter are held out of training altogether. A word that the
    dictionary lacks and that has another reading (`easy_oww.text.readings`: "mycroft",
    also "my-croft") is said both ways, each in half of the texts."""
    from easy_oww.text import phrase_variations
    from easy_oww.text.readings import alternative_readings, respell

    variations = phrase_variations(wake_word, 60, seed)
    core = canonical_forms(variations[0])
    rest = [v for v in variations[1:] if v not in core]
    train_var, eval_var = split_texts(rest, 0.25, seed)
    readings = alternative_readings(wake_word)

    def weighted(var: list[str]) -> list[str]:
        texts = core * max(1, len(var) // len(core)) + var
        return texts + [respell(t, readings) for t in texts] if readings else texts

    return weighted(train_var), weighted(eval_var)


def make_clips(config: ProjectConfig, workspace: Workspace, paths: ProjectPaths, *,
               workers: int = 0, progress: ProgressFn | None = None) -> ClipPlan:
    """Synthesize (or reuse from the cache) every clip the project needs."""
    from easy_oww.text import adversarial_phrases, negative_sentences
    from easy_oww.text.readings import alternative_readings
    from easy_oww.tts import make_registry, synthesize_many
    from easy_oww.tts import plan_requests as plan

    c, seed = config.clips, config.seed
    train_voices, eval_voices = voice_split(config, workspace)
    oof_voices = out_of_family_voices(config, workspace)
    log.info("TTS voices: %d for training, %d held out for evaluation%s",
             len(train_voices), len(eval_voices),
             f", {len(oof_voices)} of families held out whole" if oof_voices else "")

    train_phr, eval_phr = positive_texts(config.wake_word, seed)
    for word, alt in alternative_readings(config.wake_word).items():
        log.info("%r is not in the pronunciation dictionary: positives say it as espeak-ng "
                 "reads it and as %r, half each", word, alt)
    adversarial = adversarial_phrases(config.wake_word, 400, seed, c.near_miss_min_phones)
    train_adv, eval_adv = split_texts(adversarial, 0.2, seed + 1)
    sentences = negative_sentences(max(200, c.n_negative_speech // 2), seed, config.wake_word)

    speed, pitch = config.tts.speed, config.tts.pitch
    def plan_requests(texts: list[str], voices: list[Any], n: int, **kw: Any) -> list[Any]:
        cap = math.ceil(n * config.tts.family_clip_share)
        return plan(texts, voices, n, balance_families=config.tts.balance_families,
                    family_cap=cap if config.tts.family_clip_share < 1.0 else None, **kw)

    jobs = {
        "train_positive": plan_requests(train_phr, train_voices, c.n_positive, seed=seed,
                                        speed=speed, pitch=pitch),
        "train_adversarial": plan_requests(train_adv, train_voices, c.n_adversarial,
                                           seed=seed + 1, speed=speed, pitch=pitch),
        "train_speech": plan_requests(sentences, train_voices, c.n_negative_speech,
                                      seed=seed + 2, speed=speed, pitch=pitch),
        "val_positive": plan_requests(eval_phr, eval_voices, c.n_eval_positive,
                                      seed=seed + 3, speed=speed, pitch=pitch),
        "val_adversarial": plan_requests(eval_adv, eval_voices, c.n_eval_adversarial,
                                         seed=seed + 4, speed=speed, pitch=pitch),
        "eval_positive": plan_requests(eval_phr, eval_voices, c.n_eval_positive,
                                       seed=seed + 5, speed=speed, pitch=pitch),
        "eval_adversarial": plan_requests(eval_adv, eval_voices, c.n_eval_adversarial,
                                          seed=seed + 6, speed=speed, pitch=pitch),
        "eval_speech": plan_requests(
            negative_sentences(HELD_OUT_SPEECH, seed + HELD_OUT_SPEECH_SEED, config.wake_word),
            eval_voices, HELD_OUT_SPEECH, seed=seed + 7, speed=speed, pitch=pitch),
    }
    if oof_voices:
        jobs["oof_positive"] = plan_requests(eval_phr, oof_voices, c.n_eval_positive,
                                             seed=seed + 8, speed=speed, pitch=pitch)
        jobs["oof_adversarial"] = plan_requests(eval_adv, oof_voices, c.n_eval_adversarial,
                                                seed=seed + 9, speed=speed, pitch=pitch)
    if config.tts.piper_accent_share > 0.0:
        from easy_oww.tts.accents import with_accents
        jobs = {name: with_accents(reqs, config.tts.piper_accent_share, config.wake_word)
                for name, reqs in jobs.items()}
    flat = [r for reqs in jobs.values() for r in reqs]
    out = synthesize_many(flat, workspace.cache / "tts", workers=workers, progress=progress,
                          registry=make_registry(config.tts))
    splits: dict[str, list[Path]] = {}
    i = 0
    for name, reqs in jobs.items():
        splits[name] = list(out[i:i + len(reqs)])
        i += len(reqs)
    splits["train_downloaded_speech"] = downloaded_speech(workspace, c.n_negative_speech, seed)
    if splits["train_downloaded_speech"]:
        log.info("using %d downloaded speech files as negatives",
                 len(splits["train_downloaded_speech"]))
    splits["train_real_positive"] = real_recordings(paths.recordings)
    splits["train_real_negative"] = real_recordings(paths.negative_recordings)
    if splits["train_real_positive"]:
        log.info("using %d of your recordings as positives (each weighted x%d)",
                 len(splits["train_real_positive"]), c.real_positive_weight)
    return ClipPlan(splits, [v.id for v in train_voices], [v.id for v in eval_voices],
                    [v.id for v in oof_voices])


def downloaded_speech(workspace: Workspace, n: int, seed: int) -> list[Path]:
    """Up to `n` files of downloaded read speech (LibriSpeech), a seeded choice."""
    from easy_oww.datasets import speech_files
    files = speech_files(workspace)
    if len(files) > n:
        files = sorted(files, key=lambda p: key_to_int(f"{seed}:{p.name}"))[:n]
    return sorted(files)


def clips_key(config: ProjectConfig, workspace: Workspace, paths: ProjectPaths) -> dict[str, Any]:
    """What the clips phase depends on (the recordings by name, size and time)."""
    recs = [(p.name, p.stat().st_size, int(p.stat().st_mtime))
            for p in real_recordings(paths.recordings) + real_recordings(paths.negative_recordings)]
    speech = len(downloaded_speech(workspace, config.clips.n_negative_speech, config.seed))
    return {"wake_word": config.wake_word, "seed": config.seed,
            "clips": config.clips.model_dump(mode="json"), "tts": config.tts.model_dump(mode="json"),
            "recordings": recs, "downloaded_speech": speech, "version": 2}
