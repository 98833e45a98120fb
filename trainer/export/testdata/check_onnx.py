"""Checks an mbpo ONNX policy with Debian's python3-onnx: the checker (full),
strict shape inference, the opset, and a small reference evaluation of the
graph in numpy (float64) for the inputs of a JSON file, against the actions
mbpo computed for them. Run by export_test.go:

    /usr/bin/python3 check_onnx.py policy.onnx CASE.json

Prints one line per check and "overall ok"; exits 1 on the first failure.
"""
import json
import sys

import numpy as np
import onnx
from onnx import checker, helper, numpy_helper, shape_inference


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def evaluate(graph, feeds):
    """Runs the graph's nodes in order (ONNX graphs are topologically sorted)."""
    vals = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in graph.initializer}
    vals.update(feeds)
    for node in graph.node:
        x = [vals[i] for i in node.input]
        a = {at.name: helper.get_attribute_value(at) for at in node.attribute}
        op = node.op_type
        if op == "Gemm":
            A = x[0].T if a.get("transA", 0) else x[0]
            B = x[1].T if a.get("transB", 0) else x[1]
            y = a.get("alpha", 1.0) * (A @ B)
            if len(x) > 2:
                y = y + a.get("beta", 1.0) * x[2]
        elif op == "Relu":
            y = np.maximum(x[0], 0)
        elif op == "Tanh":
            y = np.tanh(x[0])
        elif op == "Mul":
            y = x[0] * x[1]
        elif op == "Add":
            y = x[0] + x[1]
        else:
            fail(f"operator {op} has no reference here")
        vals[node.output[0]] = y
    return vals


def main():
    model = onnx.load(sys.argv[1])
    with open(sys.argv[2]) as f:
        case = json.load(f)
    checker.check_model(model, full_check=True)
    print(f"ok checker (onnx {onnx.__version__}), IR version {model.ir_version}")
    opsets = {o.domain: o.version for o in model.opset_import}
    if opsets != {"": case["opset"]}:
        fail(f"opsets {opsets}, want {{'': {case['opset']}}}")
    inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    g = inferred.graph
    obs_dim, act_dim = len(case["obs"][0]), len(case["action"][0])
    if [i.name for i in g.input] != ["obs"] or dims(g.input[0]) != ["N", obs_dim]:
        fail(f"inputs {[(i.name, dims(i)) for i in g.input]}")
    if [o.name for o in g.output] != ["action"] or dims(g.output[0]) != ["N", act_dim]:
        fail(f"outputs {[(o.name, dims(o)) for o in g.output]}")
    for vi in g.value_info:  # every intermediate has a shape [N, width]
        d = dims(vi)
        if len(d) != 2 or d[0] != "N" or not isinstance(d[1], int):
            fail(f"inferred shape of {vi.name}: {d}")
    print(f"ok shape inference: obs [N, {obs_dim}] -> action [N, {act_dim}], {len(g.value_info)} intermediates, opset {case['opset']}")
    out = evaluate(model.graph, {"obs": np.array(case["obs"], np.float64)})["action"]
    want = np.array(case["action"], np.float64)
    err = np.max(np.abs(out - want) / np.maximum(1, np.abs(want)))
    if not err <= case["tol"]:
        fail(f"reference evaluation and mbpo differ by {err:.3g}, more than {case['tol']}")
    print(f"ok reference evaluation: {out.size} actions agree within {err:.2g} (tolerance {case['tol']})")
    print("overall ok")


main()
