#!/usr/bin/python3
"""Generates tests/data/lpbq_vectors.hpp: LPBQ (low-power blockwise quantization) encodings, codes and
fake-quantized weights as AIMET v2 computes them, so that quanta::compute_lpbq_encodings and the LPBQ
quantize functions are checked against AIMET without a test-time dependency on it.

AIMET (github.com/quic/aimet) defines the rule in aimet_torch/v2/quantization: the symmetric block
range in encoding_analyzer.py (MinMaxEncodingAnalyzer.compute_encodings_from_stats), the block scale
in affine/quantizer.py (MinMaxQuantizer.get_scale), the LPBQ decomposition in the same file
(GroupedBlockQuantizeDequantize) and the quantize arithmetic in affine/backends/torch_builtins.py
(QuantizeFunc and QuantDequantFunc). This script copies none of it: it parses those three files,
takes the methods it needs from their own source and runs them. Importing aimet_torch itself would
need AIMET's compiled extensions, which Debian does not package.

Run with Debian's python3-torch, from a checkout of AIMET (TrainingExtensions/torch/src/python):
  /usr/bin/python3 tests/data/generate_lpbq_vectors.py ENCODING_ANALYZER_PY QUANTIZER_PY \\
      TORCH_BUILTINS_PY > tests/data/lpbq_vectors.hpp
"""
import __future__
import ast
import math
import struct
import sys
import types
from typing import List, Optional, Tuple

import torch


def methods(path, class_name, names):
    """The FunctionDef nodes of class_name's methods `names`, from the source file at `path`."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name]
    if len(classes) != 1:
        sys.exit(f"{path}: expected one class {class_name}, found {len(classes)}")
    found = {n.name: n for n in classes[0].body if isinstance(n, ast.FunctionDef)}
    missing = [n for n in names if n not in found]
    if missing:
        sys.exit(f"{path}: {class_name} has no {', '.join(missing)}")
    return [found[n] for n in names]


def module_constant(path, name):
    """The value of a top-level `name = expression` of the file at `path`, evaluated."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    for n in tree.body:
        if isinstance(n, ast.Assign) and any(getattr(t, "id", None) == name for t in n.targets):
            return eval(compile(ast.Expression(n.value), path, "eval"), {"torch": torch})
    sys.exit(f"{path}: no top-level {name}")


def build_classes(nodes_by_class, path_of, namespace):
    """Executes classes made of the peer's own methods: [(name, base or None, FunctionDef nodes)]."""
    for name, base, nodes in nodes_by_class:
        bases = [ast.Name(id=base, ctx=ast.Load())] if base else []
        cls = ast.ClassDef(name=name, bases=bases, keywords=[], body=nodes, decorator_list=[])
        module = ast.fix_missing_locations(ast.Module(body=[cls], type_ignores=[]))
        # Annotations stay unevaluated: they name AIMET types this script does not load.
        flags = __future__.annotations.compiler_flag
        exec(compile(module, path_of[name], "exec", flags=flags, dont_inherit=True), namespace)


class Context(types.SimpleNamespace):
    """What the _forward_impl methods record for autograd, kept and unused."""
    def save_for_backward(self, *tensors):
        self.saved = tensors


