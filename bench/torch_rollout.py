#!/usr/bin/env python3
"""torch_rollout.py: the branched model rollout of `mbpo bench rollout` in PyTorch, timed the same way.

The same networks and step: a tanh-Gaussian ReLU policy (obs -> 256 -> 256 -> 2*act), a random elite per
sample out of a 7-member swish ensemble (in = obs + act -> 4 x hidden -> 2 * (obs + 1)) with the input
normaliser and the soft-bounded log-variance head, a Gaussian sample of [delta s, r], the environment's
termination rule, the transitions written into a preallocated model buffer, finished samples dropped. The
members run batched with torch.baddbmm, every member on every live row (the usual PyTorch MBPO way), and
the chosen member's output is gathered. fp32 with TF32 off. As in the Go benchmark the mean head is zeroed,
so almost every rollout runs all k steps.

Timed like the Go benchmark: one warm-up round, then --reps rounds each between two CUDA events; the median
is reported. Modes: eager, and torch.compile of the per-step computation (dynamic shapes) when this PyTorch
has it (2.0 on) and it fits: with --time-limit (or $MBPO_STEP_LIMIT_S, which the device bundle's run.sh
sets), compile is skipped when its estimated time (--compile-overhead seconds of compiling plus the rounds
at the eager speed) would pass the limit, as for the Humanoid case on a short budget. The result says why a
mode was skipped (compile_skipped) or failed (compile_error).

Usage: python3 bench/torch_rollout.py [--obs 11 --act 3 --term hopper] [--batch N] [--k K] [--json FILE]
Writes the result to --json after each mode, so that a run stopped during compile keeps the eager figure,
and prints it as one JSON object on the last line of stdout. --device cpu runs the same code on the CPU
with the wall clock (--threads sets PyTorch's threads): the CPU peer of `mbpo bench rollout --device cpu`
(make bench-peers).
"""

import argparse
import sys

