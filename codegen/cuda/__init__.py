"""CUDA GPU backend: PPCG-style mapping of schedule trees, CUDA C generation, pycuda runtime, and a CPU
emulator of the mapped kernels (for CI). pycuda is imported only when a kernel runs on a GPU."""

from .emulate import emulate
from .host import (
                   CudaKernel,
                   LaunchConfig,
                   ResourceUsage,
                   compile_cuda,
                   compile_ptx,
                   gpu_available,
                   parse_ptxas,
                   ptx_resources,
)
from .kernel_ir import GpuProgram, build_gpu_program
from .mapping import GpuMapping, check_mapping, map_to_gpu, original_schedule

__all__ = [
    "CudaKernel", "GpuMapping", "GpuProgram", "LaunchConfig", "ResourceUsage", "build_gpu_program",
    "check_mapping", "compile_cuda", "compile_ptx", "emulate", "gpu_available", "map_to_gpu",
    "original_schedule", "parse_ptxas", "ptx_resources",
]
