// Parity of the fused and SIMD pack kernels with quanta::ref, on every instruction set this
// machine has.
#include "kernel_arch.hpp"

#ifdef QUANTA_TEST_ARCH
#include <quanta/pack.hpp>
#include <quanta/quantize.hpp>
#include <quanta/reduce.hpp>
#include <quanta/ref/pack.hpp>
#include <quanta/ref/quantize.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include "data/pack_fbgemm_vectors.hpp"
#include "support/pack_checks.hpp"

using quanta::block_layout;
using quanta::channel_layout;
using quanta::encoding;
using quanta::encoding_options;
using quanta::quantize_options;
using quanta::scheme;
using quanta::test::runnable;

using namespace quanta::test;  // the shared inputs

namespace {

// The four storage types, as (unpacked type, bits).
template <class T, int Bits>
struct format {
  using type = T;
  static constexpr int bits = Bits;
  static constexpr int min = std::is_signed_v<T> ? -(1 << (Bits - 1)) : 0;
  static constexpr int max = std::is_signed_v<T> ? (1 << (Bits - 1)) - 1 : (1 << Bits) - 1;
};

template <class F>
void for_each_format(F&& f) {
  f(format<std::int8_t, 4>{});
  f(format<std::uint8_t, 4>{});
  f(format<std::int8_t, 2>{});
  f(format<std::uint8_t, 2>{});
}

// The public functions of one format, by name.
template <class Arch, class T, int Bits>
void pack_public(const std::vector<T>& v, bytes& packed) {
  if constexpr (Bits == 4 && std::is_signed_v<T>) quanta::pack_int4<Arch>(v, packed);
  if constexpr (Bits == 4 && !std::is_signed_v<T>) quanta::pack_uint4<Arch>(v, packed);
  if constexpr (Bits == 2 && std::is_signed_v<T>) quanta::pack_int2<Arch>(v, packed);
  if constexpr (Bits == 2 && !std::is_signed_v<T>) quanta::pack_uint2<Arch>(v, packed);
}

template <class Arch, class T, int Bits>
void unpack_public(const bytes& packed, std::vector<T>& v) {
  if constexpr (Bits == 4 && std::is_signed_v<T>) quanta::unpack_int4<Arch>(packed, v);
  if constexpr (Bits == 4 && !std::is_signed_v<T>) quanta::unpack_uint4<Arch>(packed, v);
  if constexpr (Bits == 2 && std::is_signed_v<T>) quanta::unpack_int2<Arch>(packed, v);
  if constexpr (Bits == 2 && !std::is_signed_v<T>) quanta::unpack_uint2<Arch>(packed, v);
}

// The reference's quantize and dequantize of whole containers, for the two-step results that the
// fused kernels must equal: the public functions would compile the default instruction set's
// kernels once more in every instruction set's translation unit.
template <class Layout, class Q>
void ref_quantize(const std::vector<float>& x, const Layout& layout, const std::vector<encoding>& e,
                  std::vector<Q>& q, const quantize_options& o = {}) {
  quanta::ref::quantize(quanta::span<const float>(x), layout, quanta::span<const encoding>(e),
                        quanta::span<Q>(q), o);
}

template <class Q>
void ref_quantize(const std::vector<float>& x, const encoding& e, std::vector<Q>& q,
                  const quantize_options& o = {}) {
  quanta::ref::quantize(quanta::span<const float>(x), e, quanta::span<Q>(q), o);
}

template <class Layout, class Q>
void ref_dequantize(const std::vector<Q>& q, const Layout& layout, const std::vector<encoding>& e,
                    std::vector<float>& x) {
  quanta::ref::dequantize(quanta::span<const Q>(q), layout, quanta::span<const encoding>(e),
                          quanta::span<float>(x));
}

template <class Q>
void ref_dequantize(const std::vector<Q>& q, const encoding& e, std::vector<float>& x) {
  quanta::ref::dequantize(quanta::span<const Q>(q), e, quanta::span<float>(x));
}

// quantize to int8, then the reference packing: what every fused path must equal.
template <class Layout>
bytes two_step_int4(const std::vector<float>& x, const Layout& layout,
                    const std::vector<encoding>& e, const quantize_options& o = {}) {
  std::vector<std::int8_t> q(x.size());
  ref_quantize(x, layout, e, q, o);
  bytes packed(quanta::packed_size(x.size(), 4));
  quanta::ref::pack(quanta::span<const std::int8_t>(q), 4, quanta::span<std::uint8_t>(packed));
  return packed;
}

template <class Layout>
std::vector<float> two_step_dequantize_int4(const bytes& packed, const Layout& layout,
                                            const std::vector<encoding>& e, std::size_t n) {
  std::vector<std::int8_t> q(n);
  quanta::ref::unpack(quanta::span<const std::uint8_t>(packed), 4, quanta::span<std::int8_t>(q));
  std::vector<float> x(n);
  ref_dequantize(q, layout, e, x);
  return x;
}

// Equal bit patterns, so that NaN compares equal to NaN.
bool same_floats(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  }
  return true;
}

