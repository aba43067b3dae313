#include <quanta/reduce.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

TEST_CASE("min_max: NaN is skipped and reported, infinities count", "[reduce]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {nan, 3.0f, -2.0f, nan, 0.5f};
  auto r = quanta::min_max(x);
  CHECK(r.min == -2.0f);
  CHECK(r.max == 3.0f);
  CHECK(r.has_nan);
  CHECK_FALSE(r.finite());
  x = {1.0f, -inf, 2.0f};
  r = quanta::min_max(x);
  CHECK(r.min == -inf);
  CHECK_FALSE(r.has_nan);
  CHECK_FALSE(r.finite());
  const std::vector<float> empty;
  r = quanta::min_max(empty);
  CHECK(r.empty());
  CHECK(r.min == inf);
  CHECK(r.max == -inf);
  const std::vector<float> all_nan = {nan, nan};
  CHECK(quanta::min_max(all_nan).empty());
  CHECK(quanta::abs_max(all_nan) == 0.0f);
  const std::vector<float> mixed = {-5.0f, nan, 4.0f};
  CHECK(quanta::abs_max(mixed) == 5.0f);
}

TEST_CASE("min_max_per_channel: any axis", "[reduce][per-channel]") {
  const std::vector<float> x = {1, 2, -3, 4, 5, 6, -7, 0, 0, 8, 0.5f, -0.5f};
  const auto r = quanta::min_max_per_channel(x, quanta::channel_layout{2, 3, 2});
  REQUIRE(r.size() == 3);
  CHECK(r[0].min == -7.0f);
  CHECK(r[0].max == 2.0f);
  CHECK(r[1].min == -3.0f);
  CHECK(r[1].max == 8.0f);
  CHECK(r[2].min == -0.5f);
  CHECK(r[2].max == 6.0f);
  CHECK_THROWS_WITH(quanta::min_max_per_channel(x, quanta::channel_layout{2, 2, 2}),
                    Catch::StartsWith("min_max_per_channel: data has 12 elements"));
}
