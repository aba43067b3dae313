// Inputs shared by the pack tests (test_pack.cpp: the public functions; test_pack_kernels.cpp: the
// fused and SIMD kernels on every instruction set).
#pragma once

#include <quanta/encoding.hpp>

#include "random_floats.hpp"

#include <cstdint>
#include <vector>

namespace quanta::test {

using bytes = std::vector<std::uint8_t>;

inline encoding_options four_bit(bool is_signed, scheme kind = scheme::asymmetric) {
  encoding_options o;
  o.bitwidth = 4;
  o.is_signed = is_signed;
  o.kind = kind;
  return o;
}

}  // namespace quanta::test
