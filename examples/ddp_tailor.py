"""Tailor on PyTorch DistributedDataParallel: the plan comes from libtailor, the training from
torch. Runs on CPU with the gloo backend over loopback, so it works anywhere:

    python examples/ddp_tailor.py --world-size 2 --algorithm remove --epochs 4 --every 1

Each rank builds the same ResNet-8 (torchvision layout, plain torch), takes a frozen teacher copy,
and trains with the KD loss on its own shard of data while ``SkipSchedule`` removes (or shortens)
one residual block every ``--every`` epochs. When the structure changes, the optimizer is rebuilt
(surviving parameters keep their momentum) and the model re-wrapped in DDP, which broadcasts
rank 0's weights. At the end each rank writes what it did to OUT/rank<r>.json: the epochs at which
blocks changed and a hash of its final weights, which must agree across ranks.

The data is random (the example shows the mechanics in seconds); bring a DataLoader with a
DistributedSampler for real work, and a trained model instead of the random one.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from tailor.torch import SkipSchedule, kd_loss


class BasicBlock(nn.Module):
    """torchvision's BasicBlock, written out (torchvision itself is not needed)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet8(nn.Module):
    """MLPerf Tiny ResNet-8 with torchvision's module names."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(BasicBlock(16, 16, 1))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2))
        self.layer3 = nn.Sequential(BasicBlock(32, 64, 2))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def weights_hash(model: nn.Module) -> str:
    """Hash of the trainable weights. (BatchNorm running statistics are per rank: DDP broadcasts
    rank 0's before each forward, and each rank's last forward updates its own.)"""
    h = hashlib.sha256()
    for k, v in sorted(model.named_parameters()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def worker(rank: int, args) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{args.port}", rank=rank, world_size=args.world_size)
    torch.manual_seed(0)                      # the same starting model on every rank
    model = ResNet8()
    sched = SkipSchedule(model, args.algorithm, input_shape=(3, 32, 32), every=args.every, epochs=args.epochs)
    teacher = sched.teacher
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    ddp = DDP(model)
    gen = torch.Generator().manual_seed(1000 + rank)   # each rank its own shard
    losses = []
    for epoch in range(sched.epochs):
        if sched.step(epoch):
            opt = sched.optimizer(opt)
            # Retire the old wrapper on every rank before building the new one (its reducer holds
            # hooks on parameters that may be gone).
            dist.barrier()
            del ddp
            ddp = DDP(model)
        for _ in range(args.steps):
            x = torch.randn(args.batch, 3, 32, 32, generator=gen)
            y = torch.randint(0, 10, (args.batch,), generator=gen)
            with torch.no_grad():
                t = teacher(x)
            loss = kd_loss(ddp(x), t, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        losses.append(loss.item())
        if rank == 0:
            print(f"epoch {epoch}: modes {sched.modes}, loss {losses[-1]:.4f}", flush=True)
    report = {"rank": rank, "changes": sched.history, "modes": sched.modes, "losses": losses,
              "weights": weights_hash(model), "params": sorted(model.state_dict())}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, f"rank{rank}.json"), "w") as f:
        json.dump(report, f)
    del ddp
    dist.barrier()
    dist.destroy_process_group()
    # Skip interpreter finalization: gloo's worker threads can still hold work objects whose
    # destruction during teardown aborts the process (pytorch/pytorch#179291 describes it).
    sys.stdout.flush()
    os._exit(0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--world-size", type=int, default=2)
    p.add_argument("--algorithm", choices=("remove", "shorten"), default="remove")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--every", type=int, default=1)
    p.add_argument("--steps", type=int, default=3, help="optimizer steps per epoch")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--out", default="ddp_tailor_out")
    args = p.parse_args(argv)
    args.port = free_port()
    mp.spawn(worker, args=(args,), nprocs=args.world_size, join=True)
    reports = []
    for r in range(args.world_size):
        with open(os.path.join(args.out, f"rank{r}.json")) as f:
            reports.append(json.load(f))
    same = all(r["weights"] == reports[0]["weights"] and r["changes"] == reports[0]["changes"] for r in reports)
    print(f"changes: {reports[0]['changes']}")
    print("ranks agree on the schedule and the final weights" if same else "RANKS DISAGREE")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
