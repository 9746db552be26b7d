"""polyopt's classic kernel suite (C and Python versions of 30 polyhedral benchmark kernels)."""

from polyopt.kernels.registry import (
                                      SIZES,
                                      SuiteKernel,
                                      c_source,
                                      dataset,
                                      get,
                                      make_inputs,
                                      names,
                                      python_function,
                                      suite,
)

__all__ = ["SIZES", "SuiteKernel", "c_source", "dataset", "get", "make_inputs", "names", "python_function",
           "suite"]
