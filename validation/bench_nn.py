"""Benchmark: the time of one grow-then-prune unit against the time of its training epochs alone.

The harness overhead of ``dcpredict.nn.grow_prune`` (data loading, model construction, the four evaluations
on train and test, pruning, the mask bookkeeping during retraining, the resumable log with fsync, result
assembly) is measured as a ratio against a plain PyTorch loop that runs the same number of optimizer steps
on the same model and data (epochs + 2 x retrain epochs, same batch size, Adam, no masks, no evaluation).
Both in the same process, one torch thread, interleaved, median of repeats (the machine is shared: ratios
of medians measured together are what is reported).

    PYTHONPATH=. python validation/bench_nn.py [--repeats 5] [--epochs 30] [--width 64]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time


def plain_loop(torch, D, width: int, epochs: int, batch: int) -> float:
    from dcpredict.nn.models import build_model
    X, y = torch.as_tensor(D.X_train), torch.as_tensor(D.y_train)
    torch.manual_seed(0)
    net = build_model("mlp", width, D.input_shape, D.classes)
    t0 = time.perf_counter()
    for _phase in range(3):
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(0)
        for _ in range(epochs):
            perm = torch.randperm(X.shape[0], generator=gen)
            for i in range(0, X.shape[0], batch):
                idx = perm[i:i + batch]
                loss = torch.nn.functional.cross_entropy(net(X[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    a = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    from dcpredict.nn import grow_prune, load_data
    D = load_data("digits")
    kw = dict(widths=[a.width], s=500, epochs=a.epochs, batch_size=a.batch, seeds=1, progress=False, device="cpu")
    grow_prune(D, **kw)                                   # warm-up (imports, first allocations)
    plain_loop(torch, D, a.width, a.epochs, a.batch)
    unit, loops, plain, total = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.repeats):
            t0 = time.perf_counter()
            res = grow_prune(D, out=os.path.join(tmp, f"log{r}.jsonl"), **kw)
            total.append(time.perf_counter() - t0)
            unit.append(res.timings[0]["unit_seconds"])
            loops.append(res.timings[0]["train_seconds"])
            plain.append(plain_loop(torch, D, a.width, a.epochs, a.batch))
    med = statistics.median
    print(f"digits, mlp width {a.width}, {D.n_train} training images, batch {a.batch}, "
          f"{a.epochs} + 2 x {a.epochs} epochs, Adam, 1 torch thread, {a.repeats} repeats (medians)")
    print(f"  grow_prune call (log, assembly)    {med(total):8.3f} s")
    print(f"  unit (inside the worker)           {med(unit):8.3f} s")
    print(f"  its training loops (masked)        {med(loops):8.3f} s")
    print(f"  plain torch loop, same steps       {med(plain):8.3f} s")
    print(f"  ratio call / plain loop            {med(total) / med(plain):8.3f}")
    print(f"  ratio unit / its training loops    {med(unit) / med(loops):8.3f}")
    print(f"  ratio masked loops / plain loop    {med(loops) / med(plain):8.3f}")


if __name__ == "__main__":
    main()
