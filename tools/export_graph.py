#!/usr/bin/env python3
"""Export a PyTorch model as swa graph JSON (docs/GRAPH.md), from any PyTorch project.

    python3 tools/export_graph.py MODULE:CALLABLE [--kwargs JSON] --input-shape C,H,W -o graph.json [--weights CKPT]

MODULE:CALLABLE names a function or class that returns the model (`torchvision.models:resnet50`,
`mypackage.models:Net`); --kwargs are its keyword arguments. The model is traced with torch.fx,
each module and function is mapped to a graph op with the state_dict key names, and every
activation shape the graph implies is checked against the one PyTorch computes. The first
node swa cannot run stops the export with its name and source line.

--weights CKPT also writes that checkpoint (a state-dict `.pt`/`.pth` read with torch.load,
or safetensors, plain or zstd-compressed) in swa's format, zstd-compressed safetensors with
the graph in `swa.graph` (docs/FORMAT.md), to --weights-output (default: the graph's path
with `.safetensors.zst` for `.json`). Needs PyTorch, and zstandard and safetensors for
--weights; swa itself never needs Python.
"""
import argparse
import importlib
import json
import operator
import os
import sys
import tempfile

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F

GRAPH_VERSION = 2


class ExportError(Exception):
    """One line for the user: what is not supported, where."""


# MARK: - Loading the model

def load_model(spec, kwargs):
    if ":" not in spec:
        raise ExportError(f"{spec}: expected MODULE:CALLABLE, such as torchvision.models:resnet18")
    module_name, attribute = spec.split(":", 1)
    sys.path.insert(0, os.getcwd())
    try:
        target = importlib.import_module(module_name)
    except ImportError as error:
        raise ExportError(f"{spec}: cannot import {module_name}: {error}")
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ExportError(f"{spec}: {module_name} has no {attribute}")
        target = getattr(target, part)
    model = target(**kwargs) if callable(target) and not isinstance(target, nn.Module) else target
    if not isinstance(model, nn.Module):
        raise ExportError(f"{spec}: returned {type(model).__name__}, not a torch.nn.Module")
    return model.eval()


def is_stochastic_depth(module):
    return type(module).__name__ == "StochasticDepth" and hasattr(module, "p")


class Tracer(torch.fx.Tracer):
    """torch.fx tracing that keeps stochastic depth as one node and records source lines."""

    def __init__(self):
        super().__init__()
        self.record_stack_traces = True

    def is_leaf_module(self, module, qualified_name):
        return is_stochastic_depth(module) or super().is_leaf_module(module, qualified_name)


def trace(model, input_shape):
    tracer = Tracer()
    graph = tracer.trace(model)
    module = torch.fx.GraphModule(model, graph)
    from torch.fx.passes.shape_prop import ShapeProp
    with torch.no_grad():
        ShapeProp(module).propagate(torch.randn(2, *input_shape))
    return module


# MARK: - Mapping nodes to ops

def pair(value):
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            return [int(value[0]), int(value[0])]
        return [int(value[0]), int(value[1])]
    return [int(value), int(value)]


def source_line(node):
    """`file.py:123` of the model code that made `node`, from the fx stack trace."""
    trace_text = node.meta.get("stack_trace") or node.stack_trace or ""
    lines = [line.strip() for line in trace_text.strip().splitlines() if line.strip().startswith("File ")]
    # The model's own code: the innermost frame outside torch.fx and nn.Module's call machinery.
    own = [line for line in lines if "/torch/fx/" not in line and "/torch/nn/modules/module.py" not in line]
    lines = own or lines
    if not lines:
        return "source line unknown"
    # 'File "/path/model.py", line 12, in forward'
    last = lines[-1]
    try:
        path = last.split('"')[1]
        number = last.split("line ")[1].split(",")[0]
        return f"{path}:{number}"
    except IndexError:
        return last


