/* activation.h — the activations of Linear layers in one place for both sides: their numbers
 * (SgActivation in src/common/activation.h is made of them) and, compiled as OpenCL C, their
 * definition. A .cl file gets it with #include "activation.h", which cl/embed_kernels.py inlines. */
#ifndef SG_CL_ACTIVATION_H
#define SG_CL_ACTIVATION_H

#define SG_CL_ACT_NONE 0
#define SG_CL_ACT_GELU_TANH 1 /* 0.5x(1+tanh(√(2/π)(x+0.044715x³))), HF gelu_pytorch_tanh */
#define SG_CL_ACT_GELU_ERF 2  /* 0.5x(1+erf(x/√2)), HF gelu */

#ifdef __OPENCL_VERSION__
/* GELU tanh is computed as x·σ(2u) = x / (1 + exp(−2u)), u = √(2/π)(x + 0.044715x³), which is
 * 0.5x(1 + tanh(u)) exactly, with one vector exp instead of tanh: with tanh, the MLP-up GEMM of
 * base's text tower at batch 32 took 62 ms against 54 ms for MLP-down (the same FLOPs); with exp
 * the two ran within noise of each other (59–61 ms, build/bench/bench_ops). */
/* T sg_activate_T(T x, int act) for a float type T: the scalar one is defined here; a kernel that
 * wants a vector form (tanh/erf vectorize only that way) writes SG_DEFINE_ACTIVATE(float8). Vectors
 * wider than 256 bits would be passed to PoCL's builtins in a way clang warns about (-Wpsabi). */
#define SG_DEFINE_ACTIVATE(T)                                                                    \
    inline T sg_activate_##T(T x, int act)                                                       \
    {                                                                                            \
        if (act == SG_CL_ACT_GELU_TANH)                                                          \
            return x / (1.0f + exp(-1.5957691216057308f * (x + 0.044715f * x * x * x)));         \
        if (act == SG_CL_ACT_GELU_ERF)                                                           \
            return 0.5f * x * (1.0f + erf(x * 0.7071067811865476f));                             \
        return x;                                                                                \
    }
SG_DEFINE_ACTIVATE(float)
#endif

#endif /* SG_CL_ACTIVATION_H */
