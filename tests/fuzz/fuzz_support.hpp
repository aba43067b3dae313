// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

// What the fuzz targets share: a failed property aborts with a message (libFuzzer saves the input
// as a crash), quanta::error is the one exception a target accepts, and the fuzzed bytes are read
// as raw values (every float, NaN and subnormals included) and as the options a caller can set.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "quanta/encoding.hpp"
#include "quanta/error.hpp"

namespace quanta_fuzz {

[[noreturn]] inline void property_failed(const char* file, int line, const char* condition,
                                         const std::string& detail) {
  std::fprintf(stderr, "%s:%d: property failed: %s\n  %s\n", file, line, condition, detail.c_str());
  std::abort();
}

// FUZZ_REQUIRE(cond, parts...): the parts are joined as QUANTA_THROW joins them.
#define FUZZ_REQUIRE(condition, ...)                                          \
  do {                                                                        \
    if (!(condition)) {                                                       \
      ::quanta_fuzz::property_failed(__FILE__, __LINE__, #condition,          \
                                     ::quanta::detail::message(__VA_ARGS__)); \
    }                                                                         \
  } while (false)

// Runs f, accepting a quanta::error (the function refused its arguments) and nothing else: any
// other exception escapes the target, which libFuzzer reports as a crash.
template <class F>
bool accepted(F&& f) {
  try {
    f();
    return true;
  } catch (const quanta::error&) {
    return false;
  }
}

// The next sizeof(T) bytes as a T, zero bytes once the input is exhausted.
template <class T>
T raw(FuzzedDataProvider& in) {
  unsigned char bytes[sizeof(T)] = {};
  in.ConsumeData(bytes, sizeof(T));
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

// Every option of compute_encoding, invalid combinations included: bitwidths 0..33, every scheme,
// profile and flag, min_range among AIMET's and SNPE's values, 0, and a raw double.
inline quanta::encoding_options encoding_options_from(FuzzedDataProvider& in) {
  quanta::encoding_options o;
  o.bitwidth = in.ConsumeIntegralInRange(0, 33);
  o.kind = static_cast<quanta::scheme>(in.ConsumeIntegralInRange(0, 3));
  o.is_signed = in.ConsumeBool();
  o.rules = static_cast<quanta::profile>(in.ConsumeIntegralInRange(0, 3));
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0:
      o.min_range = 0.01;
      break;
    case 1:
      o.min_range = 0.0001;
      break;
    case 2:
      o.min_range = 0.0;
      break;
    default:
      o.min_range = raw<double>(in);
      break;
  }
  o.skip_non_finite = in.ConsumeBool();
  o.pytorch_dynamic = in.ConsumeBool();
  o.onnx_symmetric_unsigned = in.ConsumeBool() ? quanta::onnx_unsigned_symmetric::full_range
                                               : quanta::onnx_unsigned_symmetric::reduced_range;
  o.qnn_adjusted = in.ConsumeBool();
  return o;
}

inline std::string describe(const quanta::encoding_options& o) {
  return quanta::detail::message("options{bitwidth ", o.bitwidth, ", scheme ",
                                 quanta::detail::scheme_name(o.kind), ", is_signed ", o.is_signed,
                                 ", profile ", quanta::detail::profile_name(o.rules),
                                 ", min_range ", o.min_range, ", pytorch_dynamic ",
                                 o.pytorch_dynamic, ", qnn_adjusted ", o.qnn_adjusted, "}");
}

inline std::string describe(const quanta::encoding& e) {
  return quanta::detail::message("encoding{scale ", e.scale, ", zero_point ", e.zero_point,
                                 ", bitwidth ", e.bitwidth, ", is_signed ", e.is_signed,
                                 ", narrow_range ", e.narrow_range, "}");
}

// An encoding a function returned: it must pass check_encoding and have the storage asked for.
inline void require_valid(const quanta::encoding& e, const quanta::encoding_options& o,
                          const std::string& call) {
  std::string why;
  try {
    quanta::detail::check_encoding("fuzz", e);
  } catch (const quanta::error& error) {
    why = error.what();
  }
  FUZZ_REQUIRE(why.empty(), call, " with ", describe(o), " returned ", describe(e),
               ", which check_encoding refuses: ", why);
  FUZZ_REQUIRE(e.bitwidth == o.bitwidth && e.is_signed == o.is_signed, call, " with ", describe(o),
               " returned ", describe(e), "; expected the options' storage");
}

}  // namespace quanta_fuzz
