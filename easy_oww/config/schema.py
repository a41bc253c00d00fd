"""The schema: `ProjectConfig`, its sections and their choices, each key with its default,
range and description (docs/configuration.md is generated from these)."""

from __future__ import annotations

import enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

CONFIG_VERSION = 1


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_enum_values=False)


class Preset(str, enum.Enum):
    quick = "quick"
    standard = "standard"
    max = "max"


class Head(str, enum.Enum):
    dnn = "dnn"
    temporal = "temporal"
    temporal_attention = "temporal_attention"


class Device(str, enum.Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


Range = tuple[float, float]


def _check_range(v: Range, lo: float, hi: float, name: str) -> Range:
    a, b = v
    if a > b:
        raise ValueError(f"{name}: the first value must not exceed the second")
    if a < lo or b > hi:
        raise ValueError(f"{name}: values must lie within [{lo}, {hi}]")
    return v


class ClipsConfig(_Section):
    """How many clips of each kind the clips phase makes."""

    n_positive: int = Field(15_000, ge=10, le=1_000_000,
                            description="TTS positive clips (wake phrase variations)")
    n_adversarial: int = Field(3000, ge=0, le=1_000_000,
                               description="near-miss negative clips (similar phrases)")
    n_negative_speech: int = Field(2000, ge=0, le=1_000_000,
                                   description="general negative speech clips (sentences)")
    negative_audio_hours: float = Field(
        40.0, ge=0.0, le=200.0,
        description="hours of long negative speech + noise (training voices) whose every "
                    "80 ms window is a training negative")
    n_eval_positive: int = Field(
        500, ge=10, le=100_000,
        description="held-out positive clips for evaluation (and as many for validation); "
                    "recall near 0.9 on 500 clips has a standard error of 1.3 %, on 200 of 2.1 %")
    n_eval_adversarial: int = Field(300, ge=0, le=100_000,
                                    description="held-out near-miss clips for evaluation")
    near_miss_min_phones: int = Field(
        2, ge=1, le=8,
        description="a near-miss text differs from the wake phrase by at least this many phone "
                    "edits (1: only homophones are left out); one phone from it ('they "
                    "jarvis', 'olexa') is the wake phrase for a voice the model never heard. "
                    "Measured on voices never heard against 1, three words at two draws "
                    "(docs/training.md, sessions 37 and 39)")
    clip_duration: str | float = Field(
        "auto", description="training window in seconds, or 'auto' (derived from positives)")
    real_positive_weight: int = Field(
        5, ge=1, le=100, description="times each real recording is repeated among positives")
    negative_audio_dirs: list[str] = Field(
        default_factory=list,
        description="folders of your own long recordings without the wake word (podcasts, "
                    "TV, meetings; wav/flac/ogg/mp3, searched recursively): 70 % of each "
                    "recording trains, 15 % validates, 15 % measures false positives per hour "
                    "on real speech")

    @field_validator("clip_duration", mode="before")
    @classmethod
    def _duration(cls, v: object) -> str | float:
        if v == "auto":
            return "auto"
        if isinstance(v, (int, float)) and not isinstance(v, bool) and 1.0 <= float(v) <= 10.0:
            return float(v)
        raise ValueError("clip_duration must be 'auto' or a number of seconds in [1, 10]")


Backend = Literal["espeak", "piper", "kokoro", "openai"]
DEFAULT_BACKENDS: tuple[Backend, ...] = ("espeak", "piper")


class TTSConfig(_Section):
    """Text-to-speech backends and their variation."""

    backends: list[Backend] = Field(
        default_factory=lambda: list(DEFAULT_BACKENDS),
        description="backends to use; unavailable optional ones are skipped with a notice")
    espeak_voices: Literal["all"] | list[str] = Field(
        "all", description="espeak-ng voices: 'all' English voices/variants or a list")
    piper_voices: Literal["all"] | list[str] = Field(
        "all", description="Piper voices: 'all' installed or a list of names")
    speed: Range = Field((0.8, 1.25), description="speaking-rate factor range")
    pitch: Range = Field((0.8, 1.2), description="pitch factor range")
    holdout_voice_fraction: float = Field(
        0.2, ge=0.0, le=0.5, description="share of voices kept out of training, for evaluation")
    holdout_families: Literal["auto"] | list[str] = Field(
        "auto", description="voice families held out of training whole, to measure the model "
                            "on voices of a kind it never heard (e.g. ['piper:en_GB-alan-medium'])"
                            "; auto: the smallest family when three or more are installed "
                            "(with the two default families none can be spared; with "
                            "'kokoro' added to backends, Piper joe)")
    balance_families: bool = Field(
        True, description="give every voice family (engine and model: espeak-ng, each Piper "
                          "model, OpenAI) an equal share of positives and of negative speech, "
                          "so that timbre carries no label; off: an equal share per voice "
                          "(espeak-ng's hundreds of variants then say nearly everything)")
    family_clip_share: float = Field(
        0.2, gt=0.0, le=1.0,
        description="distinct clips of each family other than espeak-ng (Piper: ~0.1 s a "
                    "clip, espeak-ng ~0.01 s), as a share of each split: with 0.2 a split of "
                    "10000 synthesises at most 2000 of Piper's 5000 and uses each 2.5 times, "
                    "augmented afresh; engines dearer than Piper get it divided by their "
                    "cost (Kokoro, ~1 s a clip: a fifth); 1.0: no cap")
    piper_accent_share: float = Field(
        0.2, ge=0.0, le=1.0,
        description="share of the English Piper clips (positives, near misses, short "
                    "speech; not the long negative audio) read in another of espeak-ng's "
                    "English accents, uniform over the seven others; a text with the wake "
                    "phrase only in accents that keep its consonants (\"hey jarvis\": "
                    "only en-gb-scotland keeps the r). Measured on voices never heard "
                    "against 0, three words at two seeds (docs/training.md, sessions "
                    "26-27): higher recall at 0.5 in five of six runs, more near misses; "
                    "at <= 0.5 FP/h mixed, within one run's spread. 0: the voice's own "
                    "accent only")
    openai_model: str = Field("gpt-4o-mini-tts", description="OpenAI speech model")
    openai_concurrency: int = Field(5, ge=1, le=64, description="parallel OpenAI requests")

    @field_validator("speed", "pitch")
    @classmethod
    def _ranges(cls, v: Range) -> Range:
        return _check_range(v, 0.25, 4.0, "range")


class AugmentConfig(_Section):
    """Acoustic augmentation probabilities and ranges (applied in memory)."""

    rounds: int = Field(3, ge=1, le=50, description="augmented copies of each clip")
    rir_probability: float = Field(
        0.6, ge=0.0, le=1.0, description="room reverb (real and simulated impulse responses), for clips "
                    "and for the utterances of the long negative audio alike")
    noise_probability: float = Field(
        0.8, ge=0.0, le=1.0, description="background noise (coloured, hum, babble, downloaded)")
    near_miss_noise_probability: float = Field(
        0.3, ge=0.0, le=1.0,
        description="background noise for the near misses (texts that sound like the wake "
                    "phrase) in training, in place of noise_probability: a near miss in "
                    "noise teaches the model to refuse a wake word in noise from a voice it "
                    "never heard. Measured on voices never heard against 0.8, three words "
                    "at two draws (docs/training.md, session 36)")
    snr_db: Range = Field((5.0, 25.0), description="speech-to-noise ratio range in dB")
    noise_span_probability: float = Field(
        0.5, ge=0.0, le=1.0,
        description="share of noisy windows whose noise covers only part of the window "
                    "(starts in the first 60%, stops in the last 60%), as a television or "
                    "a passing car does, so that the phrase is heard with noise before or "
                    "after it and silence on the other side")
    gain_db: Range = Field((-12.0, 6.0),
                           description="gain range in dB (never pushed past full scale)")
    pitch_probability: float = Field(
        0.5, ge=0.0, le=1.0,
        description="pitch shift (resampling: formants move too, like another vocal tract)")
    pitch_semitones: Range = Field((-3.0, 3.0), description="pitch shift range in semitones")
    voice_probability: float = Field(
        0.5, ge=0.0, le=1.0,
        description="another voice: pitch moved within voice_semitones and formants (the "
                    "vocal tract) by a factor within voice_formant, independently, so that "
                    "one natural voice stands for many; for clips and for the utterances "
                    "of the long negative audio alike (replaces the pitch shift where both "
                    "are drawn)")
    voice_semitones: Range = Field((-4.0, 8.0),
                                   description="another voice's pitch shift range in semitones")
    voice_formant: Range = Field((0.86, 1.2),
                                 description="another voice's formant factor range")
    timbre_probability: float = Field(
        0.5, ge=0.0, le=1.0,
        description="another timbre: the speech of a clip (positives and negative clips "
                    "alike) and of an utterance of the long negative audio through seven "
                    "peaking filters from 120 Hz to 6.4 kHz, each with a gain drawn within "
                    "+-timbre_db, so that the spectral envelope of a voice varies as "
                    "between speakers and microphones")
    timbre_db: float = Field(6.0, ge=0.0, le=20.0,
                             description="another timbre's gain limit per band in dB")
    tempo_probability: float = Field(0.2, ge=0.0, le=1.0,
                                     description="tempo change (pitch kept)")
    tempo: Range = Field((0.9, 1.1), description="tempo factor range (>1 is faster)")
    eq_probability: float = Field(0.4, ge=0.0, le=1.0, description="phone/far-field/cheap mic")
    distortion_probability: float = Field(0.05, ge=0.0, le=1.0,
                                          description="light saturation")
    end_jitter_s: Range = Field((0.0, 0.3), description="time from the phrase's end to the window's end")
    follow_probability: float = Field(
        0.5, ge=0.0, le=1.0,
        description="speech follows the phrase (another utterance, after a pause from "
                    "follow_pause_s), as a command follows a wake word; in positives and in "
                    "the negatives placed like them alike")
    follow_pause_s: Range = Field((0.0, 0.2),
                                  description="pause between the phrase and the speech after it")

    @field_validator("snr_db")
    @classmethod
    def _snr(cls, v: Range) -> Range:
        return _check_range(v, -10.0, 60.0, "snr_db")

    @field_validator("gain_db")
    @classmethod
    def _gain(cls, v: Range) -> Range:
        return _check_range(v, -40.0, 20.0, "gain_db")

    @field_validator("pitch_semitones", "voice_semitones")
    @classmethod
    def _semitones(cls, v: Range, info: ValidationInfo) -> Range:
        return _check_range(v, -12.0, 12.0, str(info.field_name))

    @field_validator("voice_formant")
    @classmethod
    def _voice_formant(cls, v: Range) -> Range:
        return _check_range(v, 0.5, 2.0, "voice_formant")

    @field_validator("tempo")
    @classmethod
    def _tempo(cls, v: Range) -> Range:
        return _check_range(v, 0.5, 2.0, "tempo")

    @field_validator("follow_pause_s")
    @classmethod
    def _follow_pause(cls, v: Range) -> Range:
        return _check_range(v, 0.0, 2.0, "follow_pause_s")

    @field_validator("end_jitter_s")
    @classmethod
    def _jitter(cls, v: Range) -> Range:
        return _check_range(v, 0.0, 2.0, "end_jitter_s")


class FeaturesConfig(_Section):
    workers: int = Field(0, ge=0, le=256, description="worker processes; 0 = all cores")
    shard_size: int = Field(1024, ge=16, le=100_000, description="clips per feature shard")
    onnx_threads: int = Field(1, ge=1, le=64, description="intra-op threads per worker")


class TrainingConfig(_Section):
    """The classifier and its training loop (see docs/training.md)."""

    head: Head = Field(Head.dnn, description=(
        "classifier head: dnn (openWakeWord's own architecture; best on real features), "
        "temporal, or temporal_attention (best on synthetic data; on voices never heard "
        "below dnn at about six times its training time, see docs/training.md)"))
    steps: int = Field(
        12_000, ge=10, le=10_000_000,
        description="optimiser steps; on the quick preset 4000 and 12000 both read lower than "
                    "8000 on voices never heard (docs/training.md)")
    batch_size: int = Field(1024, ge=8, le=65_536, description="windows per optimiser step")
    learning_rate: float = Field(
        5e-4, gt=0.0, le=1.0,
        description="peak learning rate (AdamW); standard preset measured best at 5e-4, "
                    "quick at 1e-3")
    warmup_fraction: float = Field(
        0.05, ge=0.0, le=0.5, description="share of steps for linear warm-up; cosine decay after")
    layer_size: int = Field(
        128, ge=8, le=4096,
        description="hidden units; single heads of 128 measured better than 64 at low "
                    "false-positive rates (quick preset, three seeds each; ensembles of three "
                    "equal there; on voices never heard ensembles of 64 read lower, docs/training.md), "
                    "256 no better than 128")
    n_blocks: int = Field(1, ge=0, le=8, description="extra hidden blocks of the dnn head")
    positive_fraction: float = Field(
        0.5, gt=0.0, lt=1.0, description="share of each batch drawn from the positives")
    max_negative_weight: float = Field(
        10.0, ge=1.0, le=1e6,
        description="final weight of negatives (false-alarm penalty); with reverberant long "
                    "negative audio 10 measured best on voices never heard (5 and 50: lower "
                    "recall at <= 0.5 FP/h)")
    focal_loss: bool = Field(False, description="focal loss (measured: lower recall at 1 FP/h)")
    mixup: bool = Field(False, description="mixup of batch rows (measured: lower recall at 1 FP/h)")
    input_dropout: float = Field(
        0.2, ge=0.0, lt=1.0,
        description="share of the 96 embedding dimensions zeroed in each training window "
                    "(the same ones in all 16 frames; the rest scaled up to match); 0 turns "
                    "it off. 0.2 measured higher recall at <= 0.5 FP/h on voices never "
                    "heard (docs/training.md)")
    round_consistency: float = Field(
        0.0, ge=0.0, le=100.0,
        description="weight of a second loss that keeps the head's hidden layer alike for "
                    "two augmentation rounds of one positive clip (other noise, room and "
                    "voice), half of each batch's positives drawn as such pairs; 0 turns it "
                    "off (docs/training.md, session 41)")
    window_norm: bool = Field(
        True, description="scale each window over time before the head: every embedding "
                          "dimension centred on its mean over the window's 16 frames and "
                          "divided by its standard deviation there. Measured higher recall "
                          "at <= 0.5 FP/h and a smaller DET area on voices never heard than "
                          "the same seeds without it, in three pairs of runs (mean recall "
                          "+0.050), for about a fifth more time in the training phase "
                          "(docs/training.md)")
    checkpoint_averaging: bool = Field(
        True, description="ship the mean of the last checkpoints when it meets the target "
                          "(measured: higher recall at 0.5 FP/h than single checkpoints)")
    average_last_k: int = Field(
        5, ge=2, le=100, description="validated checkpoints averaged by checkpoint_averaging")
    ensemble: int = Field(
        3, ge=1, le=16,
        description="heads trained with different seeds (in parallel processes on a CPU) "
                    "whose mean logit is the model (measured: higher recall at 0 and 0.5 FP/h "
                    "and steadier false positives than any one head)")
    validate_every: int = Field(500, ge=10, le=1_000_000,
                                description="steps between validation + resumable checkpoint")
    threads: int = Field(0, ge=0, le=256,
                         description="CPU threads for training; 0 = 1 (fastest for small heads)")
    device: Device = Field(Device.auto, description="auto: CUDA when present, else CPU")


class EvaluationConfig(_Section):
    target_fp_per_hour: float = Field(0.5, gt=0.0, le=100.0,
                                      description="false positives per hour to meet")
    negative_hours: float = Field(2.0, ge=0.05, le=100.0,
                                  description="hours of built-in negative audio for testing "
                                              "(validation gets as much, and enough to allow "
                                              "three activations with confidence: 11.25 h at "
                                              "0.5/h, at most 12 h)")
    threshold: float = Field(0.5, gt=0.0, lt=1.0, description="default detection threshold")
    debounce_s: float = Field(1.0, ge=0.0, le=10.0, description="min time between activations")
    patience: int = Field(1, ge=1, le=50, description="frames above threshold to fire")


class ProjectConfig(_Section):
    """Everything that determines a project's model. Same config + inputs -> same model."""

    version: int = Field(CONFIG_VERSION, description="config file format version")
    name: str = Field(..., min_length=1, max_length=64, description="the project name")
    wake_word: str = Field(..., min_length=2, max_length=100, description="the wake phrase")
    seed: int = Field(1234, ge=0, le=2**31 - 1, description="root of every random choice")
    preset: Preset = Preset.standard
    clips: ClipsConfig = Field(default_factory=ClipsConfig)
    tts: TTSConfig = Field(default_factory=TTSConfig)
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    audio_device: str | int | None = Field(None, description="remembered microphone")

    @field_validator("wake_word")
    @classmethod
    def _wake(cls, v: str) -> str:
        v = " ".join(v.split())
        if not any(c.isalpha() for c in v):
            raise ValueError("wake_word must contain letters")
        return v

    @field_validator("version")
    @classmethod
    def _version(cls, v: int) -> int:
        if v != CONFIG_VERSION:
            raise ValueError(f"version must be {CONFIG_VERSION}")
        return v
