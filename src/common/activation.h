/* activation.h — the activation functions a model config names, as the ops apply them; its
 * numbers come from cl/activation.h, which the kernels read too. No OpenCL types here: config
 * parsing uses it. */
#ifndef SG_COMMON_ACTIVATION_H
#define SG_COMMON_ACTIVATION_H

#include "cl/activation.h"

typedef enum SgActivation {
    SG_ACT_NONE = SG_CL_ACT_NONE,
    SG_ACT_GELU_TANH = SG_CL_ACT_GELU_TANH, /* HF gelu_pytorch_tanh */
    SG_ACT_GELU_ERF = SG_CL_ACT_GELU_ERF,   /* HF gelu */
} SgActivation;

#endif /* SG_COMMON_ACTIVATION_H */
