"""The one device resolver: `train --device` over the config's training.device over auto."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from easy_oww import compute
from easy_oww.config import Device, load_config
from easy_oww.errors import DeviceError
from easy_oww.project import create_project
from easy_oww.workspace import Workspace


@pytest.fixture
def no_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compute, "_cuda_available", lambda: False)


@pytest.fixture
def cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compute, "_cuda_available", lambda: True)


def test_auto_is_the_cpu_without_a_gpu(no_cuda: None) -> None:
    assert compute.resolve_device() == "cpu"
    assert compute.resolve_device("auto") == "cpu"
    assert compute.resolve_device(None, None) == "cpu"
    assert compute.resolve_device(None, Device.auto) == "cpu"


def test_auto_is_cuda_with_a_gpu(cuda: None) -> None:
    assert compute.resolve_device("auto") == "cuda"
    assert compute.resolve_device(None, Device.auto) == "cuda"
    assert compute.resolve_device("cuda") == "cuda"


def test_config_device_is_used_when_no_flag_is_given(cuda: None) -> None:
    assert compute.resolve_device(None, Device.cpu) == "cpu"
    assert compute.resolve_device(None, "cuda") == "cuda"


def test_flag_overrides_the_config(cuda: None) -> None:
    assert compute.resolve_device("cpu", Device.cuda) == "cpu"
    assert compute.resolve_device("cuda", Device.cpu) == "cuda"
    assert compute.resolve_device("auto", Device.cpu) == "cuda"


@pytest.mark.parametrize(("flag", "configured"), [("cuda", None), (None, Device.cuda),
                                                  ("cuda", Device.cpu)])
def test_absent_cuda_is_a_one_line_device_error(no_cuda: None, flag: str | None,
                                                configured: Device | None) -> None:
    with pytest.raises(DeviceError) as err:
        compute.resolve_device(flag, configured)
    assert "CUDA" in str(err.value) and "\n" not in str(err.value)
    assert "--device cpu" in (err.value.hint or "")


def test_an_unknown_device_is_a_device_error() -> None:
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        compute.resolve_device("tpu")


def test_the_real_machine_resolves_auto() -> None:
    """Whatever this machine has, auto resolves without an error (CPU or CUDA)."""
    assert compute.resolve_device() in ("cpu", "cuda")


# -- the wiring: run_train and `easy-oww train` ------------------------------------------
class _Seen(Exception):
    pass


def _capture(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """run_train stops at its preflight, keeping the device it resolved."""
    from easy_oww.pipeline import run

    seen: list[str] = []

    def preflight(r: Any) -> None:
        seen.append(r.device)
        raise _Seen

    monkeypatch.setattr(run, "preflight", preflight)
    return seen


def _project(ws: Workspace, device: str) -> None:
    project = create_project(ws, "dev", "hey jarvis")
    data = yaml.safe_load(project.paths.config.read_text())
    data["training"]["device"] = device
    project.paths.config.write_text(yaml.safe_dump(data))
    assert load_config(project.paths.config).training.device.value == device


def test_run_train_honours_training_device(workspace: Workspace, cuda: None,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from easy_oww.pipeline import run_train

    seen = _capture(monkeypatch)
    _project(workspace, "cpu")
    for flag in (None, "cuda"):
        with pytest.raises(_Seen):
            run_train(workspace, "dev", device=flag)
    assert seen == ["cpu", "cuda"]


def test_train_command_without_device_uses_the_config(
        workspace: Workspace, no_cuda: None, monkeypatch: pytest.MonkeyPatch,
        invoke: Callable[..., Any]) -> None:
    seen = _capture(monkeypatch)
    _project(workspace, "cuda")
    result = invoke("train", "dev")
    assert result.exit_code == 2
    assert "CUDA" in result.output and not seen
    assert "Traceback" not in result.output
    with pytest.raises(_Seen):  # the flag overrides the config's cuda
        from easy_oww.pipeline import run_train

        run_train(workspace, "dev", device="cpu")
    assert seen == ["cpu"]


# -- the feature front end: ONNX Runtime's CUDA provider, not PyTorch's, decides ---------
@pytest.mark.parametrize(("resolved", "onnx_cuda", "expected"),
                         [("cuda", True, "cuda"), ("cuda", False, "cpu"),
                          ("cpu", True, "cpu"), ("cpu", False, "cpu")])
def test_feature_device_needs_onnx_runtime_cuda(monkeypatch: pytest.MonkeyPatch,
                                                resolved: compute.ResolvedDevice,
                                                onnx_cuda: bool, expected: str) -> None:
    monkeypatch.setattr(compute, "_onnx_cuda_available", lambda: onnx_cuda)
    assert compute.feature_device(resolved) == expected


@pytest.mark.parametrize("onnx_cuda", [False, True])
def test_a_gpu_run_without_onnxruntime_gpu_makes_features_on_the_cpu(
        workspace: Workspace, cuda: None, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, onnx_cuda: bool) -> None:
    """PyTorch's CUDA build with plain onnxruntime (seen on an H100 machine): training on
    the GPU must not stop the features phase with 'no CUDA provider'."""
    from easy_oww.pipeline import featurize, run

    monkeypatch.setattr(compute, "_onnx_cuda_available", lambda: onnx_cuda)
    monkeypatch.setattr(run, "preflight", lambda r: None)

    class _Plan:
        def to_json(self, root: Any) -> dict[str, Any]:
            return {}

    monkeypatch.setattr(run, "_clips_phase", lambda r: _Plan())
    seen: list[str] = []

    def make_features(config: Any, ws: Any, paths: Any, plan: Any, *, device: str,
                      progress: Any) -> None:
        seen.append(device)
        raise _Seen

    monkeypatch.setattr(featurize, "make_features", make_features)
    create_project(workspace, "dev", "hey jarvis")
    with caplog.at_level("INFO"), pytest.raises(_Seen):
        run.run_train(workspace, "dev")
    assert seen == ["cuda" if onnx_cuda else "cpu"]
    assert ("no CUDA provider" in caplog.text) is not onnx_cuda
