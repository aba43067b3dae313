#!/usr/bin/python3
"""Writes the .npy fixtures of tests/test_io_npy.cpp with NumPy (1.24, Debian 12).

Run from this directory: /usr/bin/python3 generate.py. The files are committed; the tests never
run Python.
"""
import numpy as np

base = np.arange(6).reshape(2, 3)
np.save("f4_2x3.npy", (base * 0.5 - 1).astype("<f4"))
np.save("f2_2x3.npy", np.array([[0.5, -2.0, 65504.0], [6.1035156e-05, -0.0, 1.0 / 3.0]], dtype="<f2"))
np.save("i1_2x3.npy", np.array([[-128, -1, 0], [1, 2, 127]], dtype="|i1"))
np.save("u1_2x3.npy", np.array([[0, 1, 2], [128, 254, 255]], dtype="|u1"))
np.save("i2_2x3.npy", np.array([[-32768, -1, 0], [1, 300, 32767]], dtype="<i2"))
np.save("i4_2x3.npy", np.array([[-2147483648, -1, 0], [1, 16777217, 2147483647]], dtype="<i4"))
np.save("f4_big_endian.npy", (base * 0.5 - 1).astype(">f4"))
np.save("f4_scalar.npy", np.array(2.5, dtype="<f4"))
np.save("f4_0x3.npy", np.zeros((0, 3), dtype="<f4"))
np.save("f4_fortran.npy", np.asfortranarray((base * 0.5 - 1).astype("<f4")))
np.save("f8_2x3.npy", base.astype("<f8"))
with open("f4_v2.npy", "wb") as f:
    np.lib.format.write_array(f, (base * 0.5 - 1).astype("<f4"), version=(2, 0))
with open("f4_2x3.npy", "rb") as f:
    whole = f.read()
with open("f4_truncated.npy", "wb") as f:
    f.write(whole[:-5])
