#if QUANTA_TEST_HAVE_IO

#include <quanta/io/encodings.hpp>
#include <quanta/reduce.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

using quanta::compute_encoding;
using quanta::encoding;
using quanta::encoding_options;
using quanta::profile;
using quanta::scheme;
using quanta::io::code_storage;
using quanta::io::encodings_file;
using quanta::io::encodings_version;
using quanta::io::granularity;
using quanta::io::read_encodings;
using quanta::io::read_options;
using quanta::io::tensor_encoding;
using quanta::io::tensor_kind;
using quanta::io::write_encodings;
using quanta::io::write_options;

namespace {

std::string data_path(const char* name) {
  return std::string(QUANTA_TEST_DATA_DIR) + "/" + name;
}

encoding_options options(scheme k, int bits = 8, bool is_signed = false) {
  encoding_options o;
  o.kind = k;
  o.bitwidth = bits;
  o.is_signed = is_signed;
  return o;
}

read_options storage(code_storage s) {
  read_options o;
  o.storage = s;
  return o;
}

write_options version(encodings_version v) {
  write_options o;
  o.version = v;
  return o;
}

bool any_warning_contains(const std::vector<std::string>& warnings, const std::string& text) {
  for (const auto& w : warnings)
    if (w.find(text) != std::string::npos) return true;
  return false;
}

// 0.6.1 text with one parameter tensor "w" whose single entry is `entry`.
std::string legacy_param(const std::string& entry) {
  return R"({"activation_encodings": {}, "param_encodings": {"w": [)" + entry + "]}}";
}

// Per-tensor, per-channel, 16-, 4- and 32-bit encodings of every storage the files can hold.
encodings_file quantized_fixture() {
  encodings_file f;
  f.activations["input:0"] =
      tensor_encoding::per_tensor(compute_encoding(-1.8f, 0.5f));  // offset -200
  f.activations["relu:0"] = tensor_encoding::per_tensor(compute_encoding(0.0f, 6.0f));
  f.activations["wide:0"] =
      tensor_encoding::per_tensor(compute_encoding(-3.25f, 40.0f, options(scheme::asymmetric, 16)));
  std::vector<encoding> channels;
  for (float absmax : {0.7f, 0.52f, 1.0e-3f, 3.5f})
    channels.push_back(compute_encoding(-absmax, absmax, options(scheme::symmetric, 8, true)));
  f.params["conv/weight"] = tensor_encoding::per_channel(channels, 0, true);
  f.params["conv4/weight"] = tensor_encoding::per_tensor(
      compute_encoding(-0.9f, 0.2f, options(scheme::symmetric, 4, true)), true);
  f.params["conv/bias"] = tensor_encoding::per_channel(
      {encoding{1.5e-5f, 0, 32, true}, encoding{2.25e-7f, 0, 32, true}}, 0, true);
  return f;
}

}  // namespace

// --- SNPE documentation examples -----------------------------------------------------------------

TEST_CASE("encodings files: SNPE's overrides example, with its inconsistent offsets reported",
          "[io][encodings]") {
  const auto r = quanta::io::read_encodings_file(data_path("snpe_overrides_example.json"));
  CHECK(r.version == encodings_version::v0_6_1);
  REQUIRE(r.encodings.activations.size() == 2);
  REQUIRE(r.encodings.params.size() == 1);

  const tensor_encoding& conv1 = r.encodings.activations.at("Conv1:0");
  CHECK(conv1.kind == tensor_kind::quantized);
  CHECK(conv1.layout == granularity::per_tensor);
  REQUIRE(conv1.encodings.size() == 1);
  CHECK(conv1.encodings[0] == encoding{static_cast<float>(0.050288015993135454), 0, 8, false});
  CHECK_FALSE(conv1.is_symmetric);

  // "input:0" says offset 127 but min/scale = -128: not a QNN offset. The reader takes min and max
  // by the qnn rules and says so.
  const encoding input = r.encodings.activations.at("input:0").encodings.at(0);
  CHECK(input.offset() == -128);
  CHECK(input.scale == static_cast<float>((0.9960872825108046 + 1.0039304197656937) / 255.0));
  CHECK(input.scale == Approx(0.007843206675594112).epsilon(1e-6));

  // "Conv2d/weights": offset 140, but -min/scale = 140.92: qnn gives -141 with the same scale.
  const encoding weights = r.encodings.params.at("Conv2d/weights").encodings.at(0);
  CHECK(weights.offset() == -141);
  CHECK(weights.scale == Approx(0.01490669485799974).epsilon(1e-6));

  REQUIRE(r.warnings.size() == 2);
  CHECK(any_warning_contains(r.warnings, "activation_encodings: input:0: offset 127"));
  CHECK(any_warning_contains(r.warnings, "param_encodings: Conv2d/weights: offset 140"));
  CHECK(any_warning_contains(r.warnings, "offset -128"));
  CHECK(any_warning_contains(r.warnings, "offset -141"));
}

