#!/usr/bin/env python3
"""Writes the ONNX files the ONNX frontend's tests read (committed beside this script; the
tests never run it, nor need PyTorch or a package from the Python registry).

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install numpy onnx onnxscript onnxruntime torch
    /tmp/peers/bin/python tests/lit/frontend/Inputs/onnx/make_models.py tests/lit/frontend/Inputs/onnx

- lenet.onnx: the lecture's LeNet (models/lenet.kiln) in PyTorch, exported by torch.onnx.export
  (opset 18, batch dynamic, weights inside the file); lenet.x.npy two input images and
  lenet.y.npy ONNX Runtime's logits for them.
- tinyresnet.onnx: ResNet-18's pattern in small (stem, max pooling, a basic and a strided block,
  adaptive pooling, classifier), exported and checked the same way.
- zoo.onnx: one of each op the importer maps (Clip with a Constant and an initializer as its
  bounds; Mul, Sub, Div and Add broadcasting constants of [6, 1, 1], a scalar and [5]), made with onnx.helper (opset 13); zoo.x.npy three
  inputs and zoo.y.npy ONNX Runtime's outputs.
- the rest: small graphs made with onnx.helper, each broken in one way (or several, for the
  list of unsupported ops) for the importer's error tests.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper


def lenet(out):
    import onnxruntime
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 20, 5), torch.nn.Tanh(), torch.nn.AvgPool2d(2),
        torch.nn.Conv2d(20, 50, 5), torch.nn.Tanh(), torch.nn.AvgPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(800, 500), torch.nn.Tanh(), torch.nn.Linear(500, 10),
    ).eval()
    x = torch.rand(2, 1, 28, 28)
    path = os.path.join(out, "lenet.onnx")
    batch = torch.export.Dim("batch", min=1, max=1024)
    torch.onnx.export(model, (x,), path, opset_version=18, dynamo=True, external_data=False,
                      input_names=["data"], output_names=["logits"],
                      dynamic_shapes={"input": {0: batch}})
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    y = session.run(None, {"data": x.numpy()})[0]
    np.save(os.path.join(out, "lenet.x.npy"), x.numpy())
    np.save(os.path.join(out, "lenet.y.npy"), y)


def tinyresnet(out):
    """ResNet-18's pattern in small (torchvision's names): a 7×7/2 stem with batch norm and
    max pooling, a basic block, a strided block with a 1×1 downsample, adaptive average
    pooling and the classifier; exported as LeNet is, with ONNX Runtime's outputs."""
    import onnxruntime
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                nn.BatchNorm2d(cout))

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return torch.relu(y + (x if self.downsample is None else self.downsample(x)))

    class TinyResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            self.layer1 = Block(8, 8, 1)
            self.layer2 = Block(8, 16, 2)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
            x = self.layer2(self.layer1(x))
            return self.fc(self.avgpool(x).flatten(1))

    torch.manual_seed(0)
    model = TinyResNet()
    for m in model.modules():  # statistics that are not the identity
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    model.eval()
    x = torch.rand(3, 3, 32, 32)
    path = os.path.join(out, "tinyresnet.onnx")
    batch = torch.export.Dim("batch", min=1, max=1024)
    torch.onnx.export(model, (x,), path, opset_version=18, dynamo=True, external_data=False,
                      input_names=["images"], output_names=["logits"],
                      dynamic_shapes={"x": {0: batch}})
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    np.save(os.path.join(out, "tinyresnet.x.npy"), x.numpy())
    np.save(os.path.join(out, "tinyresnet.y.npy"), session.run(None, {"images": x.numpy()})[0])


def save(out, name, nodes, inputs, outputs, initializers=(), opset=13):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    with open(os.path.join(out, name + ".onnx"), "wb") as f:
        f.write(model.SerializeToString())