class Exporter:
    def __init__(self, module, input_shape):
        self.module = module
        self.input_shape = list(input_shape)
        self.nodes = []
        self.names = {}      # fx node -> our node name (tensors) or a Python value (sizes)
        self.shapes = {"x": list(input_shape)}
        self.used = set()

    # Names: module paths for module calls, the enclosing module's path and the function for
    # functional steps (`layer1.0.add`), made unique with a suffix.
    def unique(self, name):
        base, count = name, 1
        while name in self.used or name == "x":
            name = f"{base}_{count}"
            count += 1
        self.used.add(name)
        return name

    def functional_name(self, node, op):
        stack = node.meta.get("nn_module_stack") or {}
        path = ""
        if stack:
            value = list(stack.values())[-1]
            path = value[0] if isinstance(value, tuple) else str(value)
        return f"{path}.{op}" if path else op

    def fail(self, node, reason):
        raise ExportError(f"node '{node.name}' ({describe(node)}) at {source_line(node)}: {reason}")

    def tensor_input(self, node, value):
        if isinstance(value, torch.fx.Node) and isinstance(self.names.get(value), str):
            return self.names[value]
        self.fail(node, f"expected a tensor computed by the model, got {value!r}")

    def emit(self, node, name, op, inputs, attrs=None, tensors=None):
        name = self.unique(name)
        shape = infer_shape(op, attrs or {}, [self.shapes[i] for i in inputs])
        if isinstance(shape, str):
            self.fail(node, shape)
        meta = node.meta.get("tensor_meta")
        if meta is None or not hasattr(meta, "shape"):
            self.fail(node, "PyTorch did not produce one tensor here")
        torch_shape = list(meta.shape)[1:]
        if shape != torch_shape:
            self.fail(node, f"swa's {op} gives shape {shape}, PyTorch's {torch_shape}")
        entry = {"name": name, "op": op, "inputs": inputs}
        if attrs:
            entry["attrs"] = attrs
        if tensors:
            entry["tensors"] = tensors
        self.nodes.append(entry)
        self.shapes[name] = shape
        self.names[node] = name
        return name

    def alias(self, node, value):
        self.names[node] = self.tensor_input(node, value)

    def run(self):
        output = None
        for node in self.module.graph.nodes:
            if node.op == "placeholder":
                if self.shapes.get("x") is None or any(isinstance(v, str) and v == "x" for v in self.names.values()):
                    self.fail(node, "the model takes more than one input")
                self.names[node] = "x"
            elif node.op == "call_module":
                self.call_module(node)
            elif node.op == "call_function":
                self.call_function(node)
            elif node.op == "call_method":
                self.call_method(node)
            elif node.op == "get_attr":
                self.fail(node, f"reads the parameter or buffer '{node.target}' directly; swa runs modules and functions on activations only")
            elif node.op == "output":
                value = node.args[0]
                if isinstance(value, (tuple, list)) or not isinstance(self.names.get(value), str):
                    self.fail(node, "the model must return one tensor (the logits)")
                output = self.names[value]
        return {"format": "swa.graph", "version": GRAPH_VERSION,
                "input": {"name": "x", "shape": self.input_shape}, "nodes": self.nodes, "output": output}

    # MARK: Modules

    def call_module(self, node):
        module = self.module.get_submodule(node.target)
        path = node.target
        x = self.tensor_input(node, node.args[0]) if node.args else None

        def keys(*roles):
            return {role: f"{path}.{role}" for role in roles}

        if isinstance(module, nn.Conv2d):
            if module.padding_mode != "zeros":
                self.fail(node, f"padding_mode '{module.padding_mode}' is not supported (zeros only)")
            padding = module.padding
            if isinstance(padding, str):
                if padding == "valid":
                    padding = (0, 0)
                else:
                    total = [d * (k - 1) for d, k in zip(module.dilation, module.kernel_size)]
                    if any(t % 2 for t in total):
                        self.fail(node, "padding='same' with an even dilated kernel pads unevenly; not supported")
                    padding = tuple(t // 2 for t in total)
            attrs = {"in_channels": module.in_channels, "out_channels": module.out_channels,
                     "kernel_size": pair(module.kernel_size), "stride": pair(module.stride), "padding": pair(padding),
                     "dilation": pair(module.dilation), "groups": module.groups, "bias": module.bias is not None}
            tensors = keys("weight", "bias") if module.bias is not None else keys("weight")
            self.emit(node, path, "conv2d", [x], attrs, tensors)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if not module.track_running_stats:
                self.fail(node, "batch norm without running statistics (track_running_stats=False) is not supported")
            op = "batchnorm2d" if isinstance(module, nn.BatchNorm2d) else "batchnorm1d"
            roles = (["weight", "bias"] if module.affine else []) + ["running_mean", "running_var", "num_batches_tracked"]
            attrs = {"num_features": module.num_features, "eps": module.eps, "momentum": module.momentum, "affine": module.affine}
            self.emit(node, path, op, [x], attrs, keys(*roles))
        elif isinstance(module, nn.Linear):
            tensors = keys("weight", "bias") if module.bias is not None else keys("weight")
            self.emit(node, path, "linear", [x], {"in_features": module.in_features, "out_features": module.out_features,
                                                  "bias": module.bias is not None}, tensors)
        elif isinstance(module, nn.ReLU):
            self.emit(node, path, "relu", [x])
        elif isinstance(module, nn.ReLU6):
            self.emit(node, path, "relu6", [x])
        elif isinstance(module, nn.Hardtanh):
            self.emit(node, path, "hardtanh", [x], {"min_val": module.min_val, "max_val": module.max_val})
        elif isinstance(module, (nn.Hardswish, nn.Hardsigmoid, nn.SiLU, nn.Sigmoid, nn.Tanh)):
            self.emit(node, path, type(module).__name__.lower(), [x])
        elif isinstance(module, nn.GELU):
            self.emit(node, path, "gelu", [x], {"approximate": module.approximate})
        elif isinstance(module, nn.MaxPool2d):
            self.max_pool(node, path, x, module.kernel_size, module.stride, module.padding, module.dilation,
                          module.ceil_mode, module.return_indices)
        elif isinstance(module, nn.AvgPool2d):
            self.avg_pool(node, path, x, module.kernel_size, module.stride, module.padding, module.ceil_mode,
                          module.count_include_pad, module.divisor_override)
        elif isinstance(module, nn.AdaptiveAvgPool2d):
            self.adaptive(node, path, x, module.output_size)
        elif isinstance(module, nn.Flatten):
            if module.start_dim != 1 or module.end_dim != -1:
                self.fail(node, "flatten from dimension 1 to the end only")
            self.emit(node, path, "flatten", [x], {"start_dim": 1})
        elif isinstance(module, nn.modules.dropout._DropoutNd):
            self.emit(node, path, "dropout", [x], {"p": module.p})
        elif is_stochastic_depth(module):
            self.emit(node, path, "stochastic_depth", [x], {"p": module.p, "mode": getattr(module, "mode", "row")})
        elif isinstance(module, nn.Identity):
            self.emit(node, path, "identity", [x])
        else:
            self.fail(node, f"module {type(module).__module__}.{type(module).__name__} is not supported")

    def max_pool(self, node, name, x, kernel, stride, padding, dilation, ceil_mode, return_indices):
        if return_indices:
            self.fail(node, "max pool with return_indices is not supported")
        if pair(dilation) != [1, 1]:
            self.fail(node, "max pool with dilation is not supported")
        attrs = {"kernel_size": pair(kernel), "stride": pair(stride if stride else kernel), "padding": pair(padding)}
        if ceil_mode:
            attrs["ceil_mode"] = True
        self.emit(node, name, "maxpool2d", [x], attrs)

    def avg_pool(self, node, name, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
        if divisor_override is not None:
            self.fail(node, "avg pool with divisor_override is not supported")
        attrs = {"kernel_size": pair(kernel), "stride": pair(stride if stride else kernel), "padding": pair(padding)}
        if ceil_mode:
            attrs["ceil_mode"] = True
        if not count_include_pad:
            attrs["count_include_pad"] = False
        self.emit(node, name, "avgpool2d", [x], attrs)

    def adaptive(self, node, name, x, size):
        size = list(size) if isinstance(size, (tuple, list)) else [size, size]
        current = self.shapes[x]
        if len(current) != 3:
            self.fail(node, f"adaptive pool of a {current} input; [C, H, W] expected")
        size = [current[1 + i] if s is None else int(s) for i, s in enumerate(size)]
        self.emit(node, name, "adaptive_avgpool2d", [x], {"output_size": size})

    # MARK: Functions and methods

    def call_function(self, node):
        target = node.target
        name = getattr(target, "__name__", str(target))
        args, kwargs = node.args, node.kwargs

        def arg(index, key, default=None):
            if len(args) > index:
                return args[index]
            return kwargs.get(key, default)

        here = lambda op: self.functional_name(node, op)
        if target in (operator.add, operator.iadd, torch.add, operator.mul, operator.imul, torch.mul):
            op = "add" if target in (operator.add, operator.iadd, torch.add) else "mul"
            if kwargs.get("alpha", 1) != 1:
                self.fail(node, "add with alpha is not supported")
            a, b = arg(0, "input"), arg(1, "other")
            if not all(isinstance(v, torch.fx.Node) and isinstance(self.names.get(v), str) for v in (a, b)):
                self.fail(node, f"{op} of a tensor and a constant is not supported (two activations only)")
            self.emit(node, here(op), op, [self.names[a], self.names[b]])
        elif target is torch.cat or target is torch.concat:
            tensors, dim = arg(0, "tensors"), arg(1, "dim", 0)
            inputs = [self.tensor_input(node, t) for t in tensors]
            if dim not in (1, -3):
                self.fail(node, f"cat along dimension {dim}; swa joins channels (dimension 1) only")
            self.emit(node, here("cat"), "cat", inputs, {"dim": 1})
        elif target is torch.flatten:
            self.flatten(node, here("flatten"), arg(0, "input"), arg(1, "start_dim", 0), arg(2, "end_dim", -1))
        elif target in (F.relu, torch.relu):
            self.emit(node, here("relu"), "relu", [self.tensor_input(node, arg(0, "input"))])
        elif target is F.relu6:
            self.emit(node, here("relu6"), "relu6", [self.tensor_input(node, arg(0, "input"))])
        elif target is F.hardtanh:
            self.emit(node, here("hardtanh"), "hardtanh", [self.tensor_input(node, arg(0, "input"))],
                      {"min_val": arg(1, "min_val", -1.0), "max_val": arg(2, "max_val", 1.0)})
        elif target in (F.hardswish, F.hardsigmoid, F.silu):
            op = target.__name__
            self.emit(node, here(op), op, [self.tensor_input(node, arg(0, "input"))])
        elif target in (torch.sigmoid, F.sigmoid):
            self.emit(node, here("sigmoid"), "sigmoid", [self.tensor_input(node, arg(0, "input"))])
        elif target in (torch.tanh, F.tanh):
            self.emit(node, here("tanh"), "tanh", [self.tensor_input(node, arg(0, "input"))])
        elif target is F.gelu:
            self.emit(node, here("gelu"), "gelu", [self.tensor_input(node, arg(0, "input"))],
                      {"approximate": arg(1, "approximate", "none")})
        elif target is F.adaptive_avg_pool2d:
            self.adaptive(node, here("adaptive_avgpool2d"), self.tensor_input(node, arg(0, "input")), arg(1, "output_size"))
        elif target is F.avg_pool2d:
            self.avg_pool(node, here("avgpool2d"), self.tensor_input(node, arg(0, "input")), arg(1, "kernel_size"),
                          arg(2, "stride"), arg(3, "padding", 0), arg(4, "ceil_mode", False),
                          arg(5, "count_include_pad", True), arg(6, "divisor_override"))
        elif target is F.max_pool2d or name == "_max_pool2d" or name == "boolean_dispatch":
            self.max_pool(node, here("maxpool2d"), self.tensor_input(node, arg(0, "input")), arg(1, "kernel_size"),
                          arg(2, "stride"), arg(3, "padding", 0), arg(4, "dilation", 1), arg(5, "ceil_mode", False),
                          arg(6, "return_indices", False))
        elif target is F.dropout or name in ("dropout", "dropout2d", "alpha_dropout"):
            self.emit(node, here("dropout"), "dropout", [self.tensor_input(node, arg(0, "input"))], {"p": arg(1, "p", 0.5)})
        elif name == "stochastic_depth":
            self.emit(node, here("stochastic_depth"), "stochastic_depth", [self.tensor_input(node, arg(0, "input"))],
                      {"p": arg(1, "p"), "mode": arg(2, "mode", "row")})
        elif target is torch.mean:
            self.mean(node, here("mean"), arg(0, "input"), arg(1, "dim"), arg(2, "keepdim", False))
        elif target is getattr or target is operator.getitem:
            value = args[0]
            if isinstance(self.names.get(value), str):
                self.fail(node, f"{name} on a tensor is not supported")
            self.names[node] = ("value", node.name)
        else:
            self.fail(node, f"function {getattr(target, '__module__', '')}.{name} is not supported")

    def call_method(self, node):
        method, args = node.target, node.args
        here = lambda op: self.functional_name(node, op)
        if method == "size" or method == "dim":
            self.names[node] = ("value", node.name)
        elif method in ("contiguous", "clone"):
            self.alias(node, args[0])
        elif method in ("relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_"):
            op = method.rstrip("_")
            self.emit(node, here(op), op, [self.tensor_input(node, args[0])])
        elif method in ("add", "add_", "mul", "mul_"):
            op = method.rstrip("_")
            other = args[1] if len(args) > 1 else node.kwargs.get("other")
            if not isinstance(self.names.get(other), str):
                self.fail(node, f"{op} of a tensor and a constant is not supported")
            self.emit(node, here(op), op, [self.tensor_input(node, args[0]), self.names[other]])
        elif method == "mean":
            self.mean(node, here("mean"), args[0], args[1] if len(args) > 1 else node.kwargs.get("dim"),
                      args[2] if len(args) > 2 else node.kwargs.get("keepdim", False))
        elif method == "flatten":
            self.flatten(node, here("flatten"), args[0], args[1] if len(args) > 1 else node.kwargs.get("start_dim", 0),
                         args[2] if len(args) > 2 else node.kwargs.get("end_dim", -1))
        elif method in ("view", "reshape"):
            x = self.tensor_input(node, args[0])
            sizes = list(args[1]) if len(args) == 2 and isinstance(args[1], (tuple, list)) else list(args[1:])
            # x.view(x.size(0), -1) or x.view(n, features): a flatten from dimension 1.
            features = 1
            for s in self.shapes[x]:
                features *= s
            if len(sizes) == 2 and (sizes[1] == -1 or sizes[1] == features):
                self.emit(node, here("flatten"), "flatten", [x], {"start_dim": 1})
            else:
                self.fail(node, f"{method} to {sizes}; only flattening to [batch, features] is supported")
        else:
            self.fail(node, f"method Tensor.{method} is not supported")

    def flatten(self, node, name, value, start, end):
        if start != 1 or end != -1:
            self.fail(node, f"flatten({start}, {end}); only flatten(x, 1) is supported")
        self.emit(node, name, "flatten", [self.tensor_input(node, value)], {"start_dim": 1})

    def mean(self, node, name, value, dim, keepdim):
        dims = sorted(d % 4 for d in (dim if isinstance(dim, (tuple, list)) else [dim])) if dim is not None else None
        if dims != [2, 3]:
            self.fail(node, f"mean over {dim}; swa takes the mean over H and W (dim=(2, 3)) only")
        self.emit(node, name, "mean", [self.tensor_input(node, value)], {"dim": [2, 3], "keepdim": bool(keepdim)})


def describe(node):
    if node.op == "call_module":
        return f"module {node.target}"
    if node.op == "call_function":
        return f"function {getattr(node.target, '__name__', node.target)}"
    if node.op == "call_method":
        return f"method .{node.target}()"
    return node.op


# MARK: - Shapes (the rules of ModelGraph.inferShapes in Swift, per sample)

def infer_shape(op, attrs, inputs):
    x = inputs[0]

    def window(extent, kernel, stride, padding, dilation=1, ceil=False):
        span = extent + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil else 0)
        if span < 0:
            return 0
        count = span // stride + 1
        if ceil and (count - 1) * stride >= extent + padding:
            count -= 1
        return count

    if op == "conv2d":
        if len(x) != 3 or x[0] != attrs["in_channels"]:
            return f"conv2d expects [{attrs['in_channels']}, H, W], gets {x}"
        k, s, p, d = attrs["kernel_size"], attrs["stride"], attrs["padding"], attrs["dilation"]
        return [attrs["out_channels"], window(x[1], k[0], s[0], p[0], d[0]), window(x[2], k[1], s[1], p[1], d[1])]
    if op in ("batchnorm1d", "batchnorm2d"):
        if len(x) != (3 if op == "batchnorm2d" else 1) or x[0] != attrs["num_features"]:
            return f"{op} of {attrs['num_features']} features gets {x}"
        return x
    if op == "linear":
        if x != [attrs["in_features"]]:
            return f"linear expects [{attrs['in_features']}], gets {x}"
        return [attrs["out_features"]]
    if op in ("maxpool2d", "avgpool2d"):
        k, s, p, ceil = attrs["kernel_size"], attrs["stride"], attrs["padding"], attrs.get("ceil_mode", False)
        if 2 * p[0] > k[0] or 2 * p[1] > k[1]:
            return "padding must be at most half the kernel size"
        return [x[0], window(x[1], k[0], s[0], p[0], 1, ceil), window(x[2], k[1], s[1], p[1], 1, ceil)]
    if op == "adaptive_avgpool2d":
        return [x[0]] + attrs["output_size"]
    if op == "mean":
        return [x[0], 1, 1] if attrs["keepdim"] else [x[0]]
    if op == "flatten":
        size = 1
        for s in x:
            size *= s
        return [size]
    if op in ("add", "mul"):
        a, b = inputs
        rank = max(len(a), len(b))
        a, b = [1] * (rank - len(a)) + a, [1] * (rank - len(b)) + b
        if any(p != q and p != 1 and q != 1 for p, q in zip(a, b)):
            return f"cannot broadcast {inputs[0]} and {inputs[1]}"
        return [q if p == 1 else p for p, q in zip(a, b)]
    if op == "cat":
        if any(len(s) != 3 or s[1:] != x[1:] for s in inputs):
            return f"cat of {inputs}: [C, H, W] inputs of one plane size expected"
        return [sum(s[0] for s in inputs)] + x[1:]
    return x  # elementwise activations, dropout, stochastic depth, identity


# MARK: - Weights

def load_state(path):
    with open(path, "rb") as f:
        head = f.read(16)
    if head[:4] == b"\x28\xb5\x2f\xfd" or (head[:4] and head[0] & 0xF0 == 0x50 and head[1:4] == b"\x2a\x4d\x18"):
        import safetensors.torch, zstandard
        with open(path, "rb") as f:
            payload = zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True).read()
        return safetensors.torch.load(payload)
    if len(head) >= 9 and head[8:9] == b"{":
        import safetensors.torch
        return safetensors.torch.load_file(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ExportError(f"{path}: not a state dict of tensors (nor one under 'state_dict' or 'model')")
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}  # saved from DataParallel
    return state


