#!/usr/bin/env python3
"""Makes the PyTorch files of torch-names.test (run by hand; the tests need no PyTorch):

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install numpy torch torchvision pillow
    /tmp/peers/bin/python make_torch_files.py [OUT_DIR]

- resnet18.txt, resnet50.txt: torchvision's state_dict (name, dtype, shape per line);
  lenet.txt: the state_dict of `LeNet` below, models/lenet.kiln in torch.nn; small.txt: `Small`'s.
- small.safetensors: the state_dict of `Small` below (small.kiln in torch.nn) with seeded random
  weights and batch-norm statistics, num_batches_tracked included; small.x.npy four inputs and
  small.y.npy the module's logits for them in eval mode.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.fc1 = nn.Linear(800, 500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x):
        x = nn.functional.avg_pool2d(torch.tanh(self.conv1(x)), 2, 2)
        x = nn.functional.avg_pool2d(torch.tanh(self.conv2(x)), 2, 2)
        return self.fc2(torch.tanh(self.fc1(x.flatten(1))))


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 4, 3, stride=2, padding=1)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = nn.functional.leaky_relu(self.conv2(x), 0.1)
        return self.fc(x.flatten(1))


def write_names(module, path):
    with open(path, "w") as f:
        for name, tensor in module.state_dict().items():
            dtype = str(tensor.dtype).replace("torch.", "")
            f.write(f"{name} {dtype} {'x'.join(map(str, tensor.shape))}\n")


def write_safetensors(state, path):
    dtypes = {torch.float32: "F32", torch.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for name, tensor in state.items():
        data = tensor.detach().contiguous().numpy().tobytes()
        header[name] = {"dtype": dtypes[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main(out):
    import torchvision

    torch.manual_seed(0)
    write_names(torchvision.models.resnet18(), os.path.join(out, "resnet18.txt"))
    write_names(torchvision.models.resnet50(), os.path.join(out, "resnet50.txt"))
    write_names(LeNet(), os.path.join(out, "lenet.txt"))

    small = Small()
    write_names(small, os.path.join(out, "small.txt"))
    with torch.no_grad():  # statistics that are not the defaults, so loading them matters
        small.bn1.running_mean.uniform_(-0.5, 0.5)
        small.bn1.running_var.uniform_(0.5, 2.0)
        small.bn1.weight.uniform_(0.5, 1.5)
        small.bn1.bias.uniform_(-0.5, 0.5)
        small.bn1.num_batches_tracked.fill_(7)
    small.eval()
    write_safetensors(small.state_dict(), os.path.join(out, "small.safetensors"))
    x = torch.rand(4, 3, 8, 8) * 2 - 1
    np.save(os.path.join(out, "small.x.npy"), x.numpy())
    with torch.no_grad():
        np.save(os.path.join(out, "small.y.npy"), small(x).numpy())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