TEST_CASE("encodings files: SNPE's mixed-precision example (conv2 in float 32)",
          "[io][encodings]") {
  const auto r =
      quanta::io::read_encodings_file(data_path("snpe_mixed_precision_three_convs.json"));
  CHECK(r.warnings.empty());
  CHECK(r.encodings.activations.size() == 4);
  CHECK(r.encodings.params.size() == 6);
  for (const char* name : {"data_0", "conv1_1", "conv3_1"})
    CHECK(r.encodings.activations.at(name) == tensor_encoding::bitwidth_only(8));
  for (const char* name : {"conv1_w_0", "conv1_b_0", "conv3_w_0", "conv3_b_0"})
    CHECK(r.encodings.params.at(name) == tensor_encoding::bitwidth_only(8));
  CHECK(r.encodings.activations.at("conv2_1") == tensor_encoding::floating(32));
  CHECK(r.encodings.params.at("conv2_w_0") == tensor_encoding::floating(32));
  CHECK(r.encodings.params.at("conv2_b_0") == tensor_encoding::floating(32));

  const auto partial =
      quanta::io::read_encodings_file(data_path("snpe_mixed_precision_partial.json"));
  CHECK(partial.warnings.empty());
  REQUIRE(partial.encodings.activations.size() == 1);
  REQUIRE(partial.encodings.params.size() == 2);
  CHECK(partial.encodings.activations.at("conv2_1").kind == tensor_kind::float_tensor);
  CHECK(partial.encodings.params.at("conv2_b_0").bitwidth == 32);

  // Written back as 0.6.1, the same entries come out.
  const auto again = read_encodings(write_encodings(r.encodings));
  CHECK(again.encodings == r.encodings);
}

TEST_CASE("encodings files: SNPE's weight entries (a bare map of parameter encodings)",
          "[io][encodings]") {
  const auto asym =
      quanta::io::read_encodings_file(data_path("snpe_weight_asymmetric_per_tensor.json"));
  CHECK(asym.warnings.empty());
  REQUIRE(asym.encodings.params.size() == 1);
  const tensor_encoding& t = asym.encodings.params.at("features.9.conv.3.weight");
  CHECK_FALSE(t.is_symmetric);
  REQUIRE(t.encodings.size() == 1);
  CHECK(t.encodings[0].offset() == -103);
  CHECK(t.encodings[0].scale == static_cast<float>(0.019991940143061618));

  const auto path = data_path("snpe_weight_per_channel_symmetric.json");
  const auto sym = quanta::io::read_encodings_file(path);
  CHECK(sym.warnings.empty());
  const tensor_encoding& c = sym.encodings.params.at("features.8.conv.3.weight");
  CHECK(c.is_symmetric);
  CHECK(c.layout == granularity::per_channel);
  CHECK_FALSE(c.axis.has_value());  // 0.6.1 does not store the axis
  REQUIRE(c.encodings.size() == 3);
  const double scales[] = {0.005520610358771377, 0.004116586343509945, 0.005801794566507415};
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(c.encodings[k] == encoding{static_cast<float>(scales[k]), 128, 8, false, false});
  }
  // The same file with symmetric encodings stored as int8.
  const auto as_signed =
      quanta::io::read_encodings_file(path, storage(code_storage::signed_if_symmetric));
  for (const encoding& e : as_signed.encodings.params.at("features.8.conv.3.weight").encodings) {
    CHECK(e.is_signed);
    CHECK(e.zero_point == 0);
    CHECK(e.offset() == -128);
  }
}

// --- reading rules -------------------------------------------------------------------------------