// Both fused directions on one instruction set against the two-step paths.
template <class Arch, class Layout>
void check_fused_layout(const std::vector<float>& x, const Layout& layout,
                        const std::vector<encoding>& e) {
  bytes packed(quanta::packed_size(x.size(), 4));
  quanta::quantize_pack_int4<Arch>(x, layout, e, packed);
  CHECK(packed == two_step_int4(x, layout, e));
  std::vector<float> y(x.size());
  quanta::unpack_dequantize_int4<Arch>(packed, layout, e, y);
  CHECK(same_floats(y, two_step_dequantize_int4(packed, layout, e, x.size())));
}

}  // namespace

TEMPLATE_TEST_CASE("pack: every length 0..130 and every value round-trips, SIMD == ref",
                   "[pack][simd]", QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  using Arch = TestType;
  INFO("arch " << Arch::name());
  for_each_format([](auto fmt) {
    using F = decltype(fmt);
    using T = typename F::type;
    INFO("bits " << F::bits << (std::is_signed_v<T> ? " signed" : " unsigned"));
    const int levels = F::max - F::min + 1;
    for (std::size_t n = 0; n <= 130; ++n) {
      INFO("n " << n);
      std::vector<T> v(n);
      // Steps of 5 visit every value (5 is odd, levels a power of two), from a start that
      // changes with n.
      for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<T>(F::min + static_cast<int>((i * 5 + n) % levels));
      bytes packed(quanta::packed_size(n, F::bits), 0xAA);
      pack_public<Arch, T, F::bits>(v, packed);
      bytes expected(packed.size());
      quanta::ref::pack(quanta::span<const T>(v), F::bits, quanta::span<std::uint8_t>(expected));
      REQUIRE(packed == expected);
      const std::size_t used = n % (8 / F::bits);
      if (used != 0) CHECK((packed.back() >> (used * F::bits)) == 0);  // padding is zero
      std::vector<T> back(n, T{42});
      unpack_public<Arch, T, F::bits>(packed, back);
      REQUIRE(back == v);
    }
  });
}
TEMPLATE_TEST_CASE("pack: unpacking any byte equals the reference", "[pack][simd]",
                   QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  using Arch = TestType;
  INFO("arch " << Arch::name());
  bytes all(512);
  for (std::size_t i = 0; i < all.size(); ++i)
    all[i] = static_cast<std::uint8_t>(i * 37 + i / 256);
  for_each_format([&](auto fmt) {
    using F = decltype(fmt);
    using T = typename F::type;
    for (std::size_t n : {std::size_t{1023}, std::size_t{1024}, std::size_t{2047}}) {
      const std::size_t n_values = std::min(n, all.size() * (8 / F::bits));
      const bytes packed(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(
                                                        quanta::packed_size(n_values, F::bits)));
      std::vector<T> got(n_values);
      std::vector<T> want(n_values);
      unpack_public<Arch, T, F::bits>(packed, got);
      quanta::ref::unpack(quanta::span<const std::uint8_t>(packed), F::bits, quanta::span<T>(want));
      CHECK(got == want);
    }
  });
}
TEMPLATE_TEST_CASE("pack: per-row packing, SIMD == ref", "[pack][rows][simd]", QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  using Arch = TestType;
  INFO("arch " << Arch::name());
  for (std::size_t c : {std::size_t{1}, std::size_t{3}, std::size_t{129}, std::size_t{130}}) {
    std::vector<std::uint8_t> w(5 * c);
    for (std::size_t i = 0; i < w.size(); ++i)
      w[i] = static_cast<std::uint8_t>((i * 7) % 4);
    bytes p(quanta::packed_rows_size(5, c, 2));
    quanta::pack_uint2_rows<Arch>(w, 5, c, p);
    bytes want(p.size());
    quanta::ref::pack_rows(quanta::span<const std::uint8_t>(w), 5, c, 2,
                           quanta::span<std::uint8_t>(want));
    CHECK(p == want);
    std::vector<std::uint8_t> unpacked(w.size());
    quanta::unpack_uint2_rows<Arch>(p, 5, c, unpacked);
    CHECK(unpacked == w);
  }
}
TEMPLATE_TEST_CASE("quantize_pack: per tensor equals quantize then pack", "[pack][fused]",
                   QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  using Arch = TestType;
  INFO("arch " << Arch::name());
  const encoding e = quanta::compute_encoding(-2.0f, 3.0f, four_bit(true));
  const encoding e_u = quanta::compute_encoding(-2.0f, 3.0f, four_bit(false));
  const quantize_options qnn = quantize_options::for_profile(quanta::profile::qnn);
  for (std::size_t n : {0u, 1u, 7u, 64u, 511u, 512u, 513u, 1500u, 4099u}) {
    INFO("n " << n);
    std::vector<float> x = random_floats(n, static_cast<unsigned>(n), 1.5f);
    if (n > 10) {
      x[3] = std::numeric_limits<float>::quiet_NaN();
      x[4] = std::numeric_limits<float>::infinity();
      x[5] = -std::numeric_limits<float>::infinity();
      x[6] = 0.25f;  // a tie at scale 1/3: rounding matters
    }
    for (const quantize_options& o : {quantize_options{}, qnn}) {
      bytes packed(quanta::packed_size(n, 4), 0xAA);
      quanta::quantize_pack_int4<Arch>(x, e, packed, o);
      CHECK(packed == two_step_int4(x, channel_layout{1, 1, n}, {e}, o));

      std::vector<float> y(n);
      quanta::unpack_dequantize_int4<Arch>(packed, e, y);
      CHECK(same_floats(y, two_step_dequantize_int4(packed, channel_layout{1, 1, n}, {e}, n)));

      // uint4 through the unsigned kernels.
      std::vector<std::uint8_t> qu(n);
      ref_quantize(x, e_u, qu, o);
      bytes want(quanta::packed_size(n, 4));
      quanta::ref::pack(quanta::span<const std::uint8_t>(qu), 4, quanta::span<std::uint8_t>(want));
      bytes got(want.size());
      quanta::quantize_pack_uint4<Arch>(x, e_u, got, o);
      CHECK(got == want);
      std::vector<float> yu(n);
      std::vector<float> yu_want(n);
      quanta::unpack_dequantize_uint4<Arch>(got, e_u, yu);
      ref_dequantize(qu, e_u, yu_want);
      CHECK(same_floats(yu, yu_want));
    }
  }
}
// The 4-bit kernels that join nibbles in registers work on blocks of 256 elements: every
// zero point, narrow range, rounding and offset option on clean blocks, blocks with one NaN or
// infinity, and ragged ends, against ref::quantize + ref::pack and ref::dequantize.
TEMPLATE_TEST_CASE("quantize_pack: 4-bit blocks, every encoding class and option, SIMD == ref",
                   "[pack][fused][simd]", QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  using Arch = TestType;
  INFO("arch " << Arch::name());
  std::vector<quantize_options> options;
  for (quanta::rounding m :
       {quanta::rounding::half_even, quanta::rounding::half_away, quanta::rounding::half_up})
    for (bool divide : {false, true})
      for (bool pre : {false, true})
        options.push_back({m, divide, pre});
  const std::size_t n = 256 * 5 + 37;
  std::vector<float> x = random_floats(n, 11u, 9.0f);
  for (std::size_t i = 0; i < 64; ++i)
    x[300 + i] = static_cast<float>(i % 19) - 9.5f;  // ties at scale 1
  x[600] = std::numeric_limits<float>::quiet_NaN();
  x[900] = -std::numeric_limits<float>::infinity();
  x[n - 3] = std::numeric_limits<float>::quiet_NaN();  // in the zero-padded last block
  for (bool is_signed : {true, false}) {
    for (bool narrow : {false, true}) {
      encoding e{1.0f, 0, 4, is_signed, narrow};
      for (std::int32_t zp = e.qmin(); zp <= e.qmax(); zp += 3) {
        for (float scale : {1.0f, 0.37f}) {
          e.zero_point = zp;
          e.scale = scale;
          for (const quantize_options& o : options) {
            INFO("signed " << is_signed << " narrow " << narrow << " zero point " << zp << " scale "
                           << scale << " round " << static_cast<int>(o.round) << " divide "
                           << o.divide_by_scale << " pre " << o.zero_point_before_rounding);
            std::vector<std::int8_t> codes(n);
            quanta::ref::quantize(quanta::span<const float>(x), e, quanta::span<std::int8_t>(codes),
                                  o);
            bytes want(quanta::packed_size(n, 4));
            quanta::ref::pack(quanta::span<const std::int8_t>(codes), 4,
                              quanta::span<std::uint8_t>(want));
            std::vector<float> y_want(n);
            quanta::ref::dequantize(quanta::span<const std::int8_t>(codes), e,
                                    quanta::span<float>(y_want));
            bytes got(want.size(), 0xAA);
            std::vector<float> y(n);
            if (is_signed) {
              quanta::quantize_pack_int4<Arch>(x, e, got, o);
              quanta::unpack_dequantize_int4<Arch>(got, e, y);
            } else {
              quanta::quantize_pack_uint4<Arch>(x, e, got, o);
              quanta::unpack_dequantize_uint4<Arch>(got, e, y);
            }
            REQUIRE(got == want);
            REQUIRE(same_floats(y, y_want));
          }
        }
      }
    }
  }
}
// The register kernels of quantize_pack_int4 / uint4 start with a partial block up to the float
// side's register alignment (when the head is even), run blocks of 16 and 8 registers and end with
// a partial block. Every start offset of x (odd heads skip the alignment), lengths around 2 and 4
// blocks of each instruction set's register width, and specials in the head, in whole blocks and in
// the tail, against ref::quantize + ref::pack; the bytes around the output stay untouched.
TEMPLATE_TEST_CASE("quantize_pack: 4-bit register kernels, heads, block boundaries and specials",
                   "[pack][fused][simd]", QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  using Arch = TestType;
  INFO("arch " << Arch::name());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 140; ++n)
    lengths.push_back(n);
  for (std::size_t block : {64u, 128u, 256u})  // 16 registers of SSE, AVX2, AVX-512
    for (std::size_t blocks : {2u, 4u})
      for (std::size_t delta : {0u, 1u, 2u, 15u, 16u, 17u})
        for (std::size_t n : {blocks * block - delta, blocks * block + delta})
          lengths.push_back(n);
  for (std::size_t n : {511u, 512u, 530u, 1023u, 1024u, 1041u, 1300u})
    lengths.push_back(n);
  const std::size_t longest = *std::max_element(lengths.begin(), lengths.end());
  // Codes across the whole range with saturation on both sides, then ties at scale 1.
  std::vector<float> clean = random_floats(longest + 16, 31u, 7.0f);
  for (std::size_t i = 0; i < clean.size(); i += 5)
    clean[i] = std::round(clean[i]) + 0.5f;
  clean[7] = -0.0f;
  clean[9] = 1e-42f;  // denormal
  clean[11] = -1e6f;  // saturates low without being refused
  clean[13] = 3e9f;   // beyond int32: refused, redone exactly
  const encoding classes[] = {encoding{1.0f, 0, 4, true},        encoding{1.0f, -3, 4, true},
                              encoding{0.75f, 0, 4, true, true}, encoding{1.0f, 0, 4, false},
                              encoding{1.0f, 9, 4, false},       encoding{1.0f, 2, 4, false, true},
                              encoding{1.0f, 4, 3, false}};
  for (const encoding& e : classes) {
    for (int specials = 0; specials < 2; ++specials) {
      std::vector<float> data = clean;
      if (specials == 1) {
        // One in the head, one in each of several blocks, one near the end of most lengths.
        for (std::size_t i : {std::size_t{3}, std::size_t{70}, std::size_t{300}, std::size_t{700},
                              std::size_t{1030}, longest - 2})
          data[i] = i % 3 == 0 ? nan : (i % 3 == 1 ? inf : -inf);
      }
      for (std::size_t offset = 0; offset < 16; ++offset) {
        for (std::size_t n : lengths) {
          INFO("zero point " << e.zero_point << (e.is_signed ? " signed" : " unsigned")
                             << " narrow " << e.narrow_range << " specials " << specials
                             << " offset " << offset << " n " << n);
          const quanta::span<const float> x(data.data() + offset, n);
          std::vector<std::int8_t> codes(n);
          quanta::ref::quantize(x, e, quanta::span<std::int8_t>(codes));
          const std::size_t size = quanta::packed_size(n, 4);
          bytes want(size + 128, 0xAA);
          quanta::ref::pack(quanta::span<const std::int8_t>(codes), 4,
                            quanta::span<std::uint8_t>(want.data() + 64, size));
          bytes got(size + 128, 0xAA);
          const quanta::span<std::uint8_t> out(got.data() + 64, size);
          if (e.is_signed) {
            quanta::quantize_pack_int4<Arch>(x, e, out);
          } else {
            quanta::quantize_pack_uint4<Arch>(x, e, out);
          }
          REQUIRE(got == want);
        }
      }
    }
  }
}
TEMPLATE_TEST_CASE("quantize_pack: per channel and per block", "[pack][fused]", QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  using Arch = TestType;
  INFO("arch " << Arch::name());
  const channel_layout channel_cases[] = {{1, 32, 27}, {3, 5, 7}, {100, 13, 1}, {1, 1500, 1},
                                          {2, 3, 600}, {4, 1, 1}, {0, 3, 2}};
  for (const auto& layout : channel_cases) {
    INFO("layout " << layout.outer << " " << layout.channels << " " << layout.inner);
    const std::vector<float> x = random_floats(layout.size(), 11);
    const std::vector<encoding> e =
        quanta::compute_encodings(x, layout, four_bit(true, scheme::symmetric));
    check_fused_layout<Arch>(x, layout, e);
  }

  const block_layout block_cases[] = {{2, 70, 1, 32}, {3, 10, 5, 4},  {1, 1000, 1, 16},
                                      {1, 33, 1, 33}, {2, 9, 130, 2}, {1, 4096, 1, 64}};
  for (const auto& layout : block_cases) {
    INFO("block layout " << layout.outer << " " << layout.channels << " " << layout.inner << " "
                         << layout.block_size);
    const std::vector<float> x = random_floats(layout.size(), 12);
    const std::vector<encoding> e = quanta::compute_block_encodings(x, layout, four_bit(true));
    check_fused_layout<Arch>(x, layout, e);
  }
}

