"""Feature front end: openWakeWord's melspectrogram + embedding models, fast and exact.

- `frontend.FrontEnd`: batch embeddings of clips (``embed_clips``), per-clip melspectrograms.
- `streaming.StreamingFeatures` / `streaming.stream_embeddings`: 80 ms streaming features
  identical to ``openwakeword.Model``'s.
- `store.extract_features` / `store.open_features`: parallel, resumable extraction into
  float32 [n, 16, 96] shards, and read-only access to them.
"""