TEST_CASE("encodings files: an entry with only min and max is completed by the qnn rules",
          "[io][encodings]") {
  // REFERENCE: min -3, max 7 gives -min/scale = 76.5 exactly, which qnn rounds away: -77.
  auto r = read_encodings(legacy_param(R"({"bitwidth": 8, "min": -3.0, "max": 7.0})"));
  CHECK(r.warnings.empty());
  encoding e = r.encodings.params.at("w").encodings.at(0);
  CHECK(e.offset() == -77);
  CHECK(e == compute_encoding(-3.0f, 7.0f));

  // AIMET: min -0.46, max 0.72 -> scale 0.0046274509803921563, offset -99.
  r = read_encodings(legacy_param(R"({"bitwidth": 8, "dtype": "int", "min": -0.46, "max": 0.72})"));
  e = r.encodings.params.at("w").encodings.at(0);
  CHECK(e.scale == static_cast<float>(0.0046274509803921563));
  CHECK(e.offset() == -99);

  // Symmetric: scale absmax / 127, offset -128; the degenerate range 0, 0 is not an error.
  r = read_encodings(
      legacy_param(R"({"bitwidth": 8, "is_symmetric": "True", "min": -2.0, "max": 1.0})"));
  e = r.encodings.params.at("w").encodings.at(0);
  CHECK(e.scale == static_cast<float>(2.0 / 127.0));
  CHECK(e.offset() == -128);
  r = read_encodings(legacy_param(R"({"bitwidth": 8, "min": 0.0, "max": 0.0})"));
  CHECK(r.encodings.params.at("w").encodings.at(0).scale == static_cast<float>(0.01 / 255.0));
}

TEST_CASE("encodings files: disagreeing fields are reported, never silently fixed",
          "[io][encodings]") {
  // Scale and offset are valid but min is 3 steps away from scale * offset.
  const auto r = read_encodings(
      legacy_param(R"({"bitwidth": 8, "min": -1.03, "max": 1.52, "scale": 0.01, "offset": -100})"));
  REQUIRE(r.warnings.size() == 1);
  CHECK_THAT(r.warnings[0], Catch::StartsWith("param_encodings: w: min -1.03"));
  CHECK_THAT(r.warnings[0], Catch::Contains("scale and offset were used"));
  CHECK(r.encodings.params.at("w").encodings.at(0).offset() == -100);

  // Within half a step: accepted quietly.
  const auto quiet = read_encodings(legacy_param(
      R"({"bitwidth": 8, "min": -1.001, "max": 1.549, "scale": 0.01, "offset": -100})"));
  CHECK(quiet.warnings.empty());

  // A positive offset with no min/max to fall back on is an error.
  CHECK_THROWS_WITH(read_encodings(legacy_param(R"({"bitwidth": 8, "scale": 0.01, "offset": 5})")),
                    Catch::StartsWith("read_encodings: param_encodings: w: offset is 5; expected "
                                      "an integer in -255..0"));

  // Symmetric with an off-centre offset: read as given, with a finding.
  const auto odd = read_encodings(
      legacy_param(R"({"bitwidth": 8, "is_symmetric": "True", "scale": 0.01, "offset": -100})"));
  CHECK(any_warning_contains(odd.warnings, "is_symmetric is True but offset -100"));

  // Unknown keys are ignored and named.
  const auto extra = read_encodings(R"({"version": "0.6.1", "activation_encodings": {},
      "param_encodings": {"w": [{"bitwidth": 8, "scale": 0.5, "offset": 0, "colour": "red"}]},
      "quantizer_args": {"activation_bitwidth": 8}, "comment": "x"})");
  CHECK(extra.warnings.size() == 2);
  CHECK(any_warning_contains(extra.warnings, "param_encodings: w: colour is not a known field"));
  CHECK(any_warning_contains(extra.warnings, "comment is not a known top-level key"));
}

