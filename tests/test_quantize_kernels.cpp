// Parity of the SIMD quantize kernels with quanta::ref, on every instruction set this machine has.
#include "kernel_arch.hpp"

#ifdef QUANTA_TEST_ARCH
#include <quanta/detail/quantize_kernels.hpp>
#include <quanta/quantize.hpp>
#include <quanta/ref/quantize.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "support/quantize_kernel_checks.hpp"

using quanta::block_layout;
using quanta::channel_layout;
using quanta::encoding;
using quanta::profile;
using quanta::quantize_options;
using quanta::rounding;
using quanta::test::runnable;

using namespace quanta::test;  // the shared inputs, encodings and comparisons

namespace {

// quantize, dequantize and quantize_dequantize of one encoding and options, every length.
template <class Arch, class Q>
void check_tensor(const encoding& e, const quantize_options& o, const std::vector<float>& data,
                  const std::vector<std::size_t>& lengths) {
  const quanta::detail::affine_params p = quanta::detail::make_affine_params(e, o);
  for (std::size_t n : lengths) {
    // Exact-size buffers, so that AddressSanitizer sees any access past a tail.
    const std::vector<float> x(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
    std::vector<Q> q(n), q_ref(n);
    quanta::detail::quantize_tensor<Arch>(x.data(), n, p, q.data());
    quanta::ref::quantize(quanta::span<const float>(x), e, quanta::span<Q>(q_ref), o);
    INFO("n " << n << ", first difference at " << first_difference(q, q_ref));
    REQUIRE(same_bits(q, q_ref));

    std::vector<float> y(n), y_ref(n);
    quanta::detail::dequantize_tensor<Arch>(q.data(), n, p, y.data());
    quanta::ref::dequantize(quanta::span<const Q>(q), e, quanta::span<float>(y_ref));
    REQUIRE(same_bits(y, y_ref));

    quanta::detail::quantize_dequantize_tensor<Arch>(x.data(), n, p, y.data());
    quanta::ref::quantize_dequantize(quanta::span<const float>(x), e, quanta::span<float>(y_ref),
                                     o);
    REQUIRE(same_bits(y, y_ref));
  }
}

// Dequantize of codes outside [qmin, qmax] (the caller's storage may hold anything).
template <class Arch, class Q>
void check_dequantize_any_code(const encoding& e) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::int64_t> code(std::numeric_limits<Q>::min(),
                                                   std::numeric_limits<Q>::max());
  std::vector<Q> q(1000);
  for (auto& v : q)
    v = static_cast<Q>(code(rng));
  q[0] = std::numeric_limits<Q>::min();
  q[1] = std::numeric_limits<Q>::max();
  const auto p = quanta::detail::make_affine_params(e, quantize_options{});
  std::vector<float> y(q.size()), y_ref(q.size());
  quanta::detail::dequantize_tensor<Arch>(q.data(), q.size(), p, y.data());
  quanta::ref::dequantize(quanta::span<const Q>(q), e, quanta::span<float>(y_ref));
  REQUIRE(same_bits(y, y_ref));
}

// Every encoding and option on a few lengths; every length on the first encodings.
template <class Arch, class Q>
void check_all_tensor() {
  const std::vector<float> data = special_inputs(70000, 1234u + sizeof(Q));
  const std::vector<std::size_t> few = {0, 1, 67, 1000}, every = all_lengths();
  std::size_t index = 0;
  for (const encoding& e : encodings_for<Q>()) {
    const bool sweep = index++ % 16 == 0;
    for (const quantize_options& o : all_options()) {
      INFO(quanta::detail::storage_name<Q>()
           << " bitwidth " << e.bitwidth << " narrow " << e.narrow_range << " zero point "
           << e.zero_point << " scale " << e.scale << " round " << static_cast<int>(o.round)
           << " divide " << o.divide_by_scale << " pre " << o.zero_point_before_rounding);
      check_tensor<Arch, Q>(e, o, data, sweep ? every : few);
    }
    check_dequantize_any_code<Arch, Q>(e);
  }
}

// Finite codes of moderate size, so that whole blocks of 8-bit storage take the fast path (offset
// and clamp after narrowing), with ties, codes at the -32768 boundary where that path gives up, and
// a special value (NaN, infinities, huge values) in a few blocks only. t-space values times scale.
std::vector<float> sparse_special_inputs(std::size_t n, float scale, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> moderate(-40000.0f, 40000.0f);
  std::uniform_int_distribution<int> ties(-300, 300);
  std::uniform_int_distribution<int> pick(0, 7);
  std::uniform_int_distribution<std::size_t> rare(0, 599);
  const float boundary[] = {-32767.5f, -32768.0f, -32766.5f, 32767.5f, 32768.0f, -32769.0f};
  const float specials[] = {nan_value, inf, -inf, 3.4e38f, -3.4e38f, -1e10f, 1e10f};
  std::vector<float> x(n);
  for (auto& v : x) {
    float t = 0.0f;
    switch (pick(rng)) {
      case 0:
      case 1:
        t = static_cast<float>(ties(rng)) + 0.5f;
        break;
      case 2:
        t = std::nextafter(static_cast<float>(ties(rng)) + 0.5f, pick(rng) < 4 ? -inf : inf);
        break;
      case 3:
        t = boundary[std::uniform_int_distribution<std::size_t>(0, std::size(boundary) - 1)(rng)];
        break;
      default:
        t = moderate(rng) / 64.0f;
        break;
    }
    v = t * scale;
    if (rare(rng) == 0) {
      v = specials[std::uniform_int_distribution<std::size_t>(0, std::size(specials) - 1)(rng)];
    }
  }
  return x;
}

// quantize of 8-bit storage on inputs that start at every alignment within a 64-byte line.
template <class Arch, class Q>
void check_bytes_fast_path() {
  const std::size_t lengths[] = {0, 1, 65, 255, 256, 513, 1000, 4099};
  std::uint32_t seed = 99;
  for (const encoding& e : encodings_for<Q>()) {
    const std::vector<float> data = sparse_special_inputs(4099 + 16, e.scale, ++seed);
    for (const quantize_options& o : all_options()) {
      const quanta::detail::affine_params p = quanta::detail::make_affine_params(e, o);
      for (std::size_t shift : {0u, 1u, 7u}) {
        for (std::size_t n : lengths) {
          INFO(quanta::detail::storage_name<Q>()
               << " bitwidth " << e.bitwidth << " narrow " << e.narrow_range << " zero point "
               << e.zero_point << " scale " << e.scale << " round " << static_cast<int>(o.round)
               << " divide " << o.divide_by_scale << " pre " << o.zero_point_before_rounding
               << " shift " << shift << " n " << n);
          const float* x = data.data() + shift;
          std::vector<Q> q(n), q_ref(n);
          quanta::detail::quantize_tensor<Arch>(x, n, p, q.data());
          quanta::ref::quantize(quanta::span<const float>(x, n), e, quanta::span<Q>(q_ref), o);
          INFO("first difference at " << first_difference(q, q_ref));
          REQUIRE(same_bits(q, q_ref));
        }
      }
    }
  }
}

// 16-bit encodings for the narrow-first path: encodings_for's, plus zero points a little and far
// away from the centre, so that the codes [qmin - zp, qmax - zp] lie in int16, or stick out of it
// below or above (every word_shift, with and without clamp).
template <class Q>
std::vector<encoding> word_encodings() {
  std::vector<encoding> r = encodings_for<Q>();
  constexpr std::int64_t centre = std::numeric_limits<Q>::is_signed ? 0 : 32768;
  for (int bits : {16, 12}) {
    for (bool narrow : {false, true}) {
      encoding e{0.25f, 0, bits, std::numeric_limits<Q>::is_signed, narrow};
      const std::int64_t mid = bits == 16 ? centre : (e.qmin() + e.qmax() + 1) / 2;
      for (std::int64_t d : {-20000, -100, -3, -1, 1, 3, 100, 20000}) {
        const std::int64_t zp = mid + d;
        if (zp < e.qmin() || zp > e.qmax()) continue;
        e.zero_point = static_cast<std::int32_t>(zp);
        for (float scale : {1.0f, 0.25f, 0.1f}) {
          e.scale = scale;
          r.push_back(e);
        }
      }
    }
  }
  return r;
}

// Inputs for 16-bit storage in zones of 512 elements: no special value, rare ones, none, frequent
// ones. Ordinary values are codes inside [qmin + 1, qmax - 1] (ties, neighbours of ties, random,
// +-0, denormals), which the narrow-first path accepts; special values are NaN, infinities, huge
// values and the codes next to every boundary the path has: both ends of the range and 65535 or
// 65536 beyond them (the limits of the shifted code, word_shift), and +-32766..32769 as the code
// before the zero point is added (around zp; around the storage minimum for QNN, which adds the
// zero point before rounding) and as the stored code. Returned as x = (code - zp) * scale.
std::vector<float> word_inputs(const encoding& e, std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  const double qmin = e.qmin(), qmax = e.qmax(), zp = e.zero_point;
  const double smin = static_cast<double>(e.storage_min());
  std::uniform_real_distribution<double> inside(qmin + 1.0, qmax - 1.0);
  std::uniform_int_distribution<int> pick(0, 7);
  std::uniform_int_distribution<int> rare(0, 999), frequent(0, 29);
  std::vector<double> boundary;
  for (double d : {-65536.0, -65535.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0})
    boundary.push_back(qmin + d);
  for (double d : {-1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 65535.0, 65536.0})
    boundary.push_back(qmax + d);
  for (double base : {zp, smin, 0.0}) {
    for (double d : {32766.0, 32767.0, 32767.5, 32768.0, 32769.0}) {
      boundary.push_back(base + d);
      boundary.push_back(base - d);
    }
  }
  const float specials[] = {nan_value, -nan_value, inf, -inf, 3.4e38f, -3.4e38f, 1e10f, -1e10f};
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t zone = (i / 512) % 4;
    const bool special = (zone == 1 && rare(rng) == 0) || (zone == 3 && frequent(rng) == 0);
    double code = 0.0;
    if (special) {
      const std::size_t k = std::uniform_int_distribution<std::size_t>(
          0, boundary.size() + std::size(specials) - 1)(rng);
      if (k >= boundary.size()) {
        x[i] = specials[k - boundary.size()];
        continue;
      }
      code = boundary[k];
      // Half the time a neighbour of the boundary value, to either side.
      const int side = pick(rng);
      const float v = static_cast<float>((code - zp) * e.scale);
      x[i] = side < 2 ? std::nextafter(v, -inf) : side < 4 ? std::nextafter(v, inf) : v;
      continue;
    }
    switch (pick(rng)) {
      case 0:
        x[i] = pick(rng) < 4 ? 0.0f : -0.0f;
        continue;
      case 1:
        x[i] = pick(rng) < 4 ? 1e-45f : -1.17e-38f;
        continue;
      case 2:
      case 3:
        code = std::floor(inside(rng)) + 0.5;
        break;
      default:
        code = inside(rng);
        break;
    }
    const float v = static_cast<float>((code - zp) * e.scale);
    x[i] = pick(rng) == 0 ? std::nextafter(v, pick(rng) < 4 ? -inf : inf) : v;
  }
  return x;
}