def write_weights(graph, model, weights_path, output_path):
    import safetensors.torch, zstandard
    state = load_state(weights_path)
    expected = model.state_dict()
    used = {key for node in graph["nodes"] for key in node.get("tensors", {}).values()}
    for key in sorted(used):
        if key not in state:
            if key.endswith("num_batches_tracked"):
                continue
            raise ExportError(f"{weights_path}: no tensor '{key}', which the graph uses")
        if tuple(state[key].shape) != tuple(expected[key].shape):
            raise ExportError(f"{weights_path}: tensor '{key}' has shape {list(state[key].shape)}, "
                              f"the model's is {list(expected[key].shape)}")
    extra = sorted(set(state) - used)
    if extra:
        raise ExportError(f"{weights_path}: tensor '{extra[0]}' is not used by the graph ({len(extra)} such)")
    tensors = {key: value.detach().contiguous() for key, value in state.items()}
    payload = safetensors.torch.save(tensors, metadata={"swa.graph": json.dumps(graph, separators=(",", ":"))})
    atomic_write(output_path, zstandard.ZstdCompressor(level=3, write_checksum=True).compress(payload))


def atomic_write(path, data):
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".export-")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


# MARK: - Command line

def export(spec, kwargs, input_shape):
    """(graph JSON as a dict, model) for MODULE:CALLABLE with its kwargs."""
    return export_model(load_model(spec, kwargs), input_shape, spec)


