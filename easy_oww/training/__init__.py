"""Classifier heads, the training loop, checkpoint selection and ONNX export.

Modules here import torch lazily (inside the training stage); importing this package is cheap.
"""
