"""Hand-built SCoPs (gemm, gemm_acc, 2mm, jacobi-2d) for the CUDA tests, until the frontends land."""
from polyopt.frontend.tree import *
from polyopt.expr import *
from polyopt.builder import build_scop
import islpy as isl
V=Var; C=lambda v: Const(v)
def gemm(F=DType.FLOAT32):
    src=KernelSource("gemm",(Argument("N","param",DType.INT64),Argument("alpha","scalar",F),Argument("beta","scalar",F),Argument("C","array",F),Argument("A","array",F),Argument("B","array",F)),
     (ArrayDecl("C",F,(V("N"),V("N"))),ArrayDecl("A",F,(V("N"),V("N"))),ArrayDecl("B",F,(V("N"),V("N")))),
     (Loop("i",C(0),Compare("<",V("i"),V("N")),1,(
       Loop("j",C(0),Compare("<",V("j"),V("N")),1,(
         Assign(Access("C",(V("i"),V("j"))), Binary("*",Access("C",(V("i"),V("j"))),V("beta"))),
         Loop("k",C(0),Compare("<",V("k"),V("N")),1,(
           Assign(Access("C",(V("i"),V("j"))), Binary("+",Access("C",(V("i"),V("j"))),Binary("*",V("alpha"),Binary("*",Access("A",(V("i"),V("k"))),Access("B",(V("k"),V("j"))))))),)),
       )),)),))
    return build_scop(src)
def isl_sched(s, d):
    return isl.ScheduleConstraints.on_domain(s.domain).set_context(s.context).set_validity(d.all).set_proximity(d.all).set_coincidence(d.all).compute_schedule()
def jacobi2d(F=DType.FLOAT64):
    A=lambda i,j: Access("A",(i,j)); B=lambda i,j: Access("B",(i,j))
    i,j=V("i"),V("j"); p1=lambda e: Binary("+",e,C(1)); m1=lambda e: Binary("-",e,C(1))
    def st(T,S): return Assign(T(i,j), Binary("*",Const(0.2,DType.FLOAT64), Binary("+",Binary("+",Binary("+",Binary("+",S(i,j),S(i,m1(j))),S(i,p1(j))),S(p1(i),j)),S(m1(i),j))))
    lim = Compare("<",i,Binary("-",V("N"),C(1))); limj = Compare("<",j,Binary("-",V("N"),C(1)))
    nest=lambda a: Loop("i",C(1),lim,1,(Loop("j",C(1),limj,1,(a,)),))
    src=KernelSource("jacobi_2d",(Argument("T","param",DType.INT64),Argument("N","param",DType.INT64),Argument("A","array",F),Argument("B","array",F)),
      (ArrayDecl("A",F,(V("N"),V("N"))),ArrayDecl("B",F,(V("N"),V("N")))),
      (Loop("t",C(0),Compare("<",V("t"),V("T")),1,(nest(st(B,A)), nest(st(A,B)))),))
    return build_scop(src)
def mm2(F=DType.FLOAT64):
    a=lambda n,i,j: Access(n,(V(i),V(j)))
    src=KernelSource("mm2",(Argument("N","param",DType.INT64),Argument("alpha","scalar",F),Argument("tmp","array",F),Argument("A","array",F),Argument("B","array",F),Argument("Cm","array",F),Argument("D","array",F)),
      tuple(ArrayDecl(n,F,(V("N"),V("N"))) for n in ("tmp","A","B","Cm","D")),
      (Loop("i",C(0),Compare("<",V("i"),V("N")),1,(Loop("j",C(0),Compare("<",V("j"),V("N")),1,(
          Assign(a("tmp","i","j"), Const(0.0,F)),
          Loop("k",C(0),Compare("<",V("k"),V("N")),1,(Assign(a("tmp","i","j"), Binary("+",a("tmp","i","j"),Binary("*",V("alpha"),Binary("*",a("A","i","k"),a("B","k","j"))))),)))),)),
       Loop("i",C(0),Compare("<",V("i"),V("N")),1,(Loop("j",C(0),Compare("<",V("j"),V("N")),1,(
          Assign(a("D","i","j"), Binary("*",a("D","i","j"),Const(2.0,F))),
          Loop("k",C(0),Compare("<",V("k"),V("N")),1,(Assign(a("D","i","j"), Binary("+",a("D","i","j"),Binary("*",a("tmp","i","k"),a("Cm","k","j")))),)))),)),))
    return build_scop(src)
def gemm_acc(F=DType.FLOAT64):
    """C[i][j] += A[i][k] * B[k][j]."""
    a=lambda n,i,j: Access(n,(V(i),V(j)))
    src=KernelSource("gemm_acc",(Argument("N","param",DType.INT64),Argument("C","array",F),Argument("A","array",F),Argument("B","array",F)),
      tuple(ArrayDecl(n,F,(V("N"),V("N"))) for n in ("C","A","B")),
      (Loop("i",C(0),Compare("<",V("i"),V("N")),1,(Loop("j",C(0),Compare("<",V("j"),V("N")),1,(
          Loop("k",C(0),Compare("<",V("k"),V("N")),1,(Assign(a("C","i","j"), Binary("+",a("C","i","j"),Binary("*",a("A","i","k"),a("B","k","j")))),)),)),)),))
    return build_scop(src)
