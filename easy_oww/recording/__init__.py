"""Recording the user's own voice and importing existing audio into a project.

- :mod:`.device`: the audio-device Protocol, the sounddevice backend, device selection.
- :mod:`.session`: `RecordingSession` (numbering, validation, atomic saves, summary).
- :mod:`.importer`: `import_audio(project_paths, paths, negative=...) -> ImportResult`.
- :mod:`.validate`: quality check + silence trim + content hash shared by both.
- :mod:`.fake`: a fake device and generated signals for tests.
"""

from __future__ import annotations

from easy_oww.recording.device import DeviceInfo, InputStream, list_devices, open_input
from easy_oww.recording.importer import ImportResult, Refused, Taken, import_audio
from easy_oww.recording.session import RecordingSession, SessionSummary, Take, next_free_path
from easy_oww.recording.suggest import negative_suggestions
from easy_oww.recording.validate import ClipCheck, check_clip, content_hash, trim_silence

__all__ = ["ClipCheck", "DeviceInfo", "ImportResult", "InputStream", "RecordingSession",
           "Refused", "SessionSummary", "Take", "Taken", "check_clip", "content_hash",
           "import_audio", "list_devices", "negative_suggestions", "next_free_path",
           "open_input", "trim_silence"]
