#!/usr/bin/env python3
"""The PyTorch peer of bench/engine: trains a NetIR the way a PyTorch user would.

Same libtorch (bench/engine.ts runs it under the Python whose torch the
addon was built against, and checks it), same thread count, batch size,
optimizer and augmentation work (pad 4 + random crop, horizontal flip,
per-channel standardization, done with vectorized torch ops on a uint8
tensor held in memory). With "compile": true the model is torch.compile'd
(inductor); the compile happens in the warm-up, whose time is reported.

usage: peer_torch.py <job.json>   (job: {net, images, labels, n, threads,
       warmup, steps, batch, precision, memory_format, compile, device})
       -> prints one JSON line. On a GPU the images live there and batches
       are made there, as evonas does.
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class IRNet(nn.Module):
    def __init__(self, ir):
        super().__init__()
        self.nodes = ir["nodes"]
        self.mods = nn.ModuleDict()
        shapes = {"input": (ir["input"]["channels"], ir["input"]["height"], ir["input"]["width"])}
        for n in self.nodes:
            op, x = n["op"], shapes[n["inputs"][0]]
            if op == "conv2d":
                kh, kw = n["kernel"]
                s = n.get("stride", 1)
                s = (s, s) if isinstance(s, int) else tuple(s)
                pad = tuple(n.get("padding", [(kh - 1) // 2, (kw - 1) // 2]))
                m = nn.Conv2d(x[0], n["channels"], (kh, kw), s, pad, bias=bool(n.get("bias", False)))
                h = (x[1] + 2 * pad[0] - kh) // s[0] + 1
                w = (x[2] + 2 * pad[1] - kw) // s[1] + 1
                out = (n["channels"], h, w)
            elif op == "batchnorm":
                m, out = nn.BatchNorm2d(x[0]), x
            elif op in ("maxpool", "avgpool"):
                k = tuple(n["kernel"])
                s = n.get("stride", 1)
                s = (s, s) if isinstance(s, int) else tuple(s)
                p = tuple(n.get("padding", [0, 0]))
                m = nn.MaxPool2d(k, s, p) if op == "maxpool" else nn.AvgPool2d(k, s, p, count_include_pad=False)
                out = (x[0], (x[1] + 2 * p[0] - k[0]) // s[0] + 1, (x[2] + 2 * p[1] - k[1]) // s[1] + 1)
            elif op == "globalavgpool":
                m, out = None, (x[0],)
            elif op == "dense":
                fin = 1
                for d in x:
                    fin *= d
                m, out = nn.Linear(fin, n["units"], bias=n.get("bias", True) is not False), (n["units"],)
            elif op == "dropout":
                m, out = nn.Dropout(n["rate"]), x
            else:  # relu, add
                m, out = None, x
            if m is not None:
                self.mods[n["id"]] = m
            shapes[n["id"]] = out

    def forward(self, x):
        vals = {"input": x}
        for n in self.nodes:
            op, a = n["op"], vals[n["inputs"][0]]
            if op == "relu":
                y = F.relu(a)
            elif op == "add":
                y = a
                for other in n["inputs"][1:]:
                    t = vals[other]
                    if t.shape[2:] != a.shape[2:]:
                        t = F.interpolate(t, size=a.shape[2:], mode="nearest")
                    if t.shape[1] > a.shape[1]:
                        t = t[:, : a.shape[1]]
                    elif t.shape[1] < a.shape[1]:
                        t = F.pad(t, (0, 0, 0, 0, 0, a.shape[1] - t.shape[1]))
                    y = y + t
            elif op == "globalavgpool":
                y = a.mean((2, 3))
            elif op == "dense":
                y = self.mods[n["id"]](a.flatten(1))
            else:
                y = self.mods[n["id"]](a)
            vals[n["id"]] = y
        return y


def main():
    job = json.load(open(sys.argv[1]))
    torch.set_num_threads(job["threads"])
    torch.manual_seed(0)
    device = torch.device(job.get("device", "cpu"))
    n, h, w, c = job["n"], 32, 32, 3
    images = torch.frombuffer(bytearray(open(job["images"], "rb").read()), dtype=torch.uint8).view(n, h, w, c)
    labels = torch.frombuffer(bytearray(open(job["labels"], "rb").read()), dtype=torch.int32).long()
    images, labels = images.to(device), labels.to(device)
    fmt = torch.channels_last if job["memory_format"] == "channels_last" else torch.contiguous_format
    model = IRNet(job["net"]).to(device=device, memory_format=fmt)
    model.train()
    net = torch.compile(model) if job.get("compile") else model
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    x_all = images.float().div_(255)
    mean = x_all.mean((0, 1, 2)).view(1, c, 1, 1)
    std = x_all.std((0, 1, 2)).view(1, c, 1, 1)
    del x_all
    batch = job["batch"]
    span = torch.arange(h, device=device)
    ci = torch.arange(c, device=device).view(1, c, 1, 1)
    bf16 = job["precision"] == "bf16"

    def make_batch():
        idx = torch.randint(0, n, (batch,), device=device)
        x = images[idx].permute(0, 3, 1, 2).float().div_(255).sub_(mean).div_(std)
        x = F.pad(x, (4, 4, 4, 4))
        dy = torch.randint(0, 9, (batch,), device=device)
        dx = torch.randint(0, 9, (batch,), device=device)
        rows = (dy.view(-1, 1) + span).view(batch, 1, h, 1)
        cols = (dx.view(-1, 1) + span).view(batch, 1, 1, w)
        x = x[torch.arange(batch, device=device).view(-1, 1, 1, 1), ci, rows, cols]
        flip = torch.rand(batch, device=device) < 0.5
        x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
        return x.contiguous(memory_format=fmt), labels[idx]

    def step():
        x, y = make_batch()
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            out = net(x)
            loss = F.cross_entropy(out.float(), y)
        loss.backward()
        opt.step()
        correct = (out.argmax(1) == y).sum().item()
        return loss.item(), correct

    t0 = time.perf_counter()
    for _ in range(job["warmup"]):
        step()
    warmup_secs = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(job["steps"]):
        loss, _ = step()  # item() waits for the GPU each step, as evonas's loop does
    secs = time.perf_counter() - t0
    print(json.dumps({"seconds": secs, "images_per_s": job["steps"] * batch / secs, "loss": loss,
                      "warmup_seconds": warmup_secs, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
