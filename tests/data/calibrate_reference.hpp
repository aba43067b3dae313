// REFERENCE.md section 4: a 32-bin |x| histogram of width 0.25 on [0, 8], with the amax values
// NVIDIA ModelOpt's rules give for it (4-bit signed, narrow range): entropy 4.0, MSE 4.375,
// percentile (left edge) 99% -> 3.75, 99.9% -> 6.5, 99.99% -> 7.75.
#pragma once

#include <quanta/calibrate/histogram.hpp>

#include <vector>

namespace quanta_test {

inline quanta::histogram reference_magnitude_histogram() {
  const std::vector<double> counts = {500, 300, 220, 160, 120, 90, 70, 52, 40, 30, 22,
                                      16,  12,  9,   7,   5,   4,  3,  2,  2,  1,  1,
                                      0,   1,   0,   0,   1,   0,  0,  0,  0,  1};
  return quanta::histogram::from_counts(counts, 0.0, 8.0, quanta::histogram_domain::magnitude);
}

// 4-bit signed narrow range [-7, 7], PyTorch arithmetic (ModelOpt's fake quantization).
inline quanta::encoding_options int_narrow(int bits) {
  quanta::encoding_options o;
  o.bitwidth = bits;
  o.kind = quanta::scheme::symmetric_strict;
  o.is_signed = true;
  o.rules = quanta::profile::pytorch;
  return o;
}

}  // namespace quanta_test