// quantize of 16-bit storage (the narrow-first path and its refusals) from several starting
// points: in a zone without special values, and in zones with rare and frequent ones.
template <class Arch, class Q>
void check_words_fast_path() {
  const std::vector<std::size_t> all_starts = {0, 1, 7, 512 + 3, 1536 + 5},
                                 some_starts = {1, 515, 1541};
  std::vector<std::size_t> every;
  for (std::size_t n = 0; n <= 200; ++n)
    every.push_back(n);
  for (std::size_t n : {255u, 256u, 257u, 513u, 1000u, 2051u, 4099u})
    every.push_back(n);
  const std::vector<std::size_t> few = {0, 1, 31, 32, 33, 64, 257, 2051};
  std::uint32_t seed = 555;
  std::size_t index = 0;
  for (const encoding& e : word_encodings<Q>()) {
    const std::vector<float> data = word_inputs(e, 1536 + 5 + 4099, ++seed);
    const bool sweep = index++ % 8 == 0;
    for (const quantize_options& o : all_options()) {
      const quanta::detail::affine_params p = quanta::detail::make_affine_params(e, o);
      INFO(quanta::detail::storage_name<Q>()
           << " bitwidth " << e.bitwidth << " narrow " << e.narrow_range << " zero point "
           << e.zero_point << " scale " << e.scale << " round " << static_cast<int>(o.round)
           << " divide " << o.divide_by_scale << " pre " << o.zero_point_before_rounding);
      for (std::size_t start : sweep ? some_starts : all_starts) {
        for (std::size_t n : sweep ? every : few) {
          INFO("start " << start << " n " << n);
          // Short inputs are exact-size copies, so that AddressSanitizer sees any read past a
          // tail; long ones start at the alignment the start gives.
          const float* x = data.data() + start;
          std::vector<float> copy;
          if (n <= 256) {
            copy = std::vector<float>(x, x + n);
            x = copy.data();
          }
          std::vector<Q> q(n), q_ref(n);
          quanta::detail::quantize_tensor<Arch>(x, n, p, q.data());
          quanta::ref::quantize(quanta::span<const float>(x, n), e, quanta::span<Q>(q_ref), o);
          INFO("first difference at " << first_difference(q, q_ref));
          REQUIRE(same_bits(q, q_ref));
        }
      }
    }
  }
}

