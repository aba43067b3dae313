// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

// A float the compiler must round and keep as it is, so that a product followed by an addition is
// never contracted into one FMA. A host may compile quanta's headers with -ffp-contract=fast (GCC's
// default outside ISO mode, with -march giving FMA); a fused a*b+c rounds once where the math
// contract, and the peers quanta reproduces, round the product first.
namespace quanta::detail {

inline float rounded(float v) noexcept {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && defined(__SSE__)
  __asm__("" : "+x"(v));
#elif defined(__GNUC__) && defined(__aarch64__)
  __asm__("" : "+w"(v));
#else
  volatile float stored = v;
  v = stored;
#endif
  return v;
}

}  // namespace quanta::detail
