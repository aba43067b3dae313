#include <quanta/calibrate/observer.hpp>

#include <catch2/catch.hpp>

#include <limits>
#include <vector>

using quanta::channel_min_max_observer;
using quanta::min_max_observer;
using quanta::observer_options;

TEST_CASE("min_max_observer: running range and the tf / max_abs methods", "[calibrate][observer]") {
  min_max_observer o;
  o.observe(std::vector<float>{-1.0f, 2.0f});
  o.observe(std::vector<float>{0.5f, 3.0f});
  CHECK(o.range().min == -1.0f);
  CHECK(o.range().max == 3.0f);
  CHECK(o.tf_encoding() == quanta::compute_encoding(-1.0f, 3.0f));
  CHECK(o.max_abs_encoding() == quanta::compute_encoding(-3.0f, 3.0f));

  // SNPE's documented example through the observer.
  min_max_observer snpe;
  snpe.observe(std::vector<float>{-1.8f, -1.0f, 0.0f, 0.5f});
  CHECK(snpe.tf_encoding().offset() == -200);

  min_max_observer positive;
  positive.observe(std::vector<float>{0.5f, 2.0f});
  CHECK(positive.max_abs_encoding() == quanta::compute_encoding(0.0f, 2.0f));
}

TEST_CASE("min_max_observer: moving average (PyTorch's formula, in float)",
          "[calibrate][observer]") {
  observer_options opts;
  opts.moving_average = true;
  opts.averaging_constant = 0.5f;
  min_max_observer o(opts);
  o.observe(std::vector<float>{-2.0f, 4.0f});  // first batch: taken as is
  o.observe(
      std::vector<float>{-4.0f, 2.0f});  // min -2 + 0.5 (-4 + 2) = -3, max 4 + 0.5 (2 - 4) = 3
  CHECK(o.range().min == -3.0f);
  CHECK(o.range().max == 3.0f);
  o.observe(std::vector<float>{0.0f, 1.0f});
  CHECK(o.range().min == -1.5f);
  CHECK(o.range().max == 2.0f);

  opts.averaging_constant = 0.01f;
  min_max_observer p(opts);
  p.observe(std::vector<float>{-1.0f, 1.0f});
  p.observe(std::vector<float>{-3.0f, 7.0f});
  CHECK(p.range().min == -1.0f + 0.01f * (-3.0f - -1.0f));
  CHECK(p.range().max == 1.0f + 0.01f * (7.0f - 1.0f));
}

TEST_CASE("channel_min_max_observer: per channel, per-channel moving average",
          "[calibrate][observer]") {
  // [outer 2, channels 2, inner 2]
  const std::vector<float> x = {1, 2, -3, 4, 5, -6, 7, 8};
  channel_min_max_observer o(2);
  o.observe(x, quanta::channel_layout{2, 2, 2});
  CHECK(o.ranges()[0].min == -6.0f);
  CHECK(o.ranges()[0].max == 5.0f);
  CHECK(o.ranges()[1].min == -3.0f);
  CHECK(o.ranges()[1].max == 8.0f);
  const auto e = o.max_abs_encodings();
  REQUIRE(e.size() == 2);
  CHECK(e[1] == quanta::compute_encoding(-8.0f, 8.0f));
  CHECK(o.tf_encodings()[0] == quanta::compute_encoding(-6.0f, 5.0f));

  observer_options opts;
  opts.moving_average = true;
  opts.averaging_constant = 0.5f;
  channel_min_max_observer m(2, opts);
  m.observe(x, quanta::channel_layout{2, 2, 2});
  m.observe(std::vector<float>{0, 0, 0, 0}, quanta::channel_layout{1, 2, 2});
  CHECK(m.ranges()[0].min == -3.0f);
  CHECK(m.ranges()[1].max == 4.0f);
}

TEST_CASE("observers: errors", "[calibrate][observer]") {
  min_max_observer o;
  CHECK_THROWS_WITH(o.tf_encoding(),
                    "min_max_observer::tf_encoding: the observer is empty; expected at least one "
                    "value");
  CHECK_THROWS_WITH(o.observe(std::vector<float>{}),
                    "min_max_observer::observe: x is empty; expected at least one value");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(o.observe(std::vector<float>{1.0f, nan}),
                    Catch::StartsWith("min_max_observer::observe: data[1] is nan"));
  CHECK(o.empty());
  observer_options skip;
  skip.skip_non_finite = true;
  min_max_observer s(skip);
  s.observe(std::vector<float>{1.0f, nan, -std::numeric_limits<float>::infinity()});
  CHECK(s.range().min == 1.0f);
  observer_options bad;
  bad.moving_average = true;
  bad.averaging_constant = 0.0f;
  CHECK_THROWS_WITH(min_max_observer(bad),
                    Catch::StartsWith("min_max_observer: options.averaging_constant is 0"));
  channel_min_max_observer c(2);
  CHECK_THROWS_WITH(c.tf_encodings(), Catch::Contains("channel 0 is empty"));
  CHECK_THROWS_WITH(c.observe(std::vector<float>{1, 2, 3}, quanta::channel_layout{1, 3, 1}),
                    "channel_min_max_observer::observe: layout has 3 channels; expected 2");
}
