"""Machine-code features: loops found from back edges, vector width, FMAs, memory operations, spills."""

import numpy as np
import pytest
from polyopt.search import backend
from polyopt.search.asm_features import ASM_FEATURE_NAMES, asm_features, compiled_features
from polyopt.search.features import record_feature_names
from polyopt.search.testing import copy2d, gemm

F = {n: i for i, n in enumerate(ASM_FEATURE_NAMES)}

VECTOR_LOOP = """
kernel:
\txorl\t%eax, %eax
.LBB0_1:
\tmovq\t%rcx, %rsi
.LBB0_2:
\tvmovupd\t(%rdi,%rax,8), %zmm0
\tvfmadd231pd\t(%rsi,%rax,8), %zmm1, %zmm0
\tvfmadd231pd\t64(%rsi,%rax,8), %zmm1, %zmm2
\tvmovupd\t%zmm0, (%rdx,%rax,8)
\taddq\t$16, %rax
\tcmpq\t%r8, %rax
\tjne\t.LBB0_2
\tincq\t%rcx
\tjne\t.LBB0_1
.LBB0_3:
\tvmulsd\t(%rdi), %xmm0, %xmm0
\tvmovsd\t%xmm0, 8(%rsp)
\tvmovsd\t16(%rsp), %xmm3
\tdecq\t%r9
\tjne\t.LBB0_3
\tretq
"""


def test_innermost_loops_vector_width_fmas_and_memory():
    v = asm_features(VECTOR_LOOP)
    # main loop .LBB0_2: 7 instructions, 2 FMAs on 8 doubles = 32 flops; 3 loads, 1 store; no stack
    assert v[F["main.log_insts"]] == pytest.approx(np.log2(8))
    assert v[F["main.flops_per_inst"]] == pytest.approx(32 / 7)
    assert v[F["main.flops_per_memop"]] == pytest.approx(32 / 4)
    assert v[F["main.vector_width"]] == 8 and v[F["main.fma_fraction"]] == 1
    assert v[F["main.stack_per_inst"]] == 0
    assert v[F["main.share_of_flops"]] == pytest.approx(32 / 33)
    # the outer loop .LBB0_1 holds the inner one: two innermost loops (.LBB0_2 and .LBB0_3)
    assert v[F["all.log_inner_loops"]] == pytest.approx(np.log2(3))
    assert v[F["all.packed_fraction"]] == pytest.approx(2 / 3)
    assert v[F["all.log_stack_ops"]] == pytest.approx(np.log2(3))       # a spill and a reload in .LBB0_3


def test_code_without_loops_has_only_its_size():
    v = asm_features("kernel:\n\tvaddsd\t%xmm0, %xmm1, %xmm0\n\tretq\n")
    assert v[F["all.log_insts"]] == pytest.approx(np.log2(3))
    assert not np.any(np.delete(v, F["all.log_insts"]))


def test_compiled_gemm_is_vectorized_and_a_transposed_copy_is_not_the_same():
    scop, params = gemm(), {"NI": 64, "NJ": 48, "NK": 40}
    v = compiled_features(scop, backend.apply(scop, backend.baseline(scop, "original")), params)
    assert v.shape == (len(ASM_FEATURE_NAMES),)
    assert v[F["main.vector_width"]] >= 2 and v[F["main.flops_per_inst"]] > 0
    t, p = copy2d(transpose=True), {"N": 64}
    w = compiled_features(t, backend.apply(t, backend.baseline(t, "original")), p)
    assert not np.array_equal(v, w)
    assert len(record_feature_names()) == len(set(record_feature_names()))
