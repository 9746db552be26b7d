"""Typed transformation records, candidates, and the functions that apply them legally."""

from polyopt.transforms.apply import apply_candidate, apply_transform
from polyopt.transforms.bases import base_schedule, isl_schedule_options
from polyopt.transforms.records import (
    BASES,
    GPU_TARGETS,
    TRANSFORMS,
    Candidate,
    Distribute,
    Fission,
    Fuse,
    GpuMap,
    InvalidTransformError,
    Join,
    Parallel,
    Permute,
    Promote,
    Separate,
    SeparateFullTiles,
    Skew,
    Split,
    StripMine,
    Tile,
    Transform,
    Unroll,
    UnrollAndJam,
    Vectorize,
    Wavefront,
    describe,
    transform_from_dict,
    transform_to_dict,
)

__all__ = [
    "BASES", "GPU_TARGETS", "TRANSFORMS", "Candidate", "Distribute", "Fission", "Fuse", "GpuMap", "InvalidTransformError",
    "Join", "Parallel", "Permute", "Promote", "Separate", "SeparateFullTiles", "Skew", "Split", "StripMine", "Tile",
    "Transform", "Unroll", "UnrollAndJam", "Vectorize", "Wavefront", "apply_candidate", "apply_transform",
    "base_schedule", "describe", "isl_schedule_options", "transform_from_dict", "transform_to_dict",
]