TEST_CASE("encodings files: strict symmetric grids", "[io][encodings]") {
  const encoding strict = compute_encoding(-2.0f, 1.0f, options(scheme::symmetric_strict, 8, true));
  REQUIRE(strict.narrow_range);
  encodings_file f;
  f.params["w"] = tensor_encoding::per_tensor(strict, true);

  // Exported with offset -128 (the SNPE converter rejects -127); min shows the strict grid.
  const auto json = nlohmann::json::parse(write_encodings(f));
  const auto& entry = json["param_encodings"]["w"][0];
  CHECK(entry["offset"].get<std::int64_t>() == -128);
  CHECK(entry["is_symmetric"] == "True");
  CHECK(entry["min"].get<double>() == -127.0 * static_cast<double>(strict.scale));
  CHECK(entry["max"].get<double>() == 127.0 * static_cast<double>(strict.scale));
  CHECK(read_encodings(write_encodings(f), storage(code_storage::signed_codes)).encodings == f);

  // AIMET's own strict offset -127 holds the same reals: read as the narrow grid, centred.
  const auto aimet = read_encodings(
      legacy_param(R"({"bitwidth": 8, "is_symmetric": "True", "scale": 0.5, "offset": -127})"));
  CHECK(aimet.warnings.empty());
  const encoding e = aimet.encodings.params.at("w").encodings.at(0);
  CHECK(e == encoding{0.5f, 128, 8, false, true});
  CHECK(e.min() == -63.5f);
  CHECK(e.max() == 63.5f);

  // 1.0.0 and 2.0.0 cannot tell; the read option says.
  for (auto v : {encodings_version::v1_0_0, encodings_version::v2_0_0}) {
    read_options o = storage(code_storage::signed_codes);
    o.symmetric_narrow_range = true;
    CHECK(read_encodings(write_encodings(f, version(v)), o).encodings == f);
    o.symmetric_narrow_range = false;
    CHECK_FALSE(read_encodings(write_encodings(f, version(v)), o)
                    .encodings.params.at("w")
                    .encodings.at(0)
                    .narrow_range);
  }
}

// --- writing -------------------------------------------------------------------------------------

TEST_CASE("encodings files: 0.6.1 output, field by field", "[io][encodings]") {
  // SNPE's documented example: [-1.8, -1.0, 0, 0.5] -> min -1.803922, max 0.496078, scale 0.009020.
  const std::vector<float> x = {-1.8f, -1.0f, 0.0f, 0.5f};
  encodings_file f;
  f.activations["x"] = tensor_encoding::per_tensor(compute_encoding(x));
  const auto json = nlohmann::json::parse(write_encodings(f));
  CHECK(json["version"] == "0.6.1");
  const auto& entry = json["activation_encodings"]["x"][0];
  CHECK(entry["bitwidth"] == 8);
  CHECK(entry["dtype"] == "int");
  CHECK(entry["is_symmetric"] == "False");
  CHECK(entry["offset"].get<std::int64_t>() == -200);
  CHECK(entry["scale"].get<double>() == Approx(0.009020).margin(5e-7));
  CHECK(entry["min"].get<double>() == Approx(-1.803922).margin(1e-6));
  CHECK(entry["max"].get<double>() == Approx(0.496078).margin(1e-6));
  // min and max are the grid's ends: scale * offset and scale * (offset + 255).
  const double scale = entry["scale"].get<double>();
  CHECK(entry["min"].get<double>() == scale * -200.0);
  CHECK(entry["max"].get<double>() == scale * 55.0);
  CHECK(json["param_encodings"].is_object());
  CHECK(json["param_encodings"].empty());
}

TEST_CASE("encodings files: 1.0.0 and 2.0.0 output, field by field", "[io][encodings]") {
  encodings_file f;
  f.activations["a"] = tensor_encoding::per_tensor(encoding{0.25f, 41, 8, false});
  f.params["w"] = tensor_encoding::per_channel(
      {encoding{0.5f, 0, 8, true}, encoding{0.125f, 0, 8, true}}, 0, true);
  f.params["f"] = tensor_encoding::floating(16);

  const auto v1 = nlohmann::json::parse(write_encodings(f, version(encodings_version::v1_0_0)));
  CHECK(v1["version"] == "1.0.0");
  REQUIRE(v1["param_encodings"].size() == 2);
  const auto& flt = v1["param_encodings"][0];  // sorted by name: "f", "w"
  CHECK(flt == nlohmann::json::parse(
                   R"({"name": "f", "dtype": "FLOAT", "enc_type": "PER_TENSOR", "bw": 16})"));
  const auto& w1 = v1["param_encodings"][1];
  CHECK(w1 == nlohmann::json::parse(R"({"name": "w", "dtype": "INT", "enc_type": "PER_CHANNEL",
      "bw": 8, "is_sym": true, "scale": [0.5, 0.125], "offset": [-128, -128]})"));
  CHECK(v1["activation_encodings"][0]["offset"] == nlohmann::json::parse("[-41]"));

  f.params.erase("f");  // 2.0.0 has no float entries
  const auto v2 = nlohmann::json::parse(write_encodings(f, version(encodings_version::v2_0_0)));
  CHECK(v2["version"] == "2.0.0");
  CHECK(v2["activation_encodings"][0] ==
        nlohmann::json::parse(
            R"({"name": "a", "output_dtype": "uint8", "y_scale": 0.25, "y_zero_point": 41})"));
  // All zero points 0: y_zero_point left out, as AIMET does.
  CHECK(v2["param_encodings"][0] ==
        nlohmann::json::parse(
            R"({"name": "w", "output_dtype": "int8", "y_scale": [0.5, 0.125], "axis": 0})"));
}

