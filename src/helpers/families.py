"""The study's model families by name, kept apart from ``models`` so that reading a
plan or a record does not load TensorFlow."""

from __future__ import annotations

REFERENCE_FAMILIES = ("hw3_cnn", "hw8_mobilenet")
SCALED_FAMILIES = ("mobilenet", "plain_cnn", "hw3_scaled")
# Q4's controls: each changes one thing of a scaled family.
CONTROL_FAMILIES = ("separable_mobilenet", "hw3_nodrop", "hw3_gap")
FAMILIES = REFERENCE_FAMILIES + SCALED_FAMILIES + CONTROL_FAMILIES
