// Parity of the SIMD per-channel and per-block quantize kernels with quanta::ref, on every
// instruction set this machine has.
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

// Every layout kernel against the reference on x, with an encoding per channel or block picked
// from candidates.
template <class Arch, class Q, class Layout>
void check_layout_on(const Layout& layout, const std::vector<float>& x,
                     const std::vector<encoding>& candidates, const quantize_options& o,
                     std::uint32_t seed) {
  const std::size_t n = layout.size();
  std::vector<encoding> encodings;
  std::vector<quanta::detail::affine_params> params;
  std::size_t count = 0;
  if constexpr (std::is_same_v<Layout, block_layout>) {
    count = layout.encoding_count();
  } else {
    count = layout.channels;
  }
  std::mt19937 rng(seed);
  // One bitwidth class per call: the public functions accept any mix, the kernels too.
  std::uniform_int_distribution<std::size_t> pick(0, candidates.size() - 1);
  for (std::size_t k = 0; k < count; ++k) {
    encodings.push_back(candidates[pick(rng)]);
    params.push_back(quanta::detail::make_affine_params(encodings.back(), o));
  }

  std::vector<Q> q(n), q_ref(n);
  quanta::detail::quantize_channels<Arch>(x.data(), layout, params.data(), params.size(), q.data());
  quanta::ref::quantize(quanta::span<const float>(x), layout,
                        quanta::span<const encoding>(encodings), quanta::span<Q>(q_ref), o);
  INFO("first difference at " << first_difference(q, q_ref));
  REQUIRE(same_bits(q, q_ref));

  std::vector<float> y(n), y_ref(n);
  quanta::detail::dequantize_channels<Arch>(q.data(), layout, params.data(), params.size(),
                                            y.data());
  quanta::ref::dequantize(quanta::span<const Q>(q), layout, quanta::span<const encoding>(encodings),
                          quanta::span<float>(y_ref));
  REQUIRE(same_bits(y, y_ref));

  quanta::detail::quantize_dequantize_channels<Arch>(x.data(), layout, params.data(), params.size(),
                                                     y.data());
  quanta::ref::quantize_dequantize(quanta::span<const float>(x), layout,
                                   quanta::span<const encoding>(encodings),
                                   quanta::span<float>(y_ref), o);
  REQUIRE(same_bits(y, y_ref));
}

template <class Arch, class Q, class Layout>
void check_layout(const Layout& layout, const quantize_options& o, std::uint32_t seed) {
  check_layout_on<Arch, Q>(layout, special_inputs(layout.size(), seed), encodings_for<Q>(), o,
                           seed);
}

// The rules of each profile, and one more mode that no profile uses.
std::vector<quantize_options> layout_options() {
  std::vector<quantize_options> options;
  for (profile p : {profile::qnn, profile::pytorch, profile::onnx, profile::tflite})
    options.push_back(quantize_options::for_profile(p));
  options.push_back({rounding::half_up, false, true});
  return options;
}

// Codes of moderate size for encodings of scale 1, ties among them, and in about one element of
// 1500 a code at the -32768 boundary or a special value: most blocks of every layout take the 8-bit
// narrow-first path, a few are refused by it.
std::vector<float> mostly_moderate_inputs(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> moderate(-400.0f, 400.0f);
  std::uniform_int_distribution<int> ties(-300, 300);
  std::uniform_int_distribution<std::size_t> rare(0, 1499);
  const float specials[] = {nan_value, inf,       -inf,      3.4e38f,
                            -3.4e38f,  -32768.0f, -32769.0f, 32768.0f};
  std::vector<float> x(n);
  for (auto& v : x) {
    v = rare(rng) % 2 == 0 ? static_cast<float>(ties(rng)) + 0.5f : moderate(rng);
    if (rare(rng) == 0) {
      v = specials[std::uniform_int_distribution<std::size_t>(0, std::size(specials) - 1)(rng)];
    }
  }
  return x;
}

// 8-bit layouts whose encodings all allow the narrow-first path, over the shapes that choose each
// way of running a layout: rows of one encoding (inner of a block or more), tables of whole
// periods (channels-last and short rows), windows of a long period, blocks with inner > 1.
template <class Arch, class Q>
void check_byte_layouts() {
  std::vector<encoding> candidates;
  for (const encoding& e : encodings_for<Q>())
    if (e.bitwidth == 8) candidates.push_back(e);
  const std::vector<channel_layout> channel_layouts = {
      {1, 64, 1}, {7, 64, 1},  {33, 3, 1},  {40, 17, 2},  {9, 130, 1}, {3, 64, 16},
      {2, 5, 64}, {2, 3, 100}, {1, 4, 300}, {2, 1500, 3}, {3, 4099, 1}};
  const std::vector<block_layout> block_layouts = {
      {3, 256, 1, 32}, {2, 100, 1, 64}, {2, 6, 70, 4}, {1, 5, 4100, 2}, {4, 64, 3, 16}};
  std::uint32_t seed = 7;
  const auto check = [&](const auto& layout, const quantize_options& o) {
    ++seed;
    check_layout_on<Arch, Q>(layout, mostly_moderate_inputs(layout.size(), seed), candidates, o,
                             seed);
  };
  for (const quantize_options& o : layout_options()) {
    INFO("round " << static_cast<int>(o.round) << " divide " << o.divide_by_scale << " pre "
                  << o.zero_point_before_rounding);
    for (const channel_layout& l : channel_layouts) {
      INFO("channel layout " << l.outer << " x " << l.channels << " x " << l.inner);
      check(l, o);
    }
    for (const block_layout& l : block_layouts) {
      INFO("block layout " << l.outer << " x " << l.channels << " x " << l.inner << " block "
                           << l.block_size);
      check(l, o);
    }
  }
}

template <class Arch, class Q>
void check_all_layouts() {
  std::uint32_t seed = 1;
  for (const quantize_options& o : layout_options()) {
    for (std::size_t outer : {1u, 5u}) {
      for (std::size_t channels : {1u, 3u, 17u, 64u}) {
        for (std::size_t inner : {1u, 3u, 16u, 17u, 37u}) {
          INFO("outer " << outer << " channels " << channels << " inner " << inner);
          check_layout<Arch, Q>(channel_layout{outer, channels, inner}, o, ++seed);
          for (std::size_t block : {1u, 4u, 32u}) {
            INFO("block " << block);
            check_layout<Arch, Q>(block_layout{outer, channels, inner, block}, o, ++seed);
          }
        }
      }
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("quantize kernels equal the reference, per channel and per block",
                   "[kernels][quantize][per-channel]", QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  INFO("instruction set " << TestType::name());
  check_all_layouts<TestType, std::int8_t>();
  check_all_layouts<TestType, std::uint8_t>();
  check_all_layouts<TestType, std::int16_t>();
  check_all_layouts<TestType, std::uint16_t>();
  check_all_layouts<TestType, std::int32_t>();
}

TEMPLATE_TEST_CASE("quantize kernels equal the reference, 8-bit layouts without specials",
                   "[kernels][quantize][per-channel]", QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  INFO("instruction set " << TestType::name());
  check_byte_layouts<TestType, std::int8_t>();
  check_byte_layouts<TestType, std::uint8_t>();
}

#endif  // QUANTA_TEST_ARCH