// --- round trips ---------------------------------------------------------------------------------

TEST_CASE("encodings files: round trips are exact in every version", "[io][encodings]") {
  const read_options o = storage(code_storage::signed_if_symmetric);
  for (auto v : {encodings_version::v0_6_1, encodings_version::v1_0_0, encodings_version::v2_0_0}) {
    INFO("version " << quanta::io::to_string(v));
    encodings_file f = quantized_fixture();
    if (v == encodings_version::v0_6_1 || v == encodings_version::v1_0_0) {
      // These versions store no axis.
      for (auto& [name, t] : f.params)
        t.axis.reset();
    }
    if (v != encodings_version::v2_0_0) {
      f.activations["conv2_1"] = tensor_encoding::floating(16);
      f.params["conv1_w_0"] = tensor_encoding::bitwidth_only(4, true);
    }
    const std::string text = write_encodings(f, version(v));
    const auto r = read_encodings(text, o);
    CHECK(r.version == v);
    CHECK(r.warnings.empty());
    CHECK(r.encodings == f);
    // read, write, read again: the same encodings and the same text.
    CHECK(write_encodings(r.encodings, version(v)) == text);
    CHECK(read_encodings(write_encodings(r.encodings, version(v)), o).encodings == f);
  }
}

TEST_CASE("encodings files: per-block encodings in 1.0.0 and 2.0.0", "[io][encodings]") {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> w(4 * 64);
  for (float& v : w)
    v = normal(rng);
  const std::vector<std::int64_t> shape = {4, 64};
  const auto layout = quanta::block_layout::from_shape(shape, 1, 32);
  const auto blocks =
      quanta::compute_block_encodings(w, layout, options(scheme::symmetric, 4, true));
  REQUIRE(blocks.size() == 8);
  encodings_file f;
  f.params["fc/weight"] = tensor_encoding::per_block(blocks, 1, 32, {4, 2}, true);

  const std::string v2 = write_encodings(f, version(encodings_version::v2_0_0));
  const auto json = nlohmann::json::parse(v2);
  const auto& entry = json["param_encodings"][0];
  CHECK(entry["output_dtype"] == "int4");
  CHECK(entry["axis"] == 1);
  CHECK(entry["block_size"] == 32);
  REQUIRE(entry["y_scale"].size() == 4);
  CHECK(entry["y_scale"][3][1].get<double>() == static_cast<double>(blocks[7].scale));
  CHECK(read_encodings(v2).encodings == f);

  // 1.0.0 flattens the scales and stores neither axis nor shape.
  encodings_file flat = f;
  flat.params["fc/weight"].axis.reset();
  flat.params["fc/weight"].shape.clear();
  const std::string v1 = write_encodings(f, version(encodings_version::v1_0_0));
  CHECK(read_encodings(v1, storage(code_storage::signed_codes)).encodings == flat);
  CHECK(nlohmann::json::parse(v1)["param_encodings"][0]["offset"].size() == 8);
}

TEST_CASE("encodings files: random encodings survive every version bit for bit",
          "[io][encodings][property]") {
  std::mt19937 rng(2024);
  std::uniform_real_distribution<float> exponent(-30.0f, 10.0f);
  std::uniform_int_distribution<int> bits(2, 16);
  for (int trial = 0; trial < 200; ++trial) {
    const int b = bits(rng);
    const bool is_signed = (trial & 1) != 0;
    encoding e{std::exp2(exponent(rng)) * 1.2345678f, 0, b, is_signed};
    std::uniform_int_distribution<std::int32_t> zp(e.qmin(), e.qmax());
    e.zero_point = zp(rng);
    if (e.zero_point == quanta::detail::symmetric_zero_point(e)) continue;  // reads as symmetric
    encodings_file f;
    f.activations["t"] = tensor_encoding::per_tensor(e);
    const read_options o =
        storage(is_signed ? code_storage::signed_codes : code_storage::unsigned_codes);
    for (auto v :
         {encodings_version::v0_6_1, encodings_version::v1_0_0, encodings_version::v2_0_0}) {
      INFO("scale " << e.scale << " zero point " << e.zero_point << " bits " << b << " version "
                    << quanta::io::to_string(v));
      const auto r = read_encodings(write_encodings(f, version(v)), o);
      REQUIRE(r.encodings == f);
      REQUIRE(r.warnings.empty());
    }
  }
}

