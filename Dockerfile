# easy-oww in a container. The workspace is the volume /workspace.
#
#   docker build -t easy-oww .                                   # CPU PyTorch
#   docker build --build-arg DEVICE=cuda -t easy-oww .           # CUDA PyTorch + onnxruntime-gpu
#   docker run --rm -it -v "$(pwd):/workspace" easy-oww init
#   docker run --rm -it -v "$(pwd):/workspace" easy-oww train hey_jarvis
#   docker run --rm -it --gpus all -v "$(pwd):/workspace" easy-oww train hey_jarvis  # CUDA image
#
# The live microphone (record, test) needs the host's audio: record on the host and
# `easy-oww import` the files, or evaluate with `easy-oww eval --audio FILE`.
# The install is scripts/setup.sh itself (tests/test_docker.py runs these steps in a fresh
# virtual environment, and .ci/run lints this file with hadolint).
FROM python:3.11-slim-bookworm

ARG DEVICE=cpu
# PyPI's Linux PyTorch wheel is the CUDA build; the CPU build comes from PyTorch's index
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1

WORKDIR /opt/easy-oww
COPY pyproject.toml README.md ./
COPY easy_oww ./easy_oww
COPY scripts ./scripts
RUN EASY_OWW_DEVICE="$DEVICE" EASY_OWW_TORCH_INDEX="$TORCH_INDEX" bash scripts/setup.sh

ENV PATH=/opt/easy-oww/.venv/bin:$PATH \
    EASY_OWW_WORKSPACE=/workspace
VOLUME ["/workspace"]
WORKDIR /workspace
ENTRYPOINT ["easy-oww"]
CMD ["--help"]
