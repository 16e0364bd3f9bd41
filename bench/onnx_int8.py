#!/usr/bin/python3
"""onnx_int8.py — an ONNX graph's Linear layers rewritten into ONNX Runtime's dynamic int8 form,
the graph onnxruntime.quantization.quantize_dynamic(per_channel=True, weight_type=QInt8) writes,
for bench/compare_ort.py --ort-int8 (issue 28: libsiglip's q8 next to ORT's own int8 path).

Every MatMul whose second input is a constant 2-D weight W [K, N] (and every Gemm with a constant
B, transposed as its transB says, and its bias C) becomes
    x_q, x_scale, x_zero = DynamicQuantizeLinear(x)        uint8, one scale for the whole tensor
    y_i = MatMulInteger(x_q, W_q, x_zero, W_zero)          int32; W_q int8 [K, N], W_zero zeros [N]
    y   = Cast(y_i, float) · (x_scale · W_scale)  (+ C)    W_scale [N]
with W_q = round(W / W_scale) in [−127, 127], W_scale[n] = max |W[:, n]| / 127 (one scale per
output column, symmetric). Activations are quantized per tensor and asymmetric, as ORT's dynamic
quantization does (libsiglip's q8 rounds per row and block of 32, docs/q8-integer.md). The other
MatMuls (attention's, both inputs computed) stay f32. On AVX2 without VNNI ORT runs MatMulInteger
as u8 × s8 with vpmaddubsw, whose int16 pair sums can saturate (ORT's reduce_range option exists
for that); this script keeps full-range weights, as quantize_dynamic's default.

Needs Debian's python3-onnx (and python3-numpy). Usage:
  bench/onnx_int8.py IN.onnx OUT.onnx        # prints how many layers it rewrote
"""
import sys

import numpy as np

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:  # a clear message instead of a trace: the module is optional for the project
    onnx = None


def require_onnx():
    if onnx is None:
        raise RuntimeError("the onnx Python module is missing: apt-get install python3-onnx")


def quantize_weight(w):
    """W [K, N] float → (W_q int8 [K, N], W_scale float32 [N]), per output column."""
    amax = np.abs(w).max(axis=0)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale


def rewrite(model):
    """model (onnx.ModelProto) with its constant-weight MatMul/Gemm nodes in the int8 form, in
    place; returns how many nodes it rewrote."""
    require_onnx()
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    new_nodes, new_inits, quantized_x, done = [], [], {}, 0
    for node in graph.node:
        weight = bias = None
        if node.op_type == "MatMul" and node.input[1] in inits and len(inits[node.input[1]].dims) == 2:
            weight = numpy_helper.to_array(inits[node.input[1]])
        elif node.op_type == "Gemm" and node.input[1] in inits:
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if attrs.get("transA", 0) == 0 and attrs.get("alpha", 1.0) == 1.0 and \
                    attrs.get("beta", 1.0) == 1.0:
                b = numpy_helper.to_array(inits[node.input[1]])
                weight = b.T if attrs.get("transB", 0) else b
                bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
        if weight is None:
            new_nodes.append(node)
            continue
        x, y, tag = node.input[0], node.output[0], f"int8_{done}"
        if x not in quantized_x:  # one DynamicQuantizeLinear per tensor (QKV read the same x)
            outs = [f"{x}_{s}" for s in ("q", "scale", "zero")]
            new_nodes.append(helper.make_node("DynamicQuantizeLinear", [x], outs,
                                              name=f"{tag}_quantize_x"))
            quantized_x[x] = outs
        xq, xs, xz = quantized_x[x]
        wq, ws = quantize_weight(np.ascontiguousarray(weight, dtype=np.float32))
        new_inits += [numpy_helper.from_array(wq, f"{tag}_w_q"),
                      numpy_helper.from_array(ws, f"{tag}_w_scale"),
                      numpy_helper.from_array(np.zeros(wq.shape[1], np.int8), f"{tag}_w_zero")]
        new_nodes += [
            helper.make_node("MatMulInteger", [xq, f"{tag}_w_q", xz, f"{tag}_w_zero"],
                             [f"{tag}_int"], name=f"{tag}_matmul"),
            helper.make_node("Cast", [f"{tag}_int"], [f"{tag}_float"], to=TensorProto.FLOAT,
                             name=f"{tag}_cast"),
            helper.make_node("Mul", [xs, f"{tag}_w_scale"], [f"{tag}_scale"], name=f"{tag}_scale"),
            helper.make_node("Mul", [f"{tag}_float", f"{tag}_scale"],
                             [f"{tag}_y" if bias else y], name=f"{tag}_rescale"),
        ]
        if bias:
            new_nodes.append(helper.make_node("Add", [f"{tag}_y", bias], [y], name=f"{tag}_bias"))
        done += 1
    used = {i for n in new_nodes for i in n.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.node[:]
    graph.node.extend(new_nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept + new_inits)
    return done


def convert(src, dst):
    """src.onnx → dst.onnx in the int8 form; returns the number of rewritten layers."""
    require_onnx()
    model = onnx.load(src)
    n = rewrite(model)
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    return n


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[-1])
    try:
        print(f"{convert(sys.argv[1], sys.argv[2])} Linear layers rewritten into "
              "DynamicQuantizeLinear + MatMulInteger")
    except RuntimeError as e:
        sys.exit(f"onnx_int8.py: {e}")