// --- malformed files -----------------------------------------------------------------------------

TEST_CASE("encodings files: malformed files give errors naming tensor and field",
          "[io][encodings][errors]") {
  using Catch::Contains;
  using Catch::StartsWith;
  CHECK_THROWS_WITH(read_encodings("{\"param_encodings\": {"),
                    StartsWith("read_encodings: the text is not valid JSON"));
  CHECK_THROWS_WITH(read_encodings("[1, 2]"), StartsWith("read_encodings: the file is array"));
  CHECK_THROWS_WITH(read_encodings(R"({"a": 1})"),
                    Contains("neither activation_encodings nor param_encodings"));
  CHECK_THROWS_WITH(read_encodings(R"({"version": "3.0.0", "param_encodings": []})"),
                    StartsWith("read_encodings: the file: version is \"3.0.0\"; expected"));
  CHECK_THROWS_WITH(read_encodings(R"({"param_encodings": {"w": {"bitwidth": 8}}})"),
                    StartsWith("read_encodings: param_encodings: w: the value is {"));
  CHECK_THROWS_WITH(read_encodings(legacy_param(R"({"scale": 0.5, "offset": 0})")),
                    StartsWith("read_encodings: param_encodings: w: bitwidth is missing"));
  CHECK_THROWS_WITH(read_encodings(legacy_param(R"({"bitwidth": 17, "scale": 0.5, "offset": 0})")),
                    StartsWith("read_encodings: param_encodings: w: bitwidth is 17; expected"));
  CHECK_THROWS_WITH(read_encodings(legacy_param(R"({"bitwidth": 8, "dtype": "double"})")),
                    StartsWith("read_encodings: param_encodings: w: dtype is \"double\""));
  CHECK_THROWS_WITH(read_encodings(legacy_param(R"({"bitwidth": 8, "dtype": "float"})")),
                    Contains("w: bitwidth is 8; expected 16 or 32"));
  CHECK_THROWS_WITH(
      read_encodings(legacy_param(R"({"bitwidth": 8, "is_symmetric": "yes", "min": 0, "max": 1})")),
      StartsWith("read_encodings: param_encodings: w: is_symmetric is \"yes\"; expected \"True\""));
  CHECK_THROWS_WITH(read_encodings(legacy_param(R"({"bitwidth": 8, "scale": 0.5, "offset": 1.5})")),
                    StartsWith("read_encodings: param_encodings: w: offset is 1.5; expected an "
                               "integer"));
  CHECK_THROWS_WITH(read_encodings(legacy_param(R"({"bitwidth": 8, "scale": 0, "offset": 0})")),
                    StartsWith("read_encodings: param_encodings: w: scale is 0; expected a finite "
                               "value > 0"));
  CHECK_THROWS_WITH(read_encodings(legacy_param(R"({"bitwidth": 8, "scale": 1e300, "offset": 0})")),
                    Contains("w: scale is 1e+300; expected a finite value > 0 (as a float)"));
  CHECK_THROWS_WITH(read_encodings(legacy_param(R"({"bitwidth": 8, "min": -1e300, "max": 0})")),
                    Contains("w: min is -1e+300; expected a value in the float range"));
  CHECK_THROWS_WITH(read_encodings(legacy_param(R"({"bitwidth": 8, "scale": "0.5", "offset": 0})")),
                    Contains("w: scale is \"0.5\"; expected a number"));
  CHECK_THROWS_WITH(read_encodings(legacy_param(R"({"bitwidth": 8, "scale": 0.5})")),
                    StartsWith("read_encodings: param_encodings: w: offset is missing"));
  CHECK_THROWS_WITH(read_encodings(legacy_param(R"({"bitwidth": 8, "min": 0.5})")),
                    Contains("w: max is missing"));
  CHECK_THROWS_WITH(read_encodings(legacy_param(R"({"bitwidth": 8, "min": 2, "max": 1})")),
                    Contains("w: min 2 is greater than max 1"));
  CHECK_THROWS_WITH(
      read_encodings(legacy_param(
          R"({"bitwidth": 8, "scale": 0.5, "offset": 0}, {"bitwidth": 4, "scale": 0.5, "offset": 0})")),
      StartsWith("read_encodings: param_encodings: w: entry 1: kind, bitwidth or is_symmetric "
                 "differ from entry 0"));
  CHECK_THROWS_WITH(
      read_encodings(legacy_param(R"({"bitwidth": 8, "scale": 0.5, "offset": 0}, 3)")),
      Contains("w: entry 1: the entry is 3; expected an object"));

  // 1.0.0
  const auto v1 = [](const std::string& entry) {
    return R"({"version": "1.0.0", "activation_encodings": [], "param_encodings": [)" + entry +
           "]}";
  };
  CHECK_THROWS_WITH(read_encodings(v1(R"({"dtype": "INT", "enc_type": "PER_TENSOR", "bw": 8})")),
                    StartsWith("read_encodings: param_encodings[0]: name is missing"));
  CHECK_THROWS_WITH(
      read_encodings(v1(R"({"name": "w", "dtype": "INT", "enc_type": "LPBQ", "bw": 8})")),
      StartsWith("read_encodings: param_encodings: w: enc_type is \"LPBQ\"; expected PER_TENSOR"));
  CHECK_THROWS_WITH(read_encodings(v1(R"({"name": "w", "dtype": "INT", "enc_type": "PER_CHANNEL",
      "bw": 8, "is_sym": true, "scale": [0.5, 0.25], "offset": [-128]})")),
                    StartsWith("read_encodings: param_encodings: w: offset is [-128]; expected a "
                               "list of 2 offsets"));
  CHECK_THROWS_WITH(read_encodings(v1(R"({"name": "w", "dtype": "INT", "enc_type": "PER_CHANNEL",
      "bw": 8, "is_sym": false, "scale": [0.5, 0.25], "offset": [0, 3]})")),
                    StartsWith("read_encodings: param_encodings: w: offset[1] is 3; expected"));
  CHECK_THROWS_WITH(read_encodings(v1(R"({"name": "w", "dtype": "INT", "enc_type": "PER_BLOCK",
      "bw": 4, "is_sym": true, "scale": [0.5], "offset": [-8]})")),
                    StartsWith("read_encodings: param_encodings: w: block_size is missing"));
  CHECK_THROWS_WITH(
      read_encodings(v1(R"({"name": "w", "dtype": "FLOAT", "enc_type": "PER_TENSOR", "bw": 16},
                           {"name": "w", "dtype": "FLOAT", "enc_type": "PER_TENSOR", "bw": 16})")),
      StartsWith("read_encodings: param_encodings[1]: name is \"w\"; expected each name once"));

  // 2.0.0
  const auto v2 = [](const std::string& entry) {
    return R"({"version": "2.0.0", "activation_encodings": [], "param_encodings": [)" + entry +
           "]}";
  };
  CHECK_THROWS_WITH(
      read_encodings(v2(R"({"name": "w", "output_dtype": "int8", "y_scale": [0.5, 0.25]})")),
      StartsWith("read_encodings: param_encodings: w: axis is missing"));
  CHECK_THROWS_WITH(
      read_encodings(
          v2(R"({"name": "w", "output_dtype": "uint8", "y_scale": 0.5, "y_zero_point": 300})")),
      StartsWith("read_encodings: param_encodings: w: y_zero_point is 300; expected 0..255"));
  CHECK_THROWS_WITH(
      read_encodings(v2(R"({"name": "w", "output_dtype": "float8e4m3fn", "y_scale": 0.5})")),
      StartsWith("read_encodings: param_encodings: w: output_dtype is \"float8e4m3fn\"; expected"));
  CHECK_THROWS_WITH(read_encodings(v2(R"({"name": "w", "output_dtype": "int4", "axis": 1,
      "block_size": 32, "y_scale": [[0.5, 0.25], [0.125]]})")),
                    Contains("w: y_scale is [0.125]; expected a rectangular"));
  CHECK_THROWS_WITH(read_encodings(v2(R"({"name": "w", "output_dtype": "int8", "axis": 0,
      "y_scale": [0.5, 0.25], "y_zero_point": [0]})")),
                    Contains("w: y_zero_point is [0]; expected the same shape as y_scale"));
  CHECK_THROWS_WITH(
      read_encodings(v2(R"({"name": "w", "output_dtype": "int8", "y_scale": {"x": [1]}})")),
      Contains("meta encodings are not supported"));

  CHECK_THROWS_WITH(quanta::io::read_encodings_file(data_path("no_such_file.json")),
                    StartsWith("read_encodings_file: path is \""));
}

TEST_CASE("encodings files: mutated files read or throw quanta::error, nothing else",
          "[io][encodings][errors][property]") {
  // Every value of every version's file replaced, one at a time, by values of other types.
  encodings_file f = quantized_fixture();
  f.params["blocks"] = tensor_encoding::per_block(
      {encoding{0.5f, 1, 4, true}, encoding{0.25f, -2, 4, true}}, 1, 16, {1, 2});
  const nlohmann::json replacements = nlohmann::json::parse(
      R"([null, true, "True", "x", -1, 0, 1, 3.5, -1e300, 4294967296, [], [1], {}, {"a": 1}])");
  std::size_t reads = 0;
  std::size_t errors = 0;
  for (auto v : {encodings_version::v0_6_1, encodings_version::v1_0_0, encodings_version::v2_0_0}) {
    encodings_file g = f;
    if (v == encodings_version::v0_6_1) g.params.erase("blocks");
    const nlohmann::json original = nlohmann::json::parse(write_encodings(g, version(v)));
    const nlohmann::json flat = original.flatten();
    for (auto it = flat.begin(); it != flat.end(); ++it) {
      for (const auto& replacement : replacements) {
        nlohmann::json mutated = original;
        mutated[nlohmann::json::json_pointer(it.key())] = replacement;
        const std::string text = mutated.dump();
        try {
          (void)read_encodings(text);
          ++reads;
        } catch (const quanta::error&) {
          ++errors;
        } catch (const std::exception& e) {
          FAIL("not a quanta::error: " << e.what() << " for " << text);
        }
      }
    }
  }
  CHECK(reads > 0);
  CHECK(errors > reads);
}

TEST_CASE("encodings files: the writer validates everything before writing",
          "[io][encodings][errors]") {
  using Catch::Contains;
  using Catch::StartsWith;
  encodings_file f;
  f.params["w"] = tensor_encoding::per_block({encoding{0.5f, 0, 4, true}}, 1, 32);
  CHECK_THROWS_WITH(write_encodings(f), StartsWith("write_encodings: param_encodings: w: is "
                                                   "per-block, which 0.6.1 files cannot hold"));

  f.params["w"] = tensor_encoding::floating(16);
  CHECK_THROWS_WITH(write_encodings(f, version(encodings_version::v2_0_0)),
                    StartsWith("write_encodings: param_encodings: w: is a float tensor"));
  f.params["w"] = tensor_encoding::floating(8);
  CHECK_THROWS_WITH(write_encodings(f), Contains("w: bitwidth is 8; expected 16 or 32"));

  f.params["w"] = tensor_encoding::per_channel({encoding{0.5f, 0, 8, true}}, std::nullopt);
  CHECK_THROWS_WITH(write_encodings(f, version(encodings_version::v2_0_0)),
                    StartsWith("write_encodings: param_encodings: w: axis is unset"));

  f.params["w"] =
      tensor_encoding::per_channel({encoding{0.5f, 0, 8, true}, encoding{0.0f, 0, 8, true}}, 0);
  CHECK_THROWS_WITH(write_encodings(f), StartsWith("write_encodings: param_encodings: w: "
                                                   "encodings[1].scale is 0"));

  f.params["w"] =
      tensor_encoding::per_channel({encoding{0.5f, 0, 8, true}, encoding{0.5f, 0, 4, true}}, 0);
  CHECK_THROWS_WITH(write_encodings(f), Contains("w: encodings[1] differs from encodings[0]"));

  f.params["w"] = tensor_encoding::per_tensor(encoding{0.5f, 3, 8, true, true}, true);
  CHECK_THROWS_WITH(write_encodings(f),
                    Contains("w: encodings[0] is narrow_range with zero_point 3"));

  f.params.clear();
  f.activations[""] = tensor_encoding::floating(16);
  CHECK_THROWS_WITH(write_encodings(f),
                    StartsWith("write_encodings: activation_encodings: a tensor name is empty"));

  // Nothing is written when validation fails.
  const std::string path = "quanta_test_io_encodings_not_written.json";
  std::remove(path.c_str());
  CHECK_THROWS(quanta::io::write_encodings_file(path, f));
  CHECK_FALSE(std::ifstream(path).good());
  f.activations.clear();
  f.activations["x"] = tensor_encoding::floating(16);
  quanta::io::write_encodings_file(path, f);
  CHECK(quanta::io::read_encodings_file(path).encodings == f);
  std::remove(path.c_str());
}

#endif  // QUANTA_TEST_HAVE_IO
