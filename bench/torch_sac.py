#!/usr/bin/env python3
"""torch_sac.py: the SAC update of `mbpo bench sac` in PyTorch, timed the same way.

The same networks and update as the Go engines (engine/engine.go): a tanh-Gaussian ReLU policy
obs -> 256 -> 256 -> 2*act (log sigma clipped to [-20, 2]), twin ReLU critics obs+act -> 256 -> 256 -> 1
with Polyak-averaged targets (tau 5e-3), a learned temperature, gamma 0.99, Adam at 3e-4 for all four, on
minibatches of 256 rows drawn on the GPU from a buffer of random transitions. One update: TD target with the
target critics and the policy at s', both critic losses and their Adam steps, the targets' update, the
actor loss under the updated critics and its Adam step, the temperature loss and its step. fp32, TF32 off.

Modes: eager; CUDA graphs (G updates captured once and replayed, Adam with capturable=True), when capture
works. Timed with CUDA events after warm-up updates; updates/s of each mode. The targets' Polyak update is
one torch._foreach_lerp_ where PyTorch has it (2.0 on), else peer.lerp_'s fallback.

Usage: python3 bench/torch_sac.py [--obs 11 --act 3] [--updates N] [--g 20] [--json FILE]
Writes the result to --json after each mode and prints it as one JSON object on the last line of stdout.
--device cpu runs the eager mode on the CPU with the wall clock (--threads sets PyTorch's threads): the CPU
peer of `mbpo bench sac --device cpu` (make bench-peers). --autocast bf16 runs the forward passes and losses
under torch.autocast with bfloat16 (on the CPU: oneDNN's bf16 matmul; its Linear outputs, and the element-wise
work that follows them, are bf16), the peer of `mbpo bench sac --precision bf16`.
"""

import argparse
import contextlib
import sys

