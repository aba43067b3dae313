#include <quanta/bias.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <vector>

TEST_CASE("quantize_bias: scale = input scale x weight scale", "[bias]") {
  const std::vector<float> bias = {0.5f, -1.25f, 3.0f};
  const std::vector<float> per_tensor = {0.01f};
  std::vector<std::int32_t> q(3);
  quanta::quantize_bias(bias, 0.5f, per_tensor, q);
  const float s = 0.5f * 0.01f;
  CHECK(q[0] == static_cast<std::int32_t>(std::nearbyint(0.5f * (1.0f / s))));
  CHECK(q[1] == static_cast<std::int32_t>(std::nearbyint(-1.25f * (1.0f / s))));
  const std::vector<float> per_channel = {0.1f, 0.25f, 1.0f};
  quanta::quantize_bias(bias, 2.0f, per_channel, q);
  CHECK(q == std::vector<std::int32_t>{2, -2, 2});  // 2.5, -2.5 and 1.5 to even
  const auto encodings = quanta::bias_encodings(2.0f, per_channel);
  REQUIRE(encodings.size() == 3);
  CHECK(encodings[1].scale == 0.5f);
  CHECK(encodings[1].bitwidth == 32);
  CHECK(encodings[1].is_signed);
  CHECK(encodings[1].zero_point == 0);
}

TEST_CASE("quantize_bias: overflow names the channel and the weight scale that fits", "[bias]") {
  const std::vector<float> bias = {1.0f, 5000.0f, -1.0f};
  const std::vector<float> weight_scales = {1e-6f, 1e-6f, 1e-6f};
  const float input_scale = 1e-3f;  // bias scale 1e-9: 5000 / 1e-9 = 5e12 does not fit
  std::vector<std::int32_t> q(3, 7);
  const auto overflow = quanta::find_bias_overflow(bias, input_scale, weight_scales);
  REQUIRE(overflow.has_value());
  CHECK(overflow->channel == 1);
  CHECK(overflow->bias == 5000.0f);
  // The reported weight scale is the smallest float that fits, checked both ways.
  const std::vector<float> fixed = {1e-6f, overflow->min_weight_scale, 1e-6f};
  CHECK_FALSE(quanta::find_bias_overflow(bias, input_scale, fixed).has_value());
  const std::vector<float> below = {1e-6f, std::nextafter(overflow->min_weight_scale, 0.0f), 1e-6f};
  CHECK(quanta::find_bias_overflow(bias, input_scale, below).has_value());
  CHECK_THROWS_WITH(quanta::quantize_bias(bias, input_scale, weight_scales, q),
                    Catch::StartsWith("quantize_bias: bias[1] = 5000 does not fit int32") &&
                        Catch::Contains("expected a weight scale >="));
  CHECK(q == std::vector<std::int32_t>(3, 7));
  quanta::quantize_bias(bias, input_scale, fixed, q);
  CHECK(q[1] <= std::numeric_limits<std::int32_t>::max());
}

TEST_CASE("quantize_bias: bad arguments", "[bias][errors]") {
  const std::vector<float> bias = {1.0f, 2.0f};
  std::vector<std::int32_t> q(2);
  const std::vector<float> three = {1.0f, 1.0f, 1.0f};
  CHECK_THROWS_WITH(quanta::quantize_bias(bias, 1.0f, three, q),
                    Catch::Contains("weight_scales has 3 entries; expected 1"));
  const std::vector<float> zero = {0.0f};
  CHECK_THROWS_WITH(quanta::quantize_bias(bias, 1.0f, zero, q),
                    Catch::Contains("weight_scales[0] is 0"));
  CHECK_THROWS_WITH(quanta::quantize_bias(bias, -1.0f, zero, q),
                    Catch::Contains("input_scale is -1"));
  const std::vector<float> nan_bias = {1.0f, std::nanf("")};
  const std::vector<float> one = {1.0f};
  CHECK_THROWS_WITH(quanta::quantize_bias(nan_bias, 1.0f, one, q),
                    Catch::Contains("bias[1] is nan"));
  std::vector<std::int32_t> short_q(1);
  CHECK_THROWS_WITH(quanta::quantize_bias(bias, 1.0f, one, short_q),
                    Catch::Contains("q has 1 elements but bias has 2"));
  const std::vector<float> tiny = {1e-30f};
  CHECK_THROWS_WITH(quanta::bias_encodings(1e-20f, tiny), Catch::Contains("weight_scales[0]"));
}
