#include <quanta/pack.hpp>
#include <quanta/quantize.hpp>
#include <quanta/reduce.hpp>
#include <quanta/ref/pack.hpp>

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
#include "kernel_archs.hpp"

using quanta::block_layout;
using quanta::channel_layout;
using quanta::encoding;
using quanta::encoding_options;
using quanta::quantize_options;
using quanta::scheme;
using quanta::test::arch_list;
using quanta::test::runnable;

namespace {

using bytes = std::vector<std::uint8_t>;

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

std::vector<float> random_floats(std::size_t n, unsigned seed, float stddev = 1.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> x(n);
  for (auto& v : x)
    v = dist(gen);
  return x;
}

encoding_options four_bit(bool is_signed, scheme kind = scheme::asymmetric) {
  encoding_options o;
  o.bitwidth = 4;
  o.is_signed = is_signed;
  o.kind = kind;
  return o;
}

// quantize to int8, then the reference packing: what every fused path must equal.
template <class Layout>
bytes two_step_int4(const std::vector<float>& x, const Layout& layout,
                    const std::vector<encoding>& e, const quantize_options& o = {}) {
  std::vector<std::int8_t> q(x.size());
  quanta::quantize(x, layout, e, q, o);
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
  quanta::dequantize(q, layout, e, x);
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

TEST_CASE("pack: golden bytes (ONNX order, REFERENCE.md section 3)", "[pack]") {
  bytes packed(1);
  quanta::pack_int4(std::vector<std::int8_t>{1, -2}, packed);
  CHECK(packed[0] == 0xE1);
  quanta::pack_uint4(std::vector<std::uint8_t>{1, 14}, packed);
  CHECK(packed[0] == 0xE1);

  // An odd tail leaves the high nibble 0.
  bytes two(2);
  quanta::pack_int4(std::vector<std::int8_t>{7, -8, -1}, two);
  CHECK(two == bytes{0x87, 0x0F});

  // 2-bit: four values a byte, the first in the lowest bits.
  quanta::pack_int2(std::vector<std::int8_t>{1, -2, 0, -1}, packed);
  CHECK(packed[0] == 0xC9);
  quanta::pack_uint2(std::vector<std::uint8_t>{0, 1, 2, 3}, packed);
  CHECK(packed[0] == 0xE4);
  quanta::pack_uint2(std::vector<std::uint8_t>{3, 2, 1, 0, 3}, two);
  CHECK(two == bytes{0x1B, 0x03});

  // Signed unpack sign-extends.
  std::vector<std::int8_t> v(2);
  quanta::unpack_int4(bytes{0xE1}, v);
  CHECK(v == std::vector<std::int8_t>{1, -2});
  std::vector<std::uint8_t> u(2);
  quanta::unpack_uint4(bytes{0xE1}, u);
  CHECK(u == std::vector<std::uint8_t>{1, 14});
  std::vector<std::int8_t> v2(4);
  quanta::unpack_int2(bytes{0xC9}, v2);
  CHECK(v2 == std::vector<std::int8_t>{1, -2, 0, -1});
}

TEST_CASE("pack: sizes", "[pack]") {
  CHECK(quanta::packed_size(0, 4) == 0);
  CHECK(quanta::packed_size(1, 4) == 1);
  CHECK(quanta::packed_size(27, 4) == 14);
  CHECK(quanta::packed_size(28, 4) == 14);
  CHECK(quanta::packed_size(5, 2) == 2);
  CHECK(quanta::packed_size(8, 2) == 2);
  CHECK(quanta::packed_row_size(27, 4) == 14);
  CHECK(quanta::packed_rows_size(32, 27, 4) == 448);  // SNPE: 14 bytes per channel
  CHECK(quanta::packed_rows_size(3, 5, 2) == 6);
  CHECK(quanta::packed_size(std::numeric_limits<std::size_t>::max(), 4) ==
        std::numeric_limits<std::size_t>::max() / 2 + 1);
  CHECK(quanta::fused_row_size(10) == 9);
  CHECK(quanta::fused_row_size(10, 2) == 7);
  CHECK_THROWS_WITH(quanta::packed_size(4, 3),
                    Catch::StartsWith("packed_size: bits is 3; expected 2 or 4"));
  CHECK_THROWS_WITH(quanta::packed_row_size(4, 8), Catch::Contains("bits is 8"));
  CHECK_THROWS_WITH(quanta::packed_rows_size(std::numeric_limits<std::size_t>::max(), 4, 4),
                    Catch::Contains("overflows"));
}

TEMPLATE_LIST_TEST_CASE("pack: every length 0..130 and every value round-trips, SIMD == ref",
                        "[pack][simd]", arch_list) {
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

TEMPLATE_LIST_TEST_CASE("pack: unpacking any byte equals the reference", "[pack][simd]",
                        arch_list) {
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

TEST_CASE("pack: per-row packing (SNPE per-channel 4-bit)", "[pack][rows]") {
  // A [3,3,3,32] weight with its 32 output channels outermost: 32 rows of 27 values.
  const std::size_t rows = 32;
  const std::size_t cols = 27;
  std::vector<std::int8_t> v(rows * cols);
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<std::int8_t>(static_cast<int>(i % 16) - 8);
  bytes packed(quanta::packed_rows_size(rows, cols, 4));
  REQUIRE(packed.size() == 32 * 14);
  quanta::pack_int4_rows(v, rows, cols, packed);
  for (std::size_t r = 0; r < rows; ++r) {
    bytes row(14);
    quanta::pack_int4(quanta::span<const std::int8_t>(v.data() + r * cols, cols), row);
    CHECK(bytes(packed.begin() + static_cast<std::ptrdiff_t>(r * 14),
                packed.begin() + static_cast<std::ptrdiff_t>(r * 14 + 14)) == row);
    CHECK((packed[r * 14 + 13] >> 4) == 0);
  }
  std::vector<std::int8_t> back(v.size());
  quanta::unpack_int4_rows(packed, rows, cols, back);
  CHECK(back == v);

  // Even rows are the flat layout.
  std::vector<std::uint8_t> u(6 * 8, 3);
  bytes per_row(quanta::packed_rows_size(6, 8, 2));
  bytes flat(quanta::packed_size(u.size(), 2));
  quanta::pack_uint2_rows(u, 6, 8, per_row);
  quanta::pack_uint2(u, flat);
  CHECK(per_row == flat);
}

TEMPLATE_LIST_TEST_CASE("pack: per-row packing, SIMD == ref", "[pack][rows][simd]", arch_list) {
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

TEST_CASE("pack: bad arguments are reported and nothing is written", "[pack][errors]") {
  bytes packed(2, 0xAA);
  CHECK_THROWS_WITH(quanta::pack_int4(std::vector<std::int8_t>{0, 1, 9}, packed),
                    Catch::StartsWith("pack_int4: v[2] is 9; expected -8..7 (int4)"));
  CHECK(packed == bytes{0xAA, 0xAA});
  CHECK_THROWS_WITH(quanta::pack_int4(std::vector<std::int8_t>{-9, 1, 9}, packed),
                    Catch::Contains("v[0] is -9"));
  CHECK_THROWS_WITH(quanta::pack_uint4(std::vector<std::uint8_t>{15, 16}, bytes(1)),
                    Catch::StartsWith("pack_uint4: v[1] is 16; expected 0..15 (uint4)"));
  CHECK_THROWS_WITH(quanta::pack_int2(std::vector<std::int8_t>{1, 2}, bytes(1)),
                    Catch::StartsWith("pack_int2: v[1] is 2; expected -2..1 (int2)"));
  CHECK_THROWS_WITH(quanta::pack_uint2(std::vector<std::uint8_t>{4}, bytes(1)),
                    Catch::Contains("v[0] is 4; expected 0..3"));

  // An out-of-range value far into a long tensor: found by the SIMD check, named by the scan.
  std::vector<std::int8_t> long_v(1000, 3);
  long_v[777] = -100;
  bytes long_packed(500, 0x11);
  CHECK_THROWS_WITH(quanta::pack_int4(long_v, long_packed), Catch::Contains("v[777] is -100"));
  CHECK(long_packed == bytes(500, 0x11));

  CHECK_THROWS_WITH(quanta::pack_int4(std::vector<std::int8_t>{1, 2, 3}, bytes(1)),
                    Catch::StartsWith("pack_int4: packed has 1 bytes; expected 2 for 3 values "
                                      "of 4 bits"));
  std::vector<std::int8_t> v(3, 5);
  CHECK_THROWS_WITH(quanta::unpack_int4(bytes(3), v),
                    Catch::StartsWith("unpack_int4: packed has 3 bytes; expected 2"));
  CHECK(v == std::vector<std::int8_t>(3, 5));
  CHECK_THROWS_WITH(quanta::pack_int4_rows(std::vector<std::int8_t>(6), 2, 4, bytes(4)),
                    Catch::StartsWith("pack_int4_rows: v has 6 elements; expected rows 2 x "
                                      "cols 4 = 8"));
  CHECK_THROWS_WITH(
      quanta::unpack_int4_rows(bytes(3), 2, 3, v = std::vector<std::int8_t>(6)),
      Catch::StartsWith("unpack_int4_rows: packed has 3 bytes; expected 4 (2 rows of 3 values, "
                        "2 bytes a row)"));

  // A packed buffer inside the values it packs.
  std::vector<std::uint8_t> shared(8, 1);
  CHECK_THROWS_WITH(quanta::pack_uint4(quanta::span<const std::uint8_t>(shared.data(), 8),
                                       quanta::span<std::uint8_t>(shared.data() + 2, 4)),
                    Catch::Contains("packed overlaps v; expected disjoint buffers"));
  CHECK(shared == std::vector<std::uint8_t>(8, 1));
}

TEMPLATE_LIST_TEST_CASE("quantize_pack: per tensor equals quantize then pack", "[pack][fused]",
                        arch_list) {
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
      quanta::quantize(x, e_u, qu, o);
      bytes want(quanta::packed_size(n, 4));
      quanta::ref::pack(quanta::span<const std::uint8_t>(qu), 4, quanta::span<std::uint8_t>(want));
      bytes got(want.size());
      quanta::quantize_pack_uint4<Arch>(x, e_u, got, o);
      CHECK(got == want);
      std::vector<float> yu(n);
      std::vector<float> yu_want(n);
      quanta::unpack_dequantize_uint4<Arch>(got, e_u, yu);
      quanta::dequantize(qu, e_u, yu_want);
      CHECK(same_floats(yu, yu_want));
    }
  }
}

// The 4-bit kernels that join nibbles in registers work on blocks of 256 elements: every
// zero point, narrow range, rounding and offset option on clean blocks, blocks with one NaN or
// infinity, and ragged ends, against ref::quantize + ref::pack and ref::dequantize.
TEMPLATE_LIST_TEST_CASE("quantize_pack: 4-bit blocks, every encoding class and option, SIMD == ref",
                        "[pack][fused][simd]", arch_list) {
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
TEMPLATE_LIST_TEST_CASE(
    "quantize_pack: 4-bit register kernels, heads, block boundaries and specials",
    "[pack][fused][simd]", arch_list) {
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

TEST_CASE("quantize_pack: 2-bit", "[pack][fused]") {
  encoding_options o = four_bit(true);
  o.bitwidth = 2;
  const std::vector<float> x = random_floats(1031, 5);
  const encoding e = quanta::compute_encoding(x, o);
  std::vector<std::int8_t> q(x.size());
  quanta::quantize(x, e, q);
  bytes want(quanta::packed_size(x.size(), 2));
  quanta::ref::pack(quanta::span<const std::int8_t>(q), 2, quanta::span<std::uint8_t>(want));
  bytes got(want.size());
  quanta::quantize_pack_int2(x, e, got);
  CHECK(got == want);
  std::vector<float> y(x.size());
  std::vector<float> y_want(x.size());
  quanta::unpack_dequantize_int2(got, e, y);
  quanta::dequantize(q, e, y_want);
  CHECK(y == y_want);

  o.is_signed = false;
  const encoding eu = quanta::compute_encoding(x, o);
  const channel_layout layout{1, 1031, 1};
  const std::vector<encoding> per_value(1031, eu);
  bytes got_u(want.size());
  quanta::quantize_pack_uint2(x, layout, per_value, got_u);
  bytes want_u(want.size());
  quanta::quantize_pack_uint2(x, eu, want_u);
  CHECK(got_u == want_u);
}

TEMPLATE_LIST_TEST_CASE("quantize_pack: per channel and per block", "[pack][fused]", arch_list) {
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
  quanta::quantize(x, layout, e, q, o);
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
TEMPLATE_LIST_TEST_CASE("quantize_pack: per-channel, per-block and per-row runs in registers",
                        "[pack][fused][simd]", arch_list) {
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

TEMPLATE_LIST_TEST_CASE("quantize_pack_rows: SNPE per-channel weights, one padded row per channel",
                        "[pack][fused][rows]", arch_list) {
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
  quanta::quantize(x, layout, e, q);
  bytes want(quanta::packed_rows_size(rows, cols, 4));
  quanta::ref::pack_rows(quanta::span<const std::int8_t>(q), rows, cols, 4,
                         quanta::span<std::uint8_t>(want));
  bytes packed(want.size());
  quanta::quantize_pack_int4_rows<Arch>(x, rows, cols, e, packed);
  CHECK(packed == want);
  std::vector<float> y(x.size());
  std::vector<float> y_want(x.size());
  quanta::unpack_dequantize_int4_rows<Arch>(packed, rows, cols, e, y);
  quanta::dequantize(q, layout, e, y_want);
  CHECK(y == y_want);

  // One encoding for every row.
  const encoding one = quanta::compute_encoding(x, four_bit(false));
  std::vector<std::uint8_t> qu(x.size());
  quanta::quantize(x, one, qu);
  bytes want_u(want.size());
  quanta::ref::pack_rows(quanta::span<const std::uint8_t>(qu), rows, cols, 4,
                         quanta::span<std::uint8_t>(want_u));
  bytes got_u(want.size());
  quanta::quantize_pack_uint4_rows(x, rows, cols, one, got_u);
  CHECK(got_u == want_u);
  std::vector<float> yu(x.size());
  std::vector<float> yu_want(x.size());
  quanta::unpack_dequantize_uint4_rows(got_u, rows, cols, one, yu);
  quanta::dequantize(qu, one, yu_want);
  CHECK(yu == yu_want);
}

TEST_CASE("quantize_pack: bad encodings and sizes", "[pack][fused][errors]") {
  const std::vector<float> x = {0.5f, -1.0f, 2.0f};
  bytes packed(2, 0xAA);
  const encoding s4{0.25f, 0, 4, true};
  CHECK_THROWS_WITH(quanta::quantize_pack_int4(x, encoding{0.25f, 0, 8, true}, packed),
                    Catch::StartsWith("quantize_pack_int4: encoding is a 8-bit signed encoding "
                                      "with codes -128..127 that int4 cannot hold"));
  CHECK_THROWS_WITH(quanta::quantize_pack_int4(x, encoding{0.25f, 3, 4, false}, packed),
                    Catch::Contains("codes 0..15 that int4 cannot hold; expected an encoding "
                                    "whose codes fit -8..7"));
  CHECK_THROWS_WITH(quanta::quantize_pack_int2(x, s4, bytes(1)),
                    Catch::StartsWith("quantize_pack_int2: encoding is a 4-bit signed"));
  CHECK_THROWS_WITH(quanta::quantize_pack_int4(x, encoding{0.0f, 0, 4, true}, packed),
                    Catch::Contains("encoding.scale is 0"));
  CHECK_THROWS_WITH(quanta::quantize_pack_int4(x, s4, bytes(1)),
                    Catch::StartsWith("quantize_pack_int4: packed has 1 bytes; expected 2"));
  CHECK(packed == bytes{0xAA, 0xAA});

  const std::vector<encoding> two = {s4, encoding{0.5f, 9, 4, true}};
  CHECK_THROWS_WITH(quanta::quantize_pack_int4(x, channel_layout{1, 3, 1}, two, packed),
                    Catch::Contains("encodings has 2 entries; expected 3 (one per channel)"));
  CHECK_THROWS_WITH(quanta::quantize_pack_int4(x, channel_layout{1, 2, 1}, two, packed),
                    Catch::Contains("data has 3 elements"));
  CHECK_THROWS_WITH(
      quanta::quantize_pack_int4(std::vector<float>(4), channel_layout{1, 2, 2}, two, packed),
      Catch::Contains("encodings[1].zero_point is 9"));
  CHECK_THROWS_WITH(
      quanta::quantize_pack_int4(x, block_layout{1, 3, 1, 2}, std::vector<encoding>{s4}, packed),
      Catch::Contains("expected 2 (outer x blocks x inner)"));
  CHECK_THROWS_WITH(quanta::quantize_pack_int4_rows(x, 3, 1, two, bytes(3)),
                    Catch::StartsWith("quantize_pack_int4_rows: encodings has 2 entries; "
                                      "expected 3 (1 for the tensor, or one per row)"));
  CHECK_THROWS_WITH(quanta::quantize_pack_int4_rows(x, 3, 1, s4, bytes(2)),
                    Catch::Contains("packed has 2 bytes; expected 3"));
  CHECK(packed == bytes{0xAA, 0xAA});

  std::vector<float> y(3, 7.0f);
  CHECK_THROWS_WITH(quanta::unpack_dequantize_int4(bytes(1), s4, y),
                    Catch::StartsWith("unpack_dequantize_int4: packed has 1 bytes; expected 2"));
  CHECK_THROWS_WITH(quanta::unpack_dequantize_int4(packed, encoding{0.5f, 0, 4, false}, y),
                    Catch::Contains("that int4 cannot hold"));
  CHECK(y == std::vector<float>(3, 7.0f));
}

TEMPLATE_LIST_TEST_CASE("fused rowwise: PyTorch embedding_bag_4bit/2bit_prepack bytes",
                        "[pack][fbgemm]", arch_list) {
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

TEST_CASE("fused rowwise: odd columns, degenerate rows and errors", "[pack][fbgemm]") {
  // Odd columns (FBGEMM's own prepack rejects them): the data bytes are the uint4 per-row layout.
  const std::vector<float> x = {0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 7.5f, 7.5f, 7.5f};
  bytes fused(3 * quanta::fused_row_size(3));
  quanta::quantize_fused_rowwise(x, 3, 3, fused);
  // Row 0: bias 0, scale 2/15 in binary16; row 2 constant: scale 1, bias 7.5.
  const std::uint16_t scale0 = quanta::ref::float16_bits(2.0f / 15.0f);
  CHECK(fused[0] == (0 | (8 << 4)));  // round(1 * 7.5)... 1 / 0.13330078 = 7.5018 -> 8
  CHECK(fused[1] == 15);
  CHECK(fused[2] == (scale0 & 0xFF));
  CHECK(fused[3] == (scale0 >> 8));
  CHECK(fused[4] == 0);
  CHECK(fused[5] == 0);
  const std::size_t row2 = 2 * quanta::fused_row_size(3);
  CHECK(fused[row2] == 0);
  CHECK(fused[row2 + 1] == 0);
  CHECK(fused[row2 + 2] == 0x00);
  CHECK(fused[row2 + 3] == 0x3C);  // 1.0
  CHECK(fused[row2 + 4] == 0x80);
  CHECK(fused[row2 + 5] == 0x47);  // 7.5
  std::vector<float> y(x.size());
  quanta::dequantize_fused_rowwise(fused, 3, 3, y);
  CHECK(y[6] == 7.5f);
  CHECK(y[8] == 7.5f);

  // Zero columns: only the scale 1 and bias 0.
  bytes empty_rows(2 * quanta::fused_row_size(0));
  quanta::quantize_fused_rowwise(std::vector<float>(), 2, 0, empty_rows);
  CHECK(empty_rows == bytes{0x00, 0x3C, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x00});

  bytes out(2 * quanta::fused_row_size(2), 0xAA);
  const bytes untouched = out;
  CHECK_THROWS_WITH(
      quanta::quantize_fused_rowwise(
          std::vector<float>{0.0f, 1.0f, std::numeric_limits<float>::quiet_NaN(), 1.0f}, 2, 2, out),
      Catch::StartsWith("quantize_fused_rowwise: x[2] is nan; expected finite values"));
  CHECK_THROWS_WITH(
      quanta::quantize_fused_rowwise(std::vector<float>{0.0f, 1.0f, -70000.0f, 1.0f}, 2, 2, out),
      Catch::StartsWith("quantize_fused_rowwise: row 1 has min -70000 and max 1; expected |min| "
                        "<= 65504"));
  CHECK_THROWS_WITH(
      quanta::quantize_fused_rowwise(std::vector<float>{0.0f, 1.0f, -60000.0f, 1e7f}, 2, 2, out),
      Catch::Contains("row 1 has min"));
  CHECK_THROWS_WITH(quanta::quantize_fused_rowwise(std::vector<float>(4), 2, 2, out, 8),
                    Catch::StartsWith("quantize_fused_rowwise: bits is 8; expected 2 or 4"));
  CHECK_THROWS_WITH(quanta::quantize_fused_rowwise(std::vector<float>(4), 2, 2, bytes(11)),
                    Catch::Contains("fused has 11 bytes; expected 10 (2 rows of 2 values, 5 "
                                    "bytes a row)"));
  CHECK(out == untouched);

  bytes bad = {0x12, 0x00, 0x7C, 0x00, 0x00};  // scale +inf
  std::vector<float> y1(2, 3.0f);
  CHECK_THROWS_WITH(quanta::dequantize_fused_rowwise(bad, 1, 2, y1),
                    Catch::StartsWith("dequantize_fused_rowwise: row 0 has scale inf"));
  CHECK(y1 == std::vector<float>(2, 3.0f));
}

TEMPLATE_LIST_TEST_CASE("fused rowwise: SIMD == reference on wide rows", "[pack][fbgemm][simd]",
                        arch_list) {
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