namespace {

// quantize (int8 or uint8 codes) then the reference packing, flat or per row.
template <class T, class Layout>
bytes two_step_packed(const std::vector<float>& x, const Layout& layout,
                      const std::vector<encoding>& e, const quantize_options& o, std::size_t rows,
                      std::size_t cols) {
  std::vector<T> q(x.size());
  ref_quantize(x, layout, e, q, o);
  if (rows == 0) {
    bytes packed(quanta::packed_size(x.size(), 4));
    quanta::ref::pack(quanta::span<const T>(q), 4, quanta::span<std::uint8_t>(packed));
    return packed;
  }
  bytes packed(quanta::packed_rows_size(rows, cols, 4));
  quanta::ref::pack_rows(quanta::span<const T>(q), rows, cols, 4,
                         quanta::span<std::uint8_t>(packed));
  return packed;
}

}  // namespace

// Per-channel runs of at least 8 registers (even length, each starting on a whole byte), blocks
// along the innermost axis of at least 8 registers, and every row of the per-row layout go through
// the per-tensor register kernels one run at a time: encodings of several classes side by side,
// the rounding options, and specials in some runs.
TEMPLATE_TEST_CASE("quantize_pack: per-channel, per-block and per-row runs in registers",
                   "[pack][fused][simd]", QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  using Arch = TestType;
  INFO("arch " << Arch::name());
  std::vector<float> x = random_floats(6000, 41u, 3.0f);
  for (std::size_t i = 0; i < x.size(); i += 7)
    x[i] = 0.5f * std::round(4.0f * x[i]);  // ties at scale 0.5 and 0.25
  x[100] = std::numeric_limits<float>::quiet_NaN();
  x[1700] = std::numeric_limits<float>::infinity();
  x[2999] = -std::numeric_limits<float>::infinity();
  const quantize_options options[] = {quantize_options{},
                                      quantize_options{quanta::rounding::half_away, true, false},
                                      quantize_options{quanta::rounding::half_up, false, true}};
  const channel_layout channel_cases[] = {{1, 7, 256},  {3, 4, 130}, {2, 3, 600},
                                          {1, 5, 1000}, {1, 9, 64},  {2, 2, 129}};
  const block_layout block_cases[] = {
      {2, 1000, 1, 128}, {1, 4096, 1, 256}, {3, 300, 1, 64}, {1, 1001, 1, 128}, {2, 512, 2, 128}};

  for (bool is_signed : {true, false}) {
    INFO((is_signed ? "int4" : "uint4"));
    const std::vector<encoding> classes =
        is_signed ? std::vector<encoding>{{0.5f, 0, 4, true},
                                          {0.25f, -5, 4, true},
                                          {0.3f, 0, 4, true, true}}
                  : std::vector<encoding>{
                        {0.5f, 11, 4, false}, {0.2f, 3, 4, false, true}, {0.4f, 2, 3, false}};
    const auto encodings_for = [&](std::size_t count) {
      std::vector<encoding> e;
      for (std::size_t k = 0; k < count; ++k) {
        encoding one = classes[k % classes.size()];
        one.scale *= 1.0f + 0.1f * static_cast<float>(k % 7);
        e.push_back(one);
      }
      return e;
    };
    const auto expected = [&](const std::vector<float>& xs, const auto& layout,
                              const std::vector<encoding>& e, const quantize_options& o,
                              std::size_t rows = 0, std::size_t cols = 0) {
      return is_signed ? two_step_packed<std::int8_t>(xs, layout, e, o, rows, cols)
                       : two_step_packed<std::uint8_t>(xs, layout, e, o, rows, cols);
    };
    const auto head = [&](std::size_t n) {
      return std::vector<float>(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(n));
    };
    const auto check_layout = [&](const auto& layout, const quantize_options& o) {
      const std::vector<float> xs = head(layout.size());
      const std::vector<encoding> e = encodings_for(quanta::detail::expected_encodings(layout));
      const bytes want = expected(xs, layout, e, o);
      bytes got(want.size(), 0xAA);
      if (is_signed) {
        quanta::quantize_pack_int4<Arch>(xs, layout, e, got, o);
      } else {
        quanta::quantize_pack_uint4<Arch>(xs, layout, e, got, o);
      }
      REQUIRE(got == want);
    };
    for (const quantize_options& o : options) {
      for (const channel_layout& layout : channel_cases) {
        INFO("channel layout " << layout.outer << " " << layout.channels << " " << layout.inner);
        check_layout(layout, o);
      }
      for (const block_layout& layout : block_cases) {
        INFO("block layout " << layout.outer << " " << layout.channels << " " << layout.inner << " "
                             << layout.block_size);
        check_layout(layout, o);
      }
    }

    // Rows of lengths around one and two blocks of 8 registers, and long ones.
    for (std::size_t cols :
         {1u, 2u, 3u, 15u, 16u, 17u, 27u, 64u, 127u, 128u, 129u, 255u, 256u, 257u, 600u, 1001u}) {
      const std::size_t rows = 5;
      INFO("cols " << cols);
      const std::vector<float> xs = head(rows * cols);
      const std::vector<encoding> e = encodings_for(rows);
      const bytes want = expected(xs, channel_layout{1, rows, cols}, e, {}, rows, cols);
      bytes got(want.size(), 0xAA);
      if (is_signed) {
        quanta::quantize_pack_int4_rows<Arch>(xs, rows, cols, e, got);
      } else {
        quanta::quantize_pack_uint4_rows<Arch>(xs, rows, cols, e, got);
      }
      REQUIRE(got == want);
    }
  }
}
TEMPLATE_TEST_CASE("quantize_pack_rows: SNPE per-channel weights, one padded row per channel",
                   "[pack][fused][rows]", QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  using Arch = TestType;
  INFO("arch " << Arch::name());
  const std::size_t rows = 32;
  const std::size_t cols = 27;
  const std::vector<float> x = random_floats(rows * cols, 13, 0.2f);
  const channel_layout layout{1, rows, cols};
  const std::vector<encoding> e =
      quanta::compute_encodings(x, layout, four_bit(true, scheme::symmetric));
  std::vector<std::int8_t> q(x.size());
  ref_quantize(x, layout, e, q);
  bytes want(quanta::packed_rows_size(rows, cols, 4));
  quanta::ref::pack_rows(quanta::span<const std::int8_t>(q), rows, cols, 4,
                         quanta::span<std::uint8_t>(want));
  bytes packed(want.size());
  quanta::quantize_pack_int4_rows<Arch>(x, rows, cols, e, packed);
  CHECK(packed == want);
  std::vector<float> y(x.size());
  std::vector<float> y_want(x.size());
  quanta::unpack_dequantize_int4_rows<Arch>(packed, rows, cols, e, y);
  ref_dequantize(q, layout, e, y_want);
  CHECK(y == y_want);

  // One encoding for every row.
  const encoding one = quanta::compute_encoding(x, four_bit(false));
  std::vector<std::uint8_t> qu(x.size());
  ref_quantize(x, one, qu);
  bytes want_u(want.size());
  quanta::ref::pack_rows(quanta::span<const std::uint8_t>(qu), rows, cols, 4,
                         quanta::span<std::uint8_t>(want_u));
  bytes got_u(want.size());
  quanta::quantize_pack_uint4_rows(x, rows, cols, one, got_u);
  CHECK(got_u == want_u);
  std::vector<float> yu(x.size());
  std::vector<float> yu_want(x.size());
  quanta::unpack_dequantize_uint4_rows(got_u, rows, cols, one, yu);
  ref_dequantize(qu, one, yu_want);
  CHECK(yu == yu_want);
}
TEMPLATE_TEST_CASE("fused rowwise: PyTorch embedding_bag_4bit/2bit_prepack bytes", "[pack][fbgemm]",
                   QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  using Arch = TestType;
  INFO("arch " << Arch::name());
  namespace v = pack_fbgemm_vectors;
  for (int bits : {4, 2}) {
    INFO("bits " << bits);
    const std::size_t cols = bits == 4 ? v::cols4 : v::cols2;
    std::vector<float> x;
    for (std::size_t r = 0; r < v::rows; ++r)
      for (std::size_t c = 0; c < cols; ++c)
        x.push_back(v::x[r * v::cols4 + c]);
    const bytes want = bits == 4 ? bytes(std::begin(v::fused4), std::end(v::fused4))
                                 : bytes(std::begin(v::fused2), std::end(v::fused2));
    REQUIRE(want.size() == v::rows * quanta::fused_row_size(cols, bits));
    bytes fused(want.size());
    quanta::quantize_fused_rowwise<Arch>(x, v::rows, cols, fused, bits);
    CHECK(fused == want);

    // Read back: scale * q + bias with the stored binary16 values.
    std::vector<float> y(x.size());
    quanta::dequantize_fused_rowwise<Arch>(want, v::rows, cols, y, bits);
    const std::size_t row_size = quanta::fused_row_size(cols, bits);
    const std::size_t data = row_size - 4;
    for (std::size_t r = 0; r < v::rows; ++r) {
      const std::uint8_t* row = want.data() + r * row_size;
      const float scale =
          quanta::ref::float16_value(static_cast<std::uint16_t>(row[data] | (row[data + 1] << 8)));
      const float bias = quanta::ref::float16_value(
          static_cast<std::uint16_t>(row[data + 2] | (row[data + 3] << 8)));
      std::vector<std::uint8_t> codes(cols);
      quanta::ref::unpack(quanta::span<const std::uint8_t>(row, data), bits,
                          quanta::span<std::uint8_t>(codes));
      for (std::size_t c = 0; c < cols; ++c) {
        CHECK(y[r * cols + c] == scale * static_cast<float>(codes[c]) + bias);
      }
    }
  }
}
TEMPLATE_TEST_CASE("fused rowwise: SIMD == reference on wide rows", "[pack][fbgemm][simd]",
                   QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  using Arch = TestType;
  INFO("arch " << Arch::name());
  const std::size_t rows = 5;
  const std::size_t cols = 133;
  std::vector<float> x = random_floats(rows * cols, 21, 2.0f);
  for (std::size_t c = 0; c < cols; ++c)
    x[3 * cols + c] += 30000.0f;  // a coarse binary16 bias: some codes clamp at 0
  for (int bits : {4, 2}) {
    const std::size_t row_size = quanta::fused_row_size(cols, bits);
    bytes want(rows * row_size);
    for (std::size_t r = 0; r < rows; ++r) {
      const auto range = quanta::ref::min_max(quanta::span<const float>(x.data() + r * cols, cols));
      const auto p = quanta::ref::fused_row_encoding(range.min, range.max, bits);
      std::vector<std::uint8_t> codes(cols);
      for (std::size_t c = 0; c < cols; ++c)
        codes[c] = quanta::ref::fused_row_code(x[r * cols + c], p, bits);
      quanta::ref::pack(quanta::span<const std::uint8_t>(codes), bits,
                        quanta::span<std::uint8_t>(want.data() + r * row_size, row_size - 4));
      const std::uint8_t trailer[] = {static_cast<std::uint8_t>(p.scale_bits & 0xFF),
                                      static_cast<std::uint8_t>(p.scale_bits >> 8),
                                      static_cast<std::uint8_t>(p.bias_bits & 0xFF),
                                      static_cast<std::uint8_t>(p.bias_bits >> 8)};
      std::copy(std::begin(trailer), std::end(trailer),
                want.begin() + static_cast<std::ptrdiff_t>(r * row_size + row_size - 4));
    }
    INFO("arch " << Arch::name() << " bits " << bits);
    bytes fused(want.size());
    quanta::quantize_fused_rowwise<Arch>(x, rows, cols, fused, bits);
    CHECK(fused == want);
  }
}

#endif  // QUANTA_TEST_ARCH
