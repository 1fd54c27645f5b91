"""What the machine's cores can give a sweep: fwd+bwd throughput of the benchmark's model with 1 thread,
2 threads, and two 1-thread processes at once. If torch already turns 2 threads into most of 2 cores,
no launcher can add much to compute-bound runs; this row says so with numbers instead of a guess.
2 threads are also measured channels_last (NHWC): same math, different float rounding, so it bounds
the opt-in `trainer.channels_last`, while the NCHW figure bounds an engine with bitwise-identical results.

Run as `python -m benchmark.bench.ceiling --threads T --seconds S [--channels-last]`; prints one JSON
line {"images_per_s": ...}. `measure()` runs the four configurations one after another.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


def throughput(model_name: str, size: int, batch: int, threads: int, seconds: float, channels_last: bool) -> float:
    """Images/s of AdamW fwd+bwd steps on random (batch, 3, size, size) inputs, after 2 warm-up steps."""
    import torch
    import torch.nn.functional as F

    from benchmark.train.models import create_backbone

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = create_backbone(model_name, 6, pretrained=True).train()
    x, y = torch.rand(batch, 3, size, size), torch.randint(0, 6, (batch,))
    if channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(), step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += batch
    return n / (time.perf_counter() - t0)


def _cmd(p: dict, threads: int, channels_last: bool = False) -> list[str]:
    return [sys.executable, "-m", "benchmark.bench.ceiling", "--model", p.get("model", "tf_efficientnet_lite0"),
            "--size", str(p["image_size"]), "--batch", str(p["batch_size"]), "--threads", str(threads),
            "--seconds", str(p.get("ceiling_s", 10)), *(["--channels-last"] if channels_last else [])]


def measure(p: dict) -> dict:
    """{1 thread, 2 threads (NCHW and NHWC), 2 x 1-thread processes} in images/s, and the ceilings they imply."""
    def run(procs: int, threads: int, channels_last: bool = False) -> float:
        cmd = _cmd(p, threads, channels_last)
        ps = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(procs)]
        outs = [q.communicate()[0] for q in ps]
        if any(q.returncode for q in ps):
            raise RuntimeError(f"benchmark.bench.ceiling failed: {' '.join(cmd)}")
        return sum(json.loads(o.strip().splitlines()[-1])["images_per_s"] for o in outs)

    one, two_threads, two_procs = run(1, 1), run(1, 2), run(2, 1)
    two_nhwc = run(1, 2, channels_last=True)
    return {"img_s_1_thread": round(one, 1), "img_s_2_threads": round(two_threads, 1),
            "img_s_2_threads_channels_last": round(two_nhwc, 1), "img_s_2_procs_x_1_thread": round(two_procs, 1),
            "thread_scaling": round(two_threads / one, 2),
            "max_joblib_speedup_compute_bound": round(two_procs / two_threads, 2)}


def main() -> None:
    a = argparse.ArgumentParser()
    a.add_argument("--model", default="tf_efficientnet_lite0")
    a.add_argument("--size", type=int, default=96)
    a.add_argument("--batch", type=int, default=32)
    a.add_argument("--threads", type=int, default=1)
    a.add_argument("--seconds", type=float, default=10)
    a.add_argument("--channels-last", action="store_true")
    args = a.parse_args()
    ips = throughput(args.model, args.size, args.batch, args.threads, args.seconds, args.channels_last)
    print(json.dumps({"images_per_s": ips}))


if __name__ == "__main__":
    main()