def load_aimet(analyzer_py, quantizer_py, builtins_py):
    namespace = {"torch": torch, "math": math, "Tuple": Tuple, "List": List, "Optional": Optional,
                 "_MINIMUM_SCALE": module_constant(analyzer_py, "_MINIMUM_SCALE"),
                 "StatisticsNotFoundError": RuntimeError, "_USE_COMPILED_IMPL": False}
    build_classes([
        ("Analyzer", None, methods(analyzer_py, "MinMaxEncodingAnalyzer",
                                   ["compute_encodings_from_stats"])),
        ("QuantizeFunc", None, methods(builtins_py, "QuantizeFunc", ["_forward_impl"])),
        ("QuantDequantFunc", None, methods(builtins_py, "QuantDequantFunc", ["_forward_impl"])),
        ("MinMaxQuantizer", None, methods(quantizer_py, "MinMaxQuantizer", ["get_scale"])),
    ], {"Analyzer": analyzer_py, "QuantizeFunc": builtins_py, "QuantDequantFunc": builtins_py,
        "MinMaxQuantizer": quantizer_py}, namespace)

    def quantize_dequantize(tensor, scale, offset, qmin, qmax):
        # The backend's quantize_dequantize without its block reshaping (callers pass scales that
        # broadcast) and without autograd: QuantDequantFunc's own arithmetic.
        return namespace["QuantDequantFunc"]._forward_impl(Context(), tensor, scale,
                                                           offset, qmin, qmax)
    namespace["quantize_dequantize"] = quantize_dequantize
    build_classes([("GroupedBlock", "MinMaxQuantizer", methods(
        quantizer_py, "GroupedBlockQuantizeDequantize",
        ["get_scale", "get_expanded_scale_shape", "get_per_channel_scale",
         "get_per_block_integer_scale"]))], {"GroupedBlock": quantizer_py}, namespace)
    return namespace