// Outputs of at least stream_output_bytes, which the per-tensor kernels write with non-temporal
// stores from the first register-aligned element on: an odd length at an odd offset into a buffer
// whose elements on both sides must stay as they were.
template <class T>
class guarded_output {
 public:
  explicit guarded_output(std::size_t n) : buffer_(guard + n + guard, sentinel) {}
  T* data() noexcept { return buffer_.data() + guard; }
  std::vector<T> values() const { return std::vector<T>(begin() + guard, end() - guard); }
  bool guards_intact() const {
    const auto intact = [](T v) { return std::memcmp(&v, &sentinel, sizeof(T)) == 0; };
    return std::all_of(begin(), begin() + guard, intact) &&
           std::all_of(end() - guard, end(), intact);
  }

 private:
  static constexpr std::size_t guard = 3;
  static constexpr T sentinel = static_cast<T>(77);
  typename std::vector<T>::const_iterator begin() const { return buffer_.begin(); }
  typename std::vector<T>::const_iterator end() const { return buffer_.end(); }
  std::vector<T> buffer_;
};

// The smallest odd length whose output of Out streams, plus a few registers and a partial one.
template <class Out>
std::size_t streamed_length() {
  return quanta::detail::stream_output_bytes / sizeof(Out) + 16 * 5 + 7;
}

