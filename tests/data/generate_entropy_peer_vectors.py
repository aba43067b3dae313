#!/usr/bin/python3
"""Generates tests/data/entropy_peer_vectors.hpp: the threshold that MXNet's and ONNX Runtime's own
entropy (KL) calibration code picks on fixed data, so that quanta's entropy_variant::mxnet and
entropy_variant::onnxruntime are checked against it without a test-time dependency on either.

The peers' code, as this script was run on it:
- MXNet 1.5.1 (tag 1.5.1, commit c9818480680f84daa6e281a974ab263691302ba8),
  python/mxnet/contrib/quantization.py: `_get_optimal_thresholds`, `_get_optimal_threshold` and
  `_smooth_distribution`, the last release whose rule is numpy code (1.6 moved it to the C++
  operator _contrib_calibrate_entropy, src/operator/quantization/calibrate.cc).
- ONNX Runtime, onnxruntime/python/tools/quantization/calibrate.py at commit
  b15ffcdd9e362b9bd2e809b79b02b76611e281f1: classes CalibrationDataCollector and
  HistogramCollector (collect_value, merge_histogram, get_entropy_threshold), with
  `smooth_distribution` from quant_utils.py (commit 20e3ace0bbf50a3b69d8c33e76f212512938547a).
This script copies none of it: it takes the paths of those files, extracts the named definitions
with `ast`, executes them with numpy and scipy, and records what they return. np.histogram and
np.argmin are observed (not changed) to record the histogram each peer built and the candidate it
chose.

Run with Debian's python3-numpy and python3-scipy:
  /usr/bin/python3 tests/data/generate_entropy_peer_vectors.py \\
      MXNET_QUANTIZATION_PY ORT_CALIBRATE_PY ORT_QUANT_UTILS_PY > tests/data/entropy_peer_vectors.hpp
(ORT_QUANT_UTILS_PY may be the same file as ORT_CALIBRATE_PY when that holds smooth_distribution.)
"""
import abc
import os
import sys
import types
import warnings

import numpy as np
import scipy
import scipy.stats

from peer_source import load


class ObservedNumpy(types.ModuleType):
    """numpy, with the last np.histogram result and the last np.argmin input kept for the record."""

    def __init__(self):
        super().__init__("numpy")
        self.histograms = []
        self.argmins = []

    def __getattr__(self, name):
        return getattr(np, name)

    def histogram(self, *args, **kwargs):
        result = np.histogram(*args, **kwargs)
        self.histograms.append(result)
        return result

    def argmin(self, a, *args, **kwargs):
        self.argmins.append(np.array(a, copy=True))
        return np.argmin(a, *args, **kwargs)


rng = np.random.default_rng(20261204)


def f32(n):
    return np.asarray(n, dtype=np.float32)


def mxnet_cases():
    # (name, data, quantized_dtype, num_bins); MXNet's default is 8001 bins, 255 quantized bins
    # (511 when nothing is negative and the type is uint8 or auto).
    yield "mx_normal_8001", f32(rng.normal(0.0, 1.0, 60000)), "int8", 8001
    yield "mx_laplace_8001", f32(rng.laplace(0.0, 1.0, 60000)), "int8", 8001
    yield "mx_long_tail_2001", f32(rng.standard_t(2.0, 40000)), "int8", 2001
    yield "mx_relu_uint8_2001", f32(np.maximum(rng.normal(0.3, 1.0, 40000), 0.0)), "uint8", 2001
    yield "mx_relu_int8_2001", f32(np.maximum(rng.normal(0.3, 1.0, 40000), 0.0)), "int8", 2001
    # Few samples: most bins empty.
    yield "mx_sparse_2001", f32(rng.normal(0.0, 1.0, 400)), "int8", 2001
    # The smallest histograms MXNet accepts for int8 (one candidate at 255 bins).
    yield "mx_small_301", f32(rng.normal(0.0, 1.0, 5000)), "int8", 301
    yield "mx_small_255", f32(rng.normal(0.0, 1.0, 5000)), "int8", 255
    # Negative values far larger than the positive ones.
    yield "mx_skewed_1001", f32(np.concatenate([rng.normal(0.0, 1.0, 20000), [-25.0]])), "int8", 1001


