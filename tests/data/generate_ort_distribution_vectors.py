#!/usr/bin/python3
"""Generates tests/data/ort_distribution_vectors.hpp: what ONNX Runtime's own `distribution`
calibration returns on fixed data (the mean and standard deviation of its histogram, in the `same`
and `p3` scenarios) and the float8 E4M3FN scale its quantizer derives from that deviation, so that
quanta's onnxruntime_distribution and onnxruntime_float8_scale are checked against it without a
test-time dependency on ORT.

The peers' code, as this script was run on it:
- onnxruntime/python/tools/quantization/calibrate.py at commit
  b15ffcdd9e362b9bd2e809b79b02b76611e281f1: class HistogramCollector (collect_value,
  merge_histogram, _avg_std, compute_distribution).
- compute_scale_zp_float8 from quant_utils.py as ORT's main branch had it with onnx's float8
  helpers (read at samuel100/onnxruntime commit 08b88d82aef4b0d7baea1428e55e37a345258b2e, a fork);
  ORT's quantizer passes it TensorData.avg_std[1], the deviation above.
This script copies none of it: it takes the paths of those files, extracts the named definitions
with `ast`, executes them with numpy, and records what they return. The onnx package is not
installed here: the one onnx function the peer calls, numpy_helper.float8e4m3_to_float32, is
replaced by the E4M3FN format's definition (bias 7, no infinities, NaN at S.1111.111).

Run with Debian's python3-numpy:
  /usr/bin/python3 tests/data/generate_ort_distribution_vectors.py \\
      ORT_CALIBRATE_PY ORT_QUANT_UTILS_PY > tests/data/ort_distribution_vectors.hpp
"""
import ast
import os
import sys
import types
import warnings

import numpy as np


