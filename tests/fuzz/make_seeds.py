#!/usr/bin/env python3
"""Writes the seed corpora of the structured fuzz targets (fuzz_pack, fuzz_compute_encoding,
fuzz_calibrate) into tests/fuzz/corpus/<target>/: a few valid inputs of each kind, so that every
run starts from every packing, profile, scheme and calibration method instead of finding them.

The targets read their input with LLVM's FuzzedDataProvider: raw values (floats, doubles, the
values to pack) from the front, and integers, booleans and choices from the back, the last byte
first. A seed is those two streams, the back one reversed. Run: python3 tests/fuzz/make_seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


class Seed:
    def __init__(self):
        self.front = bytearray()
        self.back = []  # bytes in the order the target consumes them

    def f32(self, v):
        self.front += struct.pack("<f", v)

    def f64(self, v):
        self.front += struct.pack("<d", v)

    def raw(self, data):
        self.front += bytes(data)

    def integer(self, lo, hi, v):
        """FuzzedDataProvider::ConsumeIntegralInRange(lo, hi) returning v: the fewest bytes that
        cover hi - lo, most significant first."""
        assert lo <= v <= hi
        span, offset, n = hi - lo, 0, 0
        while offset < 64 and (span >> offset) > 0:
            n, offset = n + 1, offset + 8
        for k in reversed(range(n)):
            self.back.append(((v - lo) >> (8 * k)) & 0xFF)

    def boolean(self, b):
        self.integer(0, 255, 1 if b else 0)

    def data(self):
        return bytes(self.front) + bytes(reversed(self.back))


# fuzz_support.hpp's encoding_options_from. Profiles: qnn, pytorch, onnx, tflite; schemes:
# asymmetric, symmetric, symmetric_strict, unsigned_symmetric; min_range choice 0: 0.01.
def options(s, bitwidth, scheme, signed, profile, qnn_adjusted=False, pytorch_dynamic=False):
    s.integer(0, 33, bitwidth)
    s.integer(0, 3, scheme)
    s.boolean(signed)
    s.integer(0, 3, profile)
    s.integer(0, 3, 0)
    s.boolean(False)  # skip_non_finite
    s.boolean(pytorch_dynamic)
    s.boolean(False)  # onnx full_range
    s.boolean(qnn_adjusted)


# Storage each profile uses in practice: (bitwidth, signed).
STORAGE = [(8, False), (8, True), (4, True), (16, False), (32, True)]


def compute_encoding_seeds():
    seeds = {}
    for profile, pname in enumerate(["qnn", "pytorch", "onnx", "tflite"]):
        for scheme, sname in enumerate(["asym", "sym", "strict", "usym"]):
            for bits, signed in STORAGE:
                s = Seed()
                s.f32(-1.5)
                s.f32(4.25)
                options(s, bits, scheme, signed, profile)
                seeds[f"{pname}_{sname}_{'i' if signed else 'u'}{bits}"] = s.data()
    for name, lo, hi, adjusted, dynamic, profile in [
        ("qnn_adjusted", -0.3, 7.0, True, False, 0),
        ("pytorch_dynamic", -2.0, 0.5, False, True, 1),
        ("zero_range", 0.0, 0.0, False, False, 0),
        ("positive_range", 0.25, 3.0, False, False, 2),
    ]:
        s = Seed()
        s.f32(lo)
        s.f32(hi)
        options(s, 8, 0, False, profile, qnn_adjusted=adjusted, pytorch_dynamic=dynamic)
        seeds[name] = s.data()
    # 32-bit asymmetric grids whose zero point needs more than float's 24 bits (QNN adds it
    # before rounding), and a negative range, whose zero point is the top of the grid.
    for profile, pname in enumerate(["qnn", "pytorch", "onnx", "tflite"]):
        for name, lo, hi in [("wide_zero", -1e-3, 5e3), ("negative", -10.0, -5.0)]:
            s = Seed()
            s.f32(lo)
            s.f32(hi)
            options(s, 32, 0, True, profile)
            seeds[f"{pname}_asym_i32_{name}"] = s.data()
    return seeds


def pack_seeds():
    seeds = {}
    for kind, name in enumerate(["int4", "uint4", "int2", "uint2"]):
        for by_rows in (False, True):
            s = Seed()
            s.integer(0, 3, kind)
            s.integer(0, 2, 1 if by_rows else 0)  # flat, rows (fused below)
            s.integer(1, 67, 7)  # cols
            s.raw(bytes((v * 37 + 3) & 0xFF for v in range(29)))  # in range and out of it
            seeds[f"{name}_{'rows' if by_rows else 'flat'}"] = s.data()
        # Fused: quantize_pack / unpack_dequantize (mode 2), zero point 1, scale 0.25, QNN's
        # arithmetic (half away, divide, zero point before rounding).
        s = Seed()
        s.integer(0, 3, kind)
        s.integer(0, 2, 2)
        s.boolean(False)  # narrow_range
        bits, signed = (4 if kind < 2 else 2), kind in (0, 2)
        lo = -(1 << (bits - 1)) if signed else 0
        hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
        s.integer(lo - 1, hi + 1, 1)
        s.f32(0.25)
        s.integer(0, 2, 1)
        s.boolean(True)
        s.boolean(True)
        for k in range(21):
            s.f32((k - 10) * 0.3)
        seeds[f"{name}_fused"] = s.data()
    return seeds


def calibrate_seeds():
    seeds = {}
    data = [((k * 7919) % 200 - 60) / 16.0 for k in range(40)]

    def method_options(s, method, magnitude):
        s.integer(0, 3, method)
        if method == 0:  # percentile: 99.99, interpolate
            s.integer(0, 2, 0)
            s.boolean(False)
        elif method == 1:  # mse: exact, start_bin 0
            s.boolean(False)
            s.integer(0, 40, 0)
        elif method == 2:  # entropy: tensorrt (magnitude) or mxnet, no smoothing, start_bin 0
            s.boolean(not magnitude)
            s.integer(0, 2, 0)
            s.integer(0, 40, 0)
        else:  # tf_enhanced: gamma 3
            s.integer(0, 2, 0)

    for method, mname in enumerate(["percentile", "mse", "entropy", "tf_enhanced"]):
        for magnitude in (False, True):
            scheme = 1 if magnitude else 0
            # Two-sided entropy windows need more bins than levels: 4 bits for 64 or 128 bins.
            bits = 4 if method == 2 and not magnitude else 8
            # Observed from one batch.
            s = Seed()
            options(s, bits, scheme, magnitude, 0)
            method_options(s, method, magnitude)
            s.integer(1, 600, 128)
            s.boolean(magnitude)
            s.integer(0, 2, 1)
            s.boolean(False)  # skip_non_finite
            s.integer(1, 3, 1)
            s.integer(0, 64, len(data))
            for v in data:
                s.f32(v)
            domain = "magnitude" if magnitude else "value"
            seeds[f"{mname}_{domain}_observed"] = s.data()
            # From whole counts over [0, 1] (magnitude histograms must start at 0).
            s = Seed()
            options(s, bits, scheme, magnitude, 1)
            method_options(s, method, magnitude)
            s.integer(1, 600, 64)
            s.boolean(magnitude)
            s.integer(0, 2, 0)
            s.boolean(True)  # whole counts
            s.integer(0, 2, 0)  # lo 0
            s.integer(0, 2, 0)  # hi 1
            for k in range(64):
                s.integer(0, 65535, (k * 31) % 97)
            seeds[f"{mname}_{domain}_counts"] = s.data()
    # Growth from a narrow first batch to a huge value, and from the top of the float range to
    # the bottom: factors far beyond 2^53, which once never ended (or converted out of range).
    for name, batches in [("narrow_then_huge", [[1e-30, 2e-30], [3e38]]),
                          ("huge_then_lowest", [[3e38], [-3.4028234663852886e38]]),
                          ("subnormal_then_max", [[1e-45], [3.4028234663852886e38, 0.5]])]:
        for method, mname in enumerate(["percentile", "mse", "entropy", "tf_enhanced"]):
            magnitude = name == "subnormal_then_max"
            s = Seed()
            options(s, 8, 1 if magnitude else 0, magnitude, 0)
            method_options(s, method, magnitude)
            s.integer(1, 600, 128)
            s.boolean(magnitude)
            s.integer(0, 2, 1)
            s.boolean(False)  # skip_non_finite
            s.integer(1, 3, len(batches))
            for b in batches:
                s.integer(0, 64, len(b))
                for v in b:
                    s.f32(v)
            seeds[f"{mname}_growth_{name}"] = s.data()
    return seeds


def main():
    for target, seeds in [("fuzz_compute_encoding", compute_encoding_seeds()),
                          ("fuzz_pack", pack_seeds()), ("fuzz_calibrate", calibrate_seeds())]:
        directory = os.path.join(HERE, "corpus", target)
        os.makedirs(directory, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