def ort_cases():
    # (name, batches, num_bins, num_quantized_bins); ORT's defaults are 128 and 128.
    yield "ort_normal_defaults", [f32(rng.normal(0.0, 1.0, 20000))], 128, 128
    yield "ort_normal_2001", [f32(rng.normal(0.0, 1.0, 40000))], 2001, 128
    yield "ort_laplace_2001_255", [f32(rng.laplace(0.0, 1.0, 40000))], 2001, 255
    # Even bin counts: the zero bin starts at 0 and the windows are one bin wider on the right.
    yield "ort_normal_2048", [f32(rng.normal(0.0, 1.0, 40000))], 2048, 128
    yield "ort_relu_1001", [f32(np.maximum(rng.normal(0.3, 1.0, 30000), 0.0))], 1001, 128
    yield "ort_sparse_1001", [f32(rng.normal(0.0, 1.0, 300))], 1001, 128
    yield "ort_small_257_odd_q", [f32(rng.normal(0.0, 1.0, 5000))], 257, 127
    yield "ort_skewed_1001", [f32(np.concatenate([rng.normal(0.5, 1.0, 20000), [-30.0]]))], 1001, 128
    # Two batches, the second wider: ORT widens the histogram by whole bins on both sides.
    yield "ort_two_batches_501", [f32(rng.normal(0.0, 1.0, 10000)),
                                  f32(rng.normal(0.0, 2.0, 10000))], 501, 128


def histogram_data():
    """float32 data with values on numpy's float32 edges and one float below each: the bin rule."""
    x = f32(rng.normal(0.0, 1.0, 1200))
    t = np.float32(np.abs(x).max())
    extra = []
    for bins in (101, 128, 2048, 8001):
        edges = np.histogram(x, bins, range=(-t, t))[1]
        for k in rng.integers(1, bins, 12):
            extra += [edges[k], np.nextafter(edges[k], np.float32(-np.inf))]
    return np.concatenate([x, f32(extra)])


def hexf(v):
    return float(v).hex()


def ints(a):
    return ", ".join(str(int(v)) for v in a)