def load(path, names, namespace):
    """Executes the top-level definitions `names` of the file at `path` in `namespace`."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    found = [n for n in tree.body
             if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in names]
    if sorted(n.name for n in found) != sorted(names):
        sys.exit(f"{path}: expected definitions {names}, found {[n.name for n in found]}")
    exec(compile(ast.Module(body=found, type_ignores=[]), path, "exec"), namespace)


def e4m3fn_to_float32(code):
    """The E4M3FN value of an 8-bit code: sign, 4 exponent bits (bias 7), 3 mantissa bits; the
    codes 0x7F and 0xFF are NaN, and there is no infinity."""
    sign = -1.0 if code & 0x80 else 1.0
    exponent, mantissa = (code >> 3) & 0xF, code & 0x7
    if exponent == 0xF and mantissa == 0x7:
        return np.float32(np.nan)
    if exponent == 0:
        return np.float32(sign * mantissa * 2.0 ** -9)
    return np.float32(sign * (1.0 + mantissa / 8.0) * 2.0 ** (exponent - 7))


def install_onnx_stub():
    onnx = types.ModuleType("onnx")
    helper = types.ModuleType("onnx.numpy_helper")
    helper.float8e4m3_to_float32 = e4m3fn_to_float32
    reference = types.ModuleType("onnx.reference")
    custom = types.ModuleType("onnx.reference.custom_element_types")
    custom.float8e4m3fn = np.uint8  # only the dtype of the zero point, which is 0
    sys.modules.update({"onnx": onnx, "onnx.numpy_helper": helper, "onnx.reference": reference,
                        "onnx.reference.custom_element_types": custom})


class TensorData:
    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


rng = np.random.default_rng(20261205)


def f32(n):
    return np.asarray(n, dtype=np.float32)


def cases():
    # (name, batches, num_bins); ORT's compute_distribution needs at least 512 bins.
    yield "normal_512", [f32(rng.normal(0.0, 1.0, 20000))], 512
    yield "normal_shifted_2001", [f32(rng.normal(1.5, 0.5, 30000))], 2001
    yield "laplace_1024", [f32(rng.laplace(0.0, 2.0, 30000))], 1024
    yield "relu_2048", [f32(np.maximum(rng.normal(0.3, 1.0, 30000), 0.0))], 2048
    yield "long_tail_4096", [f32(rng.standard_t(2.0, 40000))], 4096
    yield "sparse_1000", [f32(rng.normal(0.0, 1.0, 200))], 1000
    yield "skewed_8192", [f32(np.concatenate([rng.normal(0.5, 1.0, 20000), [-30.0]]))], 8192
    # More bins than numpy's reduction buffer (8192): its pairwise sums run block by block.
    yield "uniform_20000", [f32(rng.uniform(-3.0, 7.0, 60000))], 20000
    yield "tiny_values_600", [f32(rng.normal(0.0, 1e-30, 5000))], 600
    yield "constant_512", [f32(np.full(1000, 3.0))], 512
    # Two batches, the second narrower (counted in the first batch's bins).
    yield "two_batches_narrower_1000", [f32(rng.normal(0.0, 2.0, 10000)),
                                        f32(rng.normal(0.0, 1.0, 10000))], 1000
    # Two batches, the second wider: ORT adds whole bins on both sides (2548 in all here).
    yield "two_batches_wider_1000", [f32(rng.normal(0.0, 1.0, 10000)),
                                     f32(rng.normal(0.0, 3.0, 10000))], 1000


def hexf(v):
    return float(v).hex()


def float_literal(v):
    return "nan" if np.isnan(v) else hexf(v) + "f"


def ints(a):
    return ", ".join(str(int(v)) for v in a)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    calibrate_py, quant_utils_py = sys.argv[1:]
    install_onnx_stub()
    ort = {"np": np, "os": os, "apply_plot": None, "print": lambda *a, **k: None,
           "TensorData": TensorData}
    load(calibrate_py, ["HistogramCollector"], ort)
    float8 = {"numpy": np, "FLOAT8_DISTRIBUTIONS": {},
              "TensorProto": types.SimpleNamespace(FLOAT8E4M3FN=17)}
    load(quant_utils_py, ["compute_scale_zp_float8"], float8)

    out = ["// Generated by tests/data/generate_ort_distribution_vectors.py from ONNX Runtime's",
           "// HistogramCollector (calibrate.py, commit b15ffcdd) and compute_scale_zp_float8, numpy "
           + np.__version__ + ". Do not edit.",
           "#pragma once\n#include <cstddef>\n#include <limits>\n#include <vector>\n",
           "namespace ort_distribution_vectors {\n",
           "constexpr float nan = std::numeric_limits<float>::quiet_NaN();\n",
           "// counts: ORT's histogram of the batches over [-t, t] (t: the threshold it stored);",
           "// data_min/max: the extremes it stored; avg/std: compute_distribution's TensorData for the",
           "// `same` and `p3` scenarios (float32); scale: compute_scale_zp_float8(FLOAT8E4M3FN, std).",
           "// nan: ORT's result was NaN (a variance that rounded below 0).",
           "struct distribution_case { const char* name; double t; double data_min, data_max; "
           "std::vector<double> counts; float same_avg, same_std, same_scale; float p3_avg, p3_std, "
           "p3_scale; };\n",
           "inline const std::vector<distribution_case>& cases() {",
           "  static const std::vector<distribution_case> all = {"]
    for name, batches, bins in cases():
        results = {}
        for scenario in ("same", "p3"):
            collector = object.__new__(ort["HistogramCollector"])
            collector.histogram_dict = {}
            collector.num_bins = bins
            collector.scenario = scenario
            for x in batches:
                collector.collect_value({"x": x})
            counts, edges, lo, hi, t = collector.histogram_dict["x"]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                td = collector.compute_distribution()["x"]
                _, scale = float8["compute_scale_zp_float8"](17, td.std)
            results[scenario] = (td.avg, td.std, scale)
        out.append(f'      {{"{name}", {hexf(t)}, {hexf(lo)}, {hexf(hi)},')
        out.append(f"       {{{ints(counts)}}},")
        parts = []
        for scenario in ("same", "p3"):
            parts += [float_literal(v) for v in results[scenario]]
        out.append("       " + ", ".join(parts) + "},")
    out += ["  };", "  return all;", "}\n"]
    values = np.array([e4m3fn_to_float32(i) for i in range(256)], dtype=np.float32)
    std_f8 = np.std(values[~np.isnan(values)])
    out += ["// numpy.std of the 254 finite E4M3FN values in code order, as ORT computes it.",
            f"constexpr float e4m3fn_std = {hexf(std_f8)}f;\n",
            "}  // namespace ort_distribution_vectors"]
    print("\n".join(out))


main()
