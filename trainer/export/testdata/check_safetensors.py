"""Reads an mbpo safetensors export with numpy alone and recomputes, in
float64, the deterministic action of the policy and the predicted mean and
log-variance of ensemble members for the inputs in a JSON file, which also
holds what mbpo's engine computed for them. Run by export_test.go:

    /usr/bin/python3 check_safetensors.py FILE.safetensors CASE.json

Prints one line per check and "overall ok"; exits 1 on the first failure.
"""
import json
import struct
import sys

import numpy as np


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    if (8 + n) % 8:
        fail(f"header of {n} bytes: data not 8-byte aligned")
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n :]
    dtypes = {"F32": "<f4", "I64": "<i8"}
    tensors, spans = {}, []
    for name, info in header.items():
        a, b = info["data_offsets"]
        arr = np.frombuffer(body[a:b], dtype=dtypes[info["dtype"]])
        tensors[name] = arr.reshape(info["shape"])
        spans.append((a, b))
    spans.sort()
    pos = 0
    for a, b in spans:  # the buffer is covered, without holes or overlaps
        if a != pos:
            fail(f"tensor data at byte {a}, expected {pos}")
        pos = b
    if pos != len(body):
        fail(f"tensors cover {pos} of {len(body)} data bytes")
    return tensors, meta


def mlp(t, prefix, x, hidden_act):
    n = 0
    while f"{prefix}.{n}.weight" in t:
        n += 1
    if n == 0:
        fail(f"no layers named {prefix}.N.weight")
    for i in range(n):
        w = t[f"{prefix}.{i}.weight"].astype(np.float64)  # [out, in]
        b = t[f"{prefix}.{i}.bias"].astype(np.float64)
        x = x @ w.T + b
        if i < n - 1:
            x = hidden_act(x)
    return x


def relu(x):
    return np.maximum(x, 0)


def swish(x):
    return x / (1 + np.exp(-x))


def softplus(x):
    return np.logaddexp(0, x)


def close(what, got, want, tol):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        fail(f"{what}: shape {got.shape}, mbpo's {want.shape}")
    err = np.max(np.abs(got - want) / np.maximum(1, np.abs(want)))
    if not err <= tol:
        fail(f"{what}: numpy and mbpo differ by {err:.3g} (relative), more than {tol}")
    print(f"ok {what}: {got.size} values agree within {err:.2g} (tolerance {tol})")


def main():
    t, meta = load(sys.argv[1])
    with open(sys.argv[2]) as f:
        case = json.load(f)
    tol = case["tol"]
    obs_dim, act_dim = int(meta["obs_dim"]), int(meta["act_dim"])
    if meta["format"] != "mbpo-networks/1" or meta["env"] != case["env"]:
        fail(f"metadata {meta['format']}, {meta['env']}")
    config = json.loads(meta["config"])
    if config["env"] != case["env"]:
        fail(f"config of env {config['env']}")
    print(f"ok metadata: {meta['env']}, obs {obs_dim}, act {act_dim}, {len(t)} tensors")

    obs = np.array(case["obs"], np.float64)
    out = mlp(t, "policy", obs, relu)
    if out.shape[1] != 2 * act_dim:
        fail(f"policy output of width {out.shape[1]}, want {2 * act_dim}")
    unit = np.tanh(out[:, :act_dim])
    close("policy unit action", unit, case["unit_action"], tol)
    low, high = t["action.low"].astype(np.float64), t["action.high"].astype(np.float64)
    close("policy env action", low + (unit + 1) / 2 * (high - low), case["action"], tol)

    x = np.concatenate([obs, np.array(case["unit_action"], np.float64)], axis=1)
    for q in ["q1", "q2", "q1_target", "q2_target"]:
        if mlp(t, q, x, relu).shape != (len(obs), 1):
            fail(f"{q} output shape")
    if t["log_alpha"].shape != (1,):
        fail("log_alpha shape")
    print("ok critics: four [obs, action] -> 1 networks, log_alpha")

    if not case["members"]:
        if any(k.startswith("model.") for k in t):
            fail("model tensors in the export of a run without a model")
        print("ok no model (a run without one)")
    else:
        mx = np.array(case["model_x"], np.float64)
        z = (mx - t["model.norm_mean"]) / t["model.norm_std"]
        out_dim = obs_dim + 1
        hi = t["model.max_logvar"].astype(np.float64)
        lo = t["model.min_logvar"].astype(np.float64)
        elites = t["model.elites"]
        if elites.dtype != np.int64 or list(elites) != case["elites"]:
            fail(f"elites {list(elites)}, mbpo's {case['elites']}")
        for m in case["members"]:
            head = mlp(t, f"model.{m['member']}", z, swish)
            mean, rho = head[:, :out_dim], head[:, out_dim:]
            logvar = hi - softplus(hi - rho)
            logvar = lo + softplus(logvar - lo)
            close(f"model member {m['member']} mean", mean, m["mean"], tol)
            close(f"model member {m['member']} logvar", logvar, m["logvar"], tol)
    print("overall ok")


main()
