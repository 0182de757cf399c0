"""The study's model families by name, kept apart from ``models`` so that reading a
plan or a record does not load TensorFlow."""

from __future__ import annotations

REFERENCE_FAMILIES = ("hw3_cnn", "hw8_mobilenet")
SCALED_FAMILIES = ("mobilenet", "plain_cnn", "hw3_scaled")
FAMILIES = REFERENCE_FAMILIES + SCALED_FAMILIES