import peer


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--obs", type=int, default=11)
    ap.add_argument("--act", type=int, default=3)
    ap.add_argument("--term", default="hopper", choices=["hopper", "humanoid", "never"])
    ap.add_argument("--batch", type=int, default=100000)
    ap.add_argument("--k", type=int, default=15)
    ap.add_argument("--members", type=int, default=7)
    ap.add_argument("--elites", type=int, default=5)
    ap.add_argument("--model-hidden", type=int, default=200)
    ap.add_argument("--policy-hidden", type=int, default=256)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile mode")
    ap.add_argument("--compile-overhead", type=float, default=45.0,
                    help="seconds torch.compile is expected to take, for the --time-limit estimate")
    peer.add_common_args(ap)
    args = ap.parse_args()
    clock = peer.Clock(args.time_limit)

    torch = peer.load_torch("torch_rollout", args.device, args.threads)
    if torch is None:
        return 3
    import torch.nn.functional as F

    cuda = args.device == "cuda"
    dev = torch.device(args.device)
    g = torch.Generator(device=dev).manual_seed(1)
    O, A, E, n, k = args.obs, args.act, args.members, args.batch, args.k
    d_in, out = O + A, O + 1

    def randn(*shape, std=1.0):
        return torch.randn(*shape, device=dev, generator=g, dtype=torch.float32) * std

    # Policy: Glorot-like weights, zero biases.
    psizes = [O, args.policy_hidden, args.policy_hidden, 2 * A]
    pw = [randn(a, b, std=(2.0 / (a + b)) ** 0.5) for a, b in zip(psizes[:-1], psizes[1:])]
    pb = [torch.zeros(b, device=dev) for b in psizes[1:]]
    # Ensemble: [E][K][N] weights, std 1/(2 sqrt(fan_in)); mean head zeroed; bounds 0.5 / -10 -> -10 / -10.
    msizes = [d_in] + [args.model_hidden] * 4 + [2 * out]
    mw = [randn(E, a, b, std=0.5 / a**0.5) for a, b in zip(msizes[:-1], msizes[1:])]
    mw[-1][:, :, :out] = 0
    mb = [torch.zeros(E, 1, b, device=dev) for b in msizes[1:]]
    max_lv = torch.full((out,), -10.0, device=dev)
    min_lv = torch.full((out,), -10.0, device=dev)
    mu = randn(d_in, std=0.1)
    inv_std = 1.0 / (0.5 + torch.rand(d_in, device=dev, generator=g))
    elites = torch.arange(args.elites, device=dev)

    # Start states: healthy (Hopper's z about 1.25, angle about 0), the rest small.
    real = randn(20000, O, std=0.1)
    real[:, 0] += 1.25

    def policy_act(s):
        h = s
        for i, (w, b) in enumerate(zip(pw, pb)):
            h = torch.addmm(b, h, w)
            if i + 1 < len(pw):
                h = F.relu(h)
        mean, log_std = h[:, :A], h[:, A:].clamp(-20.0, 2.0)
        return torch.tanh(mean + log_std.exp() * torch.randn_like(mean))

    def model_step(s, a, member):
        x = torch.cat([s, a], dim=1)
        z = ((x - mu) * inv_std).expand(E, -1, -1)
        h = z
        for i, (w, b) in enumerate(zip(mw, mb)):
            h = torch.baddbmm(b, h, w)
            if i + 1 < len(mw):
                h = F.silu(h)
        rows = torch.arange(s.shape[0], device=dev)
        h = h[member, rows]  # each row's elite
        mean = h[:, :out]
        lv = max_lv - F.softplus(max_lv - h[:, out:])
        lv = min_lv + F.softplus(lv - min_lv)
        v = mean + (0.5 * lv).exp() * torch.randn_like(mean)
        nxt = s + v[:, :O]
        return nxt, v[:, O]

    def terminal(nxt):
        finite = torch.isfinite(nxt).all(dim=1)
        if args.term == "hopper":
            z, ang = nxt[:, 0], nxt[:, 1]
            ok = (z > 0.7) & (ang > -0.2) & (ang < 0.2) & (nxt[:, 1:].abs() < 100).all(dim=1)
            return ~ok
        if args.term == "humanoid":
            z = nxt[:, 0]
            return ~((z > 1.0) & (z < 2.0) & finite)
        return torch.zeros_like(finite)

    def step(s, member):
        a = policy_act(s)
        nxt, r = model_step(s, a, member)
        return a, nxt, r, terminal(nxt)

    buf_obs = torch.empty(n * k, O, device=dev)
    buf_act = torch.empty(n * k, A, device=dev)
    buf_rew = torch.empty(n * k, device=dev)
    buf_next = torch.empty(n * k, O, device=dev)
    buf_done = torch.empty(n * k, device=dev)

    def round_(step_fn):
        s = real[torch.randint(0, real.shape[0], (n,), device=dev, generator=g)]
        pos, steps = 0, 0
        for _ in range(k):
            m = s.shape[0]
            if m == 0:
                break
            member = elites[torch.randint(0, elites.shape[0], (m,), device=dev, generator=g)]
            a, nxt, r, done = step_fn(s, member)
            buf_obs[pos:pos + m] = s
            buf_act[pos:pos + m] = a
            buf_rew[pos:pos + m] = r
            buf_next[pos:pos + m] = nxt
            buf_done[pos:pos + m] = done.float()
            pos += m
            steps += m
            s = nxt[~done]
        return steps

    def timed(step_fn):
        """One warm-up round, then reps rounds; returns the median round in ms and the steps of a round."""
        with torch.no_grad():
            steps = round_(step_fn)
            if cuda:
                torch.cuda.synchronize()
            times = []
            for _ in range(args.reps):
                ms, steps = peer.timed_ms(torch, cuda, lambda: round_(step_fn))
                times.append(ms)
        return sorted(times)[len(times) // 2], steps

    flops_per_step = 2.0 * (sum(a * b for a, b in zip(psizes[:-1], psizes[1:])) + sum(a * b for a, b in zip(msizes[:-1], msizes[1:])))
    res = {
        **peer.header(torch, cuda),
        "obs": O, "act": A, "term": args.term, "batch": n, "k": k, "members": E, "elites": args.elites,
        "model_hidden": args.model_hidden, "policy_hidden": args.policy_hidden,
        "flops_per_step": flops_per_step,
        "note": "every member runs on every live row (baddbmm), the elite's output is gathered",
    }
    ms, steps = timed(step)
    res.update({"eager_round_ms": ms, "steps_per_round": steps, "eager_model_steps_per_sec": steps / (ms / 1e3)})
    res["model_steps_per_sec"] = res["eager_model_steps_per_sec"]
    res["mode"] = "eager"
    res["gflops"] = res["model_steps_per_sec"] * flops_per_step / 1e9
    peer.save(res, args.json)  # the eager figure is kept whatever compile does
    # Compiling, a warm-up round and the timed rounds, at the eager speed at best.
    need = args.compile_overhead + (args.reps + 1) * ms / 1e3
    if args.no_compile:
        res["compile_skipped"] = "--no-compile"
    elif not peer.has_compile(torch):
        res["compile_skipped"] = f"PyTorch {torch.__version__} has no torch.compile"
    elif not clock.fits(need):
        res["compile_skipped"] = (f"would not fit: about {need:.0f} s needed after {clock.elapsed():.0f} s,"
                                  f" limit {clock.limit:.0f} s")
    else:
        try:
            compiled = torch.compile(step, dynamic=True)
            cms, csteps = timed(compiled)
            res.update({"compile_round_ms": cms, "compile_model_steps_per_sec": csteps / (cms / 1e3)})
            if res["compile_model_steps_per_sec"] > res["model_steps_per_sec"]:
                res["model_steps_per_sec"], res["mode"] = res["compile_model_steps_per_sec"], "compile"
        except Exception as e:  # torch.compile is best effort: record why it did not run
            res["compile_error"] = f"{type(e).__name__}: {str(e)[:300]}"
    res["gflops"] = res["model_steps_per_sec"] * flops_per_step / 1e9
    res["seconds"] = clock.elapsed()
    peer.emit(res, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