import peer


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--obs", type=int, default=11)
    ap.add_argument("--act", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--updates", type=int, default=2000)
    ap.add_argument("--g", type=int, default=20, help="updates per captured graph")
    ap.add_argument("--autocast", default="none", choices=["none", "bf16"],
                    help="bf16: forward passes and losses under torch.autocast(dtype=torch.bfloat16)")
    peer.add_common_args(ap)
    args = ap.parse_args()

    torch = peer.load_torch("torch_sac", args.device, args.threads)
    if torch is None:
        return 3
    import torch.nn as nn
    import torch.nn.functional as F

    cuda = args.device == "cuda"
    dev = torch.device(args.device)

    def ac():
        """The autocast region of --autocast, or none."""
        if args.autocast == "bf16":
            return torch.autocast(device_type=args.device, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    torch.manual_seed(1)
    O, A, H, B = args.obs, args.act, args.hidden, args.batch

    def mlp(i, o):
        net = nn.Sequential(nn.Linear(i, H), nn.ReLU(), nn.Linear(H, H), nn.ReLU(), nn.Linear(H, o)).to(dev)
        for m in net:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        return net

    def build():
        policy, q1, q2 = mlp(O, 2 * A), mlp(O + A, 1), mlp(O + A, 1)
        q1t, q2t = mlp(O + A, 1), mlp(O + A, 1)
        q1t.load_state_dict(q1.state_dict())
        q2t.load_state_dict(q2.state_dict())
        log_alpha = torch.zeros(1, device=dev, requires_grad=True)
        return policy, q1, q2, q1t, q2t, log_alpha

    N = 20000
    buf = {
        "obs": torch.randn(N, O, device=dev), "act": torch.rand(N, A, device=dev) * 2 - 1,
        "rew": torch.randn(N, device=dev), "next": torch.randn(N, O, device=dev),
        "done": (torch.rand(N, device=dev) < 0.1).float(),
    }
    gamma, tau, target_entropy = 0.99, 5e-3, -float(A)
    half_log_2pi = 0.9189385332046727

    def sample(policy, s):
        h = policy(s)
        mean, log_std = h[:, :A], h[:, A:].clamp(-20.0, 2.0)
        eps = torch.randn_like(mean)
        u = mean + log_std.exp() * eps
        a = torch.tanh(u)
        log_sech2 = 2.0 * (0.6931471805599453 - u - F.softplus(-2.0 * u))
        logp = (-0.5 * eps * eps - log_std - half_log_2pi - log_sech2).sum(dim=1)
        return a, logp

    def make_update(nets, capturable):
        policy, q1, q2, q1t, q2t, log_alpha = nets
        kw = {"lr": 3e-4, "capturable": capturable} if capturable else {"lr": 3e-4}
        opt_q = torch.optim.Adam(list(q1.parameters()) + list(q2.parameters()), **kw)
        opt_pi = torch.optim.Adam(policy.parameters(), **kw)
        opt_a = torch.optim.Adam([log_alpha], **kw)
        qparams = list(q1.parameters()) + list(q2.parameters())
        tparams = list(q1t.parameters()) + list(q2t.parameters())

        def update():
            idx = torch.randint(0, N, (B,), device=dev)
            s, a, r, s2, d = buf["obs"][idx], buf["act"][idx], buf["rew"][idx], buf["next"][idx], buf["done"][idx]
            alpha = log_alpha.detach().exp()
            with torch.no_grad(), ac():
                a2, logp2 = sample(policy, s2)
                x2 = torch.cat([s2, a2], 1)
                qt = torch.min(q1t(x2), q2t(x2)).squeeze(1)
                y = r + gamma * (1 - d) * (qt - alpha * logp2)
            x = torch.cat([s, a], 1)
            with ac():
                loss_q = 0.5 * ((q1(x).squeeze(1) - y) ** 2).mean() + 0.5 * ((q2(x).squeeze(1) - y) ** 2).mean()
            opt_q.zero_grad(set_to_none=False)
            loss_q.backward()
            opt_q.step()
            with torch.no_grad():
                peer.lerp_(torch, tparams, qparams, tau)
            with ac():
                a_pi, logp = sample(policy, s)
                x_pi = torch.cat([s, a_pi], 1)
                q_pi = torch.min(q1(x_pi), q2(x_pi)).squeeze(1)
                loss_pi = (alpha * logp - q_pi).mean()
            opt_pi.zero_grad(set_to_none=False)
            loss_pi.backward()
            opt_pi.step()
            loss_a = -(log_alpha * (logp.detach().float() + target_entropy)).mean()
            opt_a.zero_grad(set_to_none=False)
            loss_a.backward()
            opt_a.step()
            return loss_q

        return update, (q1, q2)

    def timed(run, n_calls, per_call):
        """Times n_calls calls of run (each per_call updates) after 3 warm-up calls; returns updates/s."""
        for _ in range(3):
            run()
        if cuda:
            torch.cuda.synchronize()

        def calls():
            for _ in range(n_calls):
                run()

        ms, _ = peer.timed_ms(torch, cuda, calls)
        return n_calls * per_call / (ms / 1e3)

    res = {
        **peer.header(torch, cuda), "obs": O, "act": A, "hidden": H, "batch": B, "updates": args.updates, "g": args.g,
        "autocast": args.autocast,
    }
    update, _ = make_update(build(), capturable=False)
    # Zero grads exist after the first step; the first calls are warm-ups.
    res["eager_updates_per_sec"] = timed(update, args.updates, 1)
    res["updates_per_sec"], res["mode"] = res["eager_updates_per_sec"], "eager"
    peer.save(res, args.json)  # the eager figure is kept whatever capture does
    if cuda:
        try:
            update_g, _ = make_update(build(), capturable=True)
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):  # warm-up on a side stream, as capture requires
                    update_g()
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                for _ in range(args.g):
                    update_g()
            calls = max(1, args.updates // args.g)
            res["graph_updates_per_sec"] = timed(graph.replay, calls, args.g)
            if res["graph_updates_per_sec"] > res["updates_per_sec"]:
                res["updates_per_sec"], res["mode"] = res["graph_updates_per_sec"], "cuda graphs"
        except Exception as e:  # capture is best effort: record why it did not work
            res["graph_error"] = f"{type(e).__name__}: {str(e)[:300]}"
    peer.emit(res, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