// Quantize of one encoding past the streaming size from an odd input offset into a guarded output,
// then dequantize of those codes, also past the streaming size of its float output.
template <class Arch, class Q>
void check_streamed(const encoding& e, const quantize_options& o, const std::vector<float>& data) {
  const std::size_t n = streamed_length<Q>();
  const quanta::detail::affine_params p = quanta::detail::make_affine_params(e, o);
  const float* x = data.data() + 1;
  std::vector<Q> q_ref(n);
  quanta::ref::quantize(quanta::span<const float>(x, n), e, quanta::span<Q>(q_ref), o);
  std::vector<float> y_ref(n);
  quanta::ref::dequantize(quanta::span<const Q>(q_ref), e, quanta::span<float>(y_ref));
  guarded_output<Q> q(n);
  quanta::detail::quantize_tensor<Arch>(x, n, p, q.data());
  REQUIRE(q.guards_intact());
  const std::vector<Q> codes = q.values();
  INFO("first difference at " << first_difference(codes, q_ref));
  REQUIRE(same_bits(codes, q_ref));

  guarded_output<float> y(n);
  quanta::detail::dequantize_tensor<Arch>(q.data(), n, p, y.data());
  REQUIRE(y.guards_intact());
  REQUIRE(same_bits(y.values(), y_ref));
}

// PyTorch's rules (multiply, half to even) or QNN's (divide, zero point before rounding, half away
// from zero) by turns: the stores do not depend on them, so one call per encoding is enough.
profile profile_for(std::uint32_t seed) {
  return seed % 2 == 0 ? profile::pytorch : profile::qnn;
}

template <class Arch, class Q>
void check_streamed_bytes() {
  const std::size_t n = streamed_length<Q>();
  constexpr bool is_signed = std::numeric_limits<Q>::is_signed;
  // A full range (no clamp after the packs) and a narrow one (clamp), with specials in a few
  // blocks, which the exact kernel stores between streamed blocks.
  const encoding full{0.1f, is_signed ? 3 : 131, 8, is_signed, false};
  const encoding narrow{0.25f, is_signed ? -1 : 9, 4, is_signed, true};
  std::uint32_t seed = 31;
  for (const encoding& e : {full, narrow}) {
    const std::vector<float> data = sparse_special_inputs(n + 1, e.scale, ++seed);
    const profile pr = profile_for(seed);
    INFO(quanta::detail::storage_name<Q>()
         << " bitwidth " << e.bitwidth << " profile " << static_cast<int>(pr) << " n " << n);
    check_streamed<Arch, Q>(e, quantize_options::for_profile(pr), data);
  }
}