def lpbq_case(aimet, name, w, block_axis, block_size, bitwidth, decompressed_bw):
    """AIMET's LPBQ of a 2-D weight w blocked along block_axis, the other axis its channels."""
    rows, cols = w.shape
    if block_axis == 1:
        blocks = w.view(rows, cols // block_size, block_size)
        reduce_dim, shape, grouping = 2, (rows, cols // block_size), (1, -1)
    else:
        blocks = w.view(rows // block_size, block_size, cols)
        reduce_dim, shape, grouping = 1, (rows // block_size, cols), (-1, 1)
    stats = types.SimpleNamespace(min=blocks.amin(reduce_dim), max=blocks.amax(reduce_dim))
    qmin, qmax = -2 ** (bitwidth - 1), 2 ** (bitwidth - 1) - 1
    enc_min, enc_max = aimet["Analyzer"].compute_encodings_from_stats(
        None, stats, qmax - qmin, True)
    q = aimet["GroupedBlock"]()
    q.is_initialized = lambda: True
    q.min, q.max = enc_min.view(shape), enc_max.view(shape)
    q.qmin, q.qmax, q.shape, q.block_grouping = qmin, qmax, shape, grouping
    q.bitwidth, q.decompressed_bw = bitwidth, decompressed_bw
    channel_scale = q.get_per_channel_scale(torch.float32).flatten()
    block_scale = q.get_per_block_integer_scale().flatten()
    # The forward pass: the weight quantized on each block's scale (GroupedBlock.get_scale).
    scale = q.get_scale(torch.float32).unsqueeze(reduce_dim)
    offset = torch.zeros_like(scale)
    codes = aimet["QuantizeFunc"]._forward_impl(Context(), blocks, scale, offset,
                                                qmin, qmax)
    fake = aimet["QuantDequantFunc"]._forward_impl(Context(), blocks, scale, offset,
                                                   qmin, qmax)
    if block_axis == 1:
        outer, channels, inner = rows, cols, 1
    else:
        outer, channels, inner = 1, rows, cols
    return dict(name=name, outer=outer, channels=channels, inner=inner, block_size=block_size,
                bitwidth=bitwidth, decompressed_bw=decompressed_bw, weights=w.flatten(),
                channel_scales=channel_scale, block_scales=block_scale,
                codes=codes.reshape(-1), fake=fake.reshape(-1))


def cases(aimet):
    g = torch.Generator().manual_seed(20261204)
    w = torch.randn(3, 12, generator=g)
    yield lpbq_case(aimet, "normal_3x12_block4_int4_int8", w, 1, 4, 4, 8)
    # Channel 1: an all-zero block (AIMET's minimum-scale path), a block so small that its
    # integer scale rounds to 0 and is clipped to 1, and the channel's largest block at 2^4.
    # Channel 3 is all zeros. Channel 2: block 1 is exactly 2.5 steps of the channel scale, a tie
    # that AIMET's round-half-even sends to 2.
    w = torch.randn(4, 32, generator=g) * 0.5
    w[1, 0:8] = 0.0
    w[1, 8:16] *= 1e-3
    w[1, 16:24] *= 20.0
    w[2, :] = torch.linspace(-1.0, 1.0, 32)
    w[2, 0:8] = 0.0
    w[2, 0] = 7.0
    w[2, 8:16] = 0.0
    w[2, 8] = 7.0 * 5.0 / 32.0
    w[3, :] = 0.0
    yield lpbq_case(aimet, "edges_4x32_block8_int4_int8", w, 1, 8, 4, 8)
    # Odd sizes, a wider block scale (4 -> 12 bits) and a narrower one (4 -> 6).
    yield lpbq_case(aimet, "normal_5x21_block7_int4_int12", torch.randn(5, 21, generator=g), 1, 7,
                    4, 12)
    yield lpbq_case(aimet, "normal_7x9_block3_int4_int6", torch.randn(7, 9, generator=g) * 3.0, 1,
                    3, 4, 6)
    yield lpbq_case(aimet, "normal_3x16_block4_int8_int16", torch.randn(3, 16, generator=g), 1, 4,
                    8, 16)
    yield lpbq_case(aimet, "laplace_2x20_block5_int3_int6",
                    torch.distributions.Laplace(0.0, 1.0).sample((2, 20)), 1, 5, 3, 6)
    # Blocks along axis 0 of a [12, 5] weight: channels along the inner axis.
    yield lpbq_case(aimet, "normal_12x5_axis0_block4_int4_int8", torch.randn(12, 5, generator=g), 0,
                    4, 4, 8)


def hex_floats(t):
    return ", ".join(float(struct.unpack("f", struct.pack("f", float(v)))[0]).hex() + "f"
                     for v in t.tolist())


def ints(t):
    return ", ".join(str(int(v)) for v in t.tolist())


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    torch.manual_seed(20261204)  # the Laplace case samples from the global generator
    aimet = load_aimet(*sys.argv[1:])
    out = ["// Generated by tests/data/generate_lpbq_vectors.py from AIMET v2's own",
           "// GroupedBlockQuantizeDequantize, MinMaxEncodingAnalyzer and torch backend, torch "
           + torch.__version__ + ". Do not edit.",
           "#pragma once\n#include <cstddef>\n#include <cstdint>\n#include <vector>\n",
           "namespace lpbq_vectors {\n",
           "// A row-major weight seen as [outer, channels, inner], blocked along channels; AIMET's",
           "// per-channel float scales ([outer, inner]), per-block integer scales ([outer, blocks,",
           "// inner]), the codes of its quantizer's forward pass and its fake-quantized weight.",
           "struct lpbq_case { const char* name; std::size_t outer, channels, inner, block_size; "
           "int bitwidth, decompressed_bitwidth; std::vector<float> weights, channel_scales; "
           "std::vector<std::uint16_t> block_scales; std::vector<int> codes; "
           "std::vector<float> fake_quantized; };\n",
           "inline const std::vector<lpbq_case>& cases() {",
           "  static const std::vector<lpbq_case> all = {"]
    for c in cases(aimet):
        out.append(f'      {{"{c["name"]}", {c["outer"]}, {c["channels"]}, {c["inner"]}, '
                   f'{c["block_size"]}, {c["bitwidth"]}, {c["decompressed_bw"]},')
        out.append(f'       {{{hex_floats(c["weights"])}}},')
        out.append(f'       {{{hex_floats(c["channel_scales"])}}},')
        out.append(f'       {{{ints(c["block_scales"])}}},')
        out.append(f'       {{{ints(c["codes"])}}},')
        out.append(f'       {{{hex_floats(c["fake"])}}}}},')
    out += ["  };", "  return all;", "}\n", "}  // namespace lpbq_vectors"]
    print("\n".join(out))


main()