def record(out, name, peer, qbins, counts, value_range, data_min, data_max, divergence, t_lo, t_hi):
    """One entropy_case: value_range holds the histogram's ends first and last."""
    chosen = int(np.argmin(divergence))
    finite = np.sort(divergence[np.isfinite(divergence)])
    # How far the runner-up is from the minimum, relative: the margin float rounding would need.
    margin = float((finite[1] - finite[0]) / finite[0]) if len(finite) > 1 and finite[0] > 0 else 0.0
    nan = bool(np.isnan(divergence).any())
    lo, hi = value_range[0], value_range[-1]
    out.append(f'      {{"{name}", peer::{peer}, {qbins}, {hexf(lo)}, {hexf(hi)}, '
               f'{hexf(data_min)}, {hexf(data_max)},')
    out.append(f"       {{{ints(counts)}}},")
    out.append(f"       {chosen}, {hexf(t_lo)}, {hexf(t_hi)}, {'true' if nan else 'false'}}},"
               f"  // runner-up {margin:.3g} above")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    mxnet_py, ort_calibrate_py, ort_utils_py = sys.argv[1:]

    mx_np = ObservedNumpy()
    mx = {"np": mx_np, "stats": scipy.stats, "NDArray": type("NDArray", (), {})}
    load(mxnet_py, ["_smooth_distribution", "_get_optimal_threshold", "_get_optimal_thresholds"], mx)

    ort_np = ObservedNumpy()
    ort = {"np": ort_np, "abc": abc, "os": os, "apply_plot": None, "print": lambda *a, **k: None}
    load(ort_calibrate_py, ["CalibrationDataCollector", "HistogramCollector"], ort)
    utils = {"np": ort_np}
    load(ort_utils_py, ["smooth_distribution"], utils)
    ort["smooth_distribution"] = utils["smooth_distribution"]

    out = ["// Generated by tests/data/generate_entropy_peer_vectors.py from MXNet 1.5.1's",
           "// _get_optimal_threshold and ONNX Runtime's HistogramCollector (commit b15ffcdd), numpy "
           + np.__version__ + ", scipy " + scipy.__version__ + ". Do not edit.",
           "#pragma once\n#include <cstddef>\n#include <vector>\n",
           "namespace entropy_peer_vectors {\n",
           "enum class peer { mxnet, onnxruntime };\n",
           "// counts: the peer's np.histogram of x over [lo, hi] = [-t, t], t = max|x| for one batch;",
           "// data_min/max: the extremes of x; chosen: the candidate the peer's argmin picked (the",
           "// window of half-width quantized_bins / 2 + chosen around the zero bin); threshold_lo/hi:",
           "// the peer's range (MXNet: (-th, th), or (0, th) when nothing is negative); nan_candidate: some",
           "// candidate's divergence was NaN.",
           "struct entropy_case { const char* name; peer who; std::size_t quantized_bins; double lo, "
           "hi; double data_min, data_max; std::vector<double> counts; std::size_t chosen; "
           "double threshold_lo, threshold_hi; bool nan_candidate; };\n",
           "inline const std::vector<entropy_case>& cases() {",
           "  static const std::vector<entropy_case> all = {"]
    for name, x, dtype, bins in mxnet_cases():
        mx_np.histograms.clear()
        mx_np.argmins.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            t_lo, t_hi = mx["_get_optimal_thresholds"]({"x": x}, dtype, num_bins=bins)["x"]
        (counts, edges), = mx_np.histograms
        divergence, = mx_np.argmins
        qbins = 255 * 2 + 1 if x.min() >= 0 and dtype in ("auto", "uint8") else 255
        record(out, name, "mxnet", qbins, counts, edges, x.min(), x.max(), divergence, t_lo, t_hi)
    for name, batches, bins, qbins in ort_cases():
        ort_np.histograms.clear()
        ort_np.argmins.clear()
        collector = ort["HistogramCollector"]("entropy", False, bins, qbins, 99.999, "same")
        for x in batches:
            collector.collect({"x": x})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            t_lo, t_hi, counts, _ = collector.compute_collection_result()["x"]
        divergence, = ort_np.argmins
        all_x = np.concatenate(batches)
        # The range ORT binned over: its stored threshold (float64 once a batch has widened it,
        # where the float32 end edges are rounded).
        threshold = float(collector.get_histogram_dict()["x"][4])
        record(out, name, "onnxruntime", qbins, counts, (-threshold, threshold), all_x.min(),
               all_x.max(), divergence, t_lo, t_hi)
    out += ["  };", "  return all;", "}\n"]

    # The histograms ORT's HistogramCollector.collect_value builds (MXNet's _get_optimal_threshold
    # makes the same np.histogram call), for symmetric_entropy_histogram.
    x = histogram_data()
    out += ["// x: float32 data (some values on the float32 edges, some one float below); counts: the",
            "// peer's histogram of x with `bins` bins.",
            "inline const std::vector<float>& histogram_data() {",
            "  static const std::vector<float> x = {" + ", ".join(hexf(v) + "f" for v in x) + "};",
            "  return x;", "}\n",
            "struct histogram_case { std::size_t bins; std::vector<double> counts; };\n",
            "inline const std::vector<histogram_case>& histogram_cases() {",
            "  static const std::vector<histogram_case> all = {"]
    for bins in (101, 128, 2048, 8001):
        collector = ort["HistogramCollector"]("entropy", False, bins, 128, 99.999, "same")
        collector.collect({"x": x})
        counts = collector.get_histogram_dict()["x"][0]
        out.append(f"      {{{bins}, {{{ints(counts)}}}}},")
    out += ["  };", "  return all;", "}\n", "}  // namespace entropy_peer_vectors"]
    print("\n".join(out))


main()