template <class Arch, class Q>
void check_streamed_words() {
  const std::size_t n = streamed_length<Q>();
  constexpr bool is_signed = std::numeric_limits<Q>::is_signed;
  constexpr std::int32_t centre = is_signed ? 0 : 32768;
  // Codes inside int16 (no shift), sticking out below (subtract) and above (reverse), and a
  // 12-bit range (clamp).
  std::vector<encoding> encodings;
  for (std::int32_t d : {0, 100, -100})
    encodings.push_back(encoding{0.25f, centre + d, 16, is_signed, false});
  encodings.push_back(encoding{0.1f, is_signed ? 5 : 2053, 12, is_signed, true});
  std::uint32_t seed = 71;
  for (const encoding& e : encodings) {
    const std::vector<float> data = word_inputs(e, n + 1, ++seed);
    const profile pr = profile_for(seed);
    INFO(quanta::detail::storage_name<Q>()
         << " bitwidth " << e.bitwidth << " zero point " << e.zero_point << " profile "
         << static_cast<int>(pr) << " n " << n);
    check_streamed<Arch, Q>(e, quantize_options::for_profile(pr), data);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("quantize kernels equal the reference, per tensor", "[kernels][quantize]",
                   QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  INFO("instruction set " << TestType::name());
  check_all_tensor<TestType, std::int8_t>();
  check_all_tensor<TestType, std::uint8_t>();
  check_all_tensor<TestType, std::int16_t>();
  check_all_tensor<TestType, std::uint16_t>();
  check_all_tensor<TestType, std::int32_t>();
}

TEMPLATE_TEST_CASE("quantize kernels equal the reference, 8-bit blocks without specials",
                   "[kernels][quantize]", QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  INFO("instruction set " << TestType::name());
  check_bytes_fast_path<TestType, std::int8_t>();
  check_bytes_fast_path<TestType, std::uint8_t>();
}

TEMPLATE_TEST_CASE("quantize kernels equal the reference, 16-bit blocks without specials",
                   "[kernels][quantize]", QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  INFO("instruction set " << TestType::name());
  check_words_fast_path<TestType, std::int16_t>();
  check_words_fast_path<TestType, std::uint16_t>();
}

TEMPLATE_TEST_CASE("quantize kernels: hand-computed codes", "[kernels][quantize]",
                   QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  // uint8, scale 0.5, zero point 10: x / 0.5 = {2.5 -> 2 (even) | 3 (away, up), -2.5 -> -2 | -3 |
  // -2}.
  const encoding e{0.5f, 10, 8, false};
  const std::vector<float> x = {1.25f, -1.25f, nan_value, inf, -inf, -0.0f, 1e-45f, 200.0f};
  std::vector<std::uint8_t> q(x.size());
  quanta::quantize<TestType>(x, e, q, quantize_options{rounding::half_even, false, false});
  CHECK(q == std::vector<std::uint8_t>{12, 8, 10, 255, 0, 10, 10, 255});
  quanta::quantize<TestType>(x, e, q, quantize_options{rounding::half_away, true, false});
  CHECK(q == std::vector<std::uint8_t>{13, 7, 10, 255, 0, 10, 10, 255});
  quanta::quantize<TestType>(x, e, q, quantize_options{rounding::half_up, false, false});
  CHECK(q == std::vector<std::uint8_t>{13, 8, 10, 255, 0, 10, 10, 255});

  // A denormal scale makes 1/scale infinite: 0 * inf is NaN, which quantizes as 0.0.
  const encoding tiny{1e-40f, 3, 8, true};
  const std::vector<float> z = {0.0f, -0.0f, 1.0f, -1.0f, nan_value};
  std::vector<std::int8_t> qz(z.size());
  quanta::quantize<TestType>(z, tiny, qz);
  CHECK(qz == std::vector<std::int8_t>{3, 3, 127, -128, 3});
}

TEMPLATE_TEST_CASE("quantize kernels equal the reference, outputs written with streaming stores",
                   "[kernels][quantize][stream]", QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  check_streamed_bytes<TestType, std::uint8_t>();
  check_streamed_bytes<TestType, std::int8_t>();
  check_streamed_words<TestType, std::int16_t>();
  check_streamed_words<TestType, std::uint16_t>();
}

#endif  // QUANTA_TEST_ARCH
