"""The Python versions of the classic kernel suite (see polyopt.kernels.registry).

Each module holds one plain Python function that is both a polyopt Python-frontend input and, run
directly on numpy arrays, the reference oracle at small sizes."""