def export_model(model, input_shape, label):
    """(graph JSON as a dict, model) for a model in eval mode; `label` names it in errors."""
    try:
        module = trace(model, input_shape)
    except ExportError:
        raise
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ExportError(f"torch.fx cannot trace {label}: {first}")
    return Exporter(module, input_shape).run(), model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    parser.add_argument("model", metavar="MODULE:CALLABLE", help="what returns the model, e.g. torchvision.models:resnet50")
    parser.add_argument("--kwargs", default="{}", help="JSON object of keyword arguments for CALLABLE")
    parser.add_argument("--input-shape", required=True, help="one sample's shape, C,H,W (e.g. 3,224,224)")
    parser.add_argument("-o", "--output", required=True, help="graph JSON to write")
    parser.add_argument("--weights", help="checkpoint to convert (.pt state dict or safetensors)")
    parser.add_argument("--weights-output", help="where --weights goes (default: OUTPUT with .safetensors.zst)")
    args = parser.parse_args(argv)
    try:
        try:
            kwargs = json.loads(args.kwargs)
            assert isinstance(kwargs, dict)
        except (ValueError, AssertionError):
            raise ExportError(f"--kwargs: expected a JSON object, got {args.kwargs}")
        try:
            shape = [int(v) for v in args.input_shape.split(",")]
            assert len(shape) == 3 and all(v > 0 for v in shape)
        except (ValueError, AssertionError):
            raise ExportError(f"--input-shape: expected C,H,W with positive sizes, got {args.input_shape}")
        graph, model = export(args.model, kwargs, shape)
        text = json.dumps(graph, indent=1) + "\n"
        if args.weights:
            target = args.weights_output or (args.output[:-5] if args.output.endswith(".json") else args.output) + ".safetensors.zst"
            write_weights(graph, model, args.weights, target)
        atomic_write(args.output, text.encode())
    except ExportError as error:
        print(f"export_graph: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