def tensor(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def weights(name, shape):
    return helper.make_tensor(name, TensorProto.FLOAT, shape,
                              np.linspace(-1, 1, int(np.prod(shape)), dtype=np.float32))


def broken(out):
    x = tensor("x", ["N", 3, 8, 8])
    conv = helper.make_node("Conv", ["x", "w"], ["c"], name="conv1", pads=[1, 1, 1, 1])
    w = weights("w", [4, 3, 3, 3])
    # Several problems at once: the importer lists them all.
    save(out, "unsupported", [
        conv,
        helper.make_node("Celu", ["c"], ["e"], name="celu1"),
        helper.make_node("Flatten", ["e"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "g"], ["y"], name="fc", transA=1, alpha=2.0),
        helper.make_node("Add", ["y", "bias"], ["z"], name="addbias"),
        helper.make_node("MaxPool", ["c"], ["p", "idx"], name="pool", kernel_shape=[2, 2]),
    ], [x], [tensor("z", ["N", 5]), tensor("p", ["N", 4, 4, 4])],
         [w, weights("g", [5, 256]), weights("bias", [5])])
    save(out, "dangling", [conv, helper.make_node("Relu", ["ghost"], ["y"], name="relu1")],
         [x], [tensor("y", ["N", 4, 8, 8])], [w])
    save(out, "duplicate", [conv, helper.make_node("Relu", ["c"], ["c"], name="relu1")],
         [x], [tensor("c", ["N", 4, 8, 8])], [w])
    save(out, "cycle", [
        helper.make_node("Add", ["x", "b"], ["a"], name="first"),
        helper.make_node("Relu", ["a"], ["b"], name="second"),
    ], [tensor("x", ["N", 4])], [tensor("b", ["N", 4])])
    bad = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 3, 3, 3],
                      float_data=[0.5] * 5)
    save(out, "baddata", [conv], [x], [tensor("c", ["N", 4, 8, 8])], [bad])
    huge = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2**40, 2**40, 3, 3])
    save(out, "overflow", [conv], [x], [tensor("c", ["N", 4, 8, 8])], [huge])
    escape = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 3, 3, 3],
                         data_location=TensorProto.EXTERNAL)
    escape.external_data.add(key="location", value="../../secret.bin")
    save(out, "escape", [conv], [x], [tensor("c", ["N", 4, 8, 8])], [escape])
    save(out, "oldopset", [conv], [x], [tensor("c", ["N", 4, 8, 8])], [w], opset=5)
    save(out, "symbolic", [conv], [tensor("x", ["N", 3, "H", 8])],
         [tensor("c", ["N", 4, 8, 8])], [w])
    save(out, "mismatch", [helper.make_node("Conv", ["x", "w"], ["c"], name="conv1")], [x],
         [tensor("c", ["N", 4, 6, 6])], [weights("w", [4, 5, 3, 3])])
    # The first half of a valid model.
    with open(os.path.join(out, "dangling.onnx"), "rb") as f:
        data = f.read()
    with open(os.path.join(out, "truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])


def zoo(out):
    """One of each op the importer maps (opset 13), with ONNX Runtime's output."""
    import onnxruntime

    rng = np.random.default_rng(0)

    def init(name, shape, positive=False):
        values = rng.uniform(0.5 if positive else -0.5, 1.0 if positive else 0.5, shape)
        return onnx.numpy_helper.from_array(values.astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "c1.w", "c1.b"], ["c1"], name="c1", auto_pad="SAME_UPPER",
                         strides=[2, 2]),
        helper.make_node("BatchNormalization", ["c1", "bn.s", "bn.b", "bn.m", "bn.v"], ["bn"],
                         name="bn", epsilon=1e-3, momentum=0.8),
        helper.make_node("Mul", ["bn", "sc"], ["scaled"], name="scale"),
        helper.make_node("Constant", [], ["half"], name="half",
                         value=onnx.numpy_helper.from_array(np.array(0.5, np.float32))),
        helper.make_node("Sub", ["half", "scaled"], ["shifted"], name="shift"),
        helper.make_node("Div", ["shifted", "dv"], ["divided"], name="divide"),
        helper.make_node("Add", ["divided", "ofs"], ["offset"], name="offset"),
        helper.make_node("Relu", ["offset"], ["r1"], name="r1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="p1", kernel_shape=[3, 3],
                         strides=[1, 1], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["p1", "c2.w"], ["c2"], name="c2", pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "p1"], ["sum"], name="res"),
        helper.make_node("LeakyRelu", ["sum"], ["lk"], name="leak", alpha=0.3),
        helper.make_node("Constant", [], ["lo"], name="lo",
                         value=onnx.numpy_helper.from_array(np.array(-0.2, np.float32))),
        helper.make_node("Clip", ["lk", "lo", "hi"], ["cl"], name="clip"),
        helper.make_node("Sigmoid", ["cl"], ["s1"], name="s1"),
        helper.make_node("AveragePool", ["s1"], ["p2"], name="p2", kernel_shape=[2, 2],
                         strides=[2, 2], ceil_mode=1, pads=[0, 0, 1, 1]),
        helper.make_node("Identity", ["p2"], ["id"], name="id"),
        helper.make_node("Dropout", ["id"], ["d"], name="drop"),
        helper.make_node("GlobalAveragePool", ["d"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "fc1.w", "fc1.b"], ["h"], name="fc1"),
        helper.make_node("Tanh", ["h"], ["t"], name="tanh"),
        helper.make_node("MatMul", ["t", "fc2.w"], ["m"], name="fc2"),
        helper.make_node("LogSoftmax", ["m"], ["y"], name="out"),
    ]
    inits = [init("c1.w", [6, 3, 3, 3]), init("c1.b", [6]), init("bn.s", [6]), init("bn.b", [6]),
             init("bn.m", [6]), init("bn.v", [6], positive=True), init("c2.w", [6, 6, 3, 3]),
             init("fc1.w", [6, 5]), init("fc1.b", [5]), init("fc2.w", [5, 4]),
             onnx.numpy_helper.from_array(np.array(0.9, np.float32), "hi"),
             init("sc", [6, 1, 1]), init("dv", [6, 1, 1], positive=True), init("ofs", [5])]
    save(out, "zoo", nodes, [tensor("x", ["N", 3, 9, 9])], [tensor("y", ["N", 4])], inits)
    x = rng.uniform(-1, 1, (3, 3, 9, 9)).astype(np.float32)
    session = onnxruntime.InferenceSession(os.path.join(out, "zoo.onnx"),
                                           providers=["CPUExecutionProvider"])
    np.save(os.path.join(out, "zoo.x.npy"), x)
    np.save(os.path.join(out, "zoo.y.npy"), session.run(None, {"x": x})[0])


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    broken(out)
    zoo(out)
    lenet(out)
    tinyresnet(out)
