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
      StartsWith("read_encodings: param_encodings: w: compressed_bw is missing; expected the "
                 "bitwidth of the codes, 2..7"));
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

// --- hardening -----------------------------------------------------------------------------------

TEST_CASE("encodings files: deep nesting is refused at 64 levels, without recursion",
          "[io][encodings][errors]") {
  using Catch::Contains;
  using Catch::StartsWith;
  constexpr std::size_t deep = 100000;
  // A bare array, and the same inside an entry, where the reader (and json::dump in its error
  // message) would recurse.
  const std::string brackets = std::string(deep, '[') + std::string(deep, ']');
  CHECK_THROWS_WITH(read_encodings(brackets),
                    StartsWith("read_encodings: the file[0]") &&
                        Contains("the nesting depth reaches 65; expected at most 64 levels"));
  CHECK_THROWS_WITH(read_encodings(legacy_param(brackets)),
                    StartsWith("read_encodings: param_encodings: w[0]") &&
                        Contains("the nesting depth reaches 65; expected at most 64"));
  std::string objects;
  for (std::size_t k = 0; k < deep; ++k)
    objects += "{\"a\": ";
  objects += "1" + std::string(deep, '}');
  CHECK_THROWS_WITH(read_encodings(objects), Contains("the nesting depth reaches 65"));

  // 2.0.0 nests y_scale by the shape: rank 61 is 64 levels, written and read back; rank 62 is
  // refused by the writer and by the reader.
  for (std::size_t rank : {std::size_t{61}, std::size_t{62}}) {
    INFO("rank " << rank);
    encodings_file f;
    f.params["w"] = tensor_encoding::per_block({encoding{0.5f, 3, 8, false}}, 0, 16,
                                               std::vector<std::size_t>(rank, 1));
    const std::string text =
        R"({"version": "2.0.0", "activation_encodings": [], "param_encodings": [{"name": "w", )"
        R"("output_dtype": "uint8", "axis": 0, "block_size": 16, "y_scale": )" +
        std::string(rank, '[') + "0.5" + std::string(rank, ']') + R"(, "y_zero_point": )" +
        std::string(rank, '[') + "3" + std::string(rank, ']') + "}]}";
    if (rank == 61) {
      CHECK(read_encodings(write_encodings(f, version(encodings_version::v2_0_0))).encodings == f);
      CHECK(read_encodings(text).encodings == f);
    } else {
      CHECK_THROWS_WITH(write_encodings(f, version(encodings_version::v2_0_0)),
                        StartsWith("write_encodings: param_encodings: w: shape has rank 62; "
                                   "expected at most 61"));
      CHECK_THROWS_WITH(read_encodings(text),
                        StartsWith("read_encodings: param_encodings[0]: y_scale[0]") &&
                            Contains("the nesting depth reaches 65"));
    }
  }
}

TEST_CASE("encodings files: every JSON library error becomes a quanta::error",
          "[io][encodings][errors]") {
  using Catch::Contains;
  using Catch::StartsWith;
  for (const char* number : {"1e400", "-1e400", "1e99999"}) {
    INFO(number);
    const std::string text =
        legacy_param(std::string(R"({"bitwidth": 8, "offset": 0, "scale": )") + number + "}");
    CHECK_THROWS_AS(read_encodings(text), quanta::error);
    CHECK_THROWS_WITH(read_encodings(text),
                      StartsWith("read_encodings: the text holds a number beyond the double "
                                 "range") &&
                          Contains("expected finite numbers"));
  }
  // Files name their path, for this and every other error.
  const std::string path = "quanta_test_io_encodings_overflow.json";
  std::ofstream(path) << legacy_param(R"({"bitwidth": 8, "offset": 0, "scale": 1e400})");
  CHECK_THROWS_WITH(quanta::io::read_encodings_file(path),
                    StartsWith("read_encodings_file: \"" + path +
                               "\": the text holds a number beyond the double range"));
  std::ofstream(path) << legacy_param(R"({"bitwidth": 8, "offset": 1.5, "scale": 0.5})");
  CHECK_THROWS_WITH(quanta::io::read_encodings_file(path),
                    StartsWith("read_encodings_file: \"" + path +
                               "\": param_encodings: w: offset is 1.5; expected an integer"));
  std::remove(path.c_str());

  // Mutated text, not only mutated values: overflowing numbers and broken syntax everywhere.
  for (auto v : {encodings_version::v0_6_1, encodings_version::v1_0_0, encodings_version::v2_0_0}) {
    const std::string original = write_encodings(quantized_fixture(), version(v));
    for (std::size_t at = 0; at < original.size(); at += 5) {
      for (const char* insert : {"1e400", "9e999,", "\"", "]", "{", "\\u", "-", "\xff", "[[[["}) {
        const std::string text = original.substr(0, at) + insert + original.substr(at);
        try {
          (void)read_encodings(text);
        } catch (const quanta::error&) {
        } catch (const std::exception& e) {
          FAIL("not a quanta::error: " << e.what() << " for " << text);
        }
      }
    }
  }
}

TEST_CASE("encodings files: a name or a field given twice is an error", "[io][encodings][errors]") {
  using Catch::Contains;
  using Catch::StartsWith;
  const std::string entry = R"([{"bitwidth": 8, "scale": 0.5, "offset": 0}])";
  CHECK_THROWS_WITH(read_encodings(R"({"activation_encodings": {}, "param_encodings": {"w": )" +
                                   entry + R"(, "v": )" + entry + R"(, "w": )" + entry + "}}"),
                    StartsWith("read_encodings: param_encodings: \"w\" appears twice; expected "
                               "each tensor name once per section"));
  CHECK_THROWS_WITH(
      read_encodings(R"({"activation_encodings": {"a": )" + entry + R"(, "a": )" + entry + "}}"),
      StartsWith("read_encodings: activation_encodings: \"a\" appears twice"));
  CHECK_THROWS_WITH(read_encodings(R"({"w": )" + entry + R"(, "w": )" + entry + "}"),
                    StartsWith("read_encodings: the file: \"w\" appears twice"));
  CHECK_THROWS_WITH(
      read_encodings(legacy_param(R"({"bitwidth": 8, "scale": 0.5, "offset": 0, "scale": 0.25})")),
      StartsWith("read_encodings: param_encodings: w[0]: \"scale\" appears twice; expected") &&
          Contains("each field once per entry"));
  CHECK_THROWS_WITH(
      read_encodings(R"({"version": "1.0.0", "param_encodings": [{"name": "w", "dtype": "FLOAT",
          "enc_type": "PER_TENSOR", "bw": 16, "bw": 32}]})"),
      StartsWith("read_encodings: param_encodings[0]: \"bw\" appears twice"));
  CHECK_THROWS_WITH(read_encodings(R"({"version": "0.6.1", "version": "1.0.0"})"),
                    StartsWith("read_encodings: the file: \"version\" appears twice"));
  // One name in both sections is two tensors, not a duplicate.
  const auto both = read_encodings(R"({"activation_encodings": {"w": )" + entry +
                                   R"(}, "param_encodings": {"w": )" + entry + "}}");
  CHECK(both.encodings.activations.size() == 1);
  CHECK(both.encodings.params.size() == 1);
}

TEST_CASE("encodings files: channels of one tensor share narrow_range, as the writer needs",
          "[io][encodings][errors]") {
  using Catch::Contains;
  using Catch::StartsWith;
  // -127 is AIMET's strict grid, -128 with a full-grid min the full one: not one grid.
  CHECK_THROWS_WITH(
      read_encodings(legacy_param(
          R"({"bitwidth": 8, "is_symmetric": "True", "scale": 0.5, "offset": -127},
             {"bitwidth": 8, "is_symmetric": "True", "scale": 0.5, "offset": -128})")),
      StartsWith("read_encodings: param_encodings: w: entry 1: is the full symmetric grid but "
                 "entry 0 is the strict one; expected one grid (narrow_range) for all channels"));
  CHECK_THROWS_WITH(
      read_encodings(legacy_param(
          R"({"bitwidth": 8, "is_symmetric": "True", "scale": 0.5, "offset": -128, "min": -64, "max": 63.5},
             {"bitwidth": 8, "is_symmetric": "True", "scale": 0.5, "offset": -128, "min": -63.5, "max": 63.5})")),
      Contains("w: entry 1: is the strict symmetric grid but entry 0 is the full one"));
  const std::string v1 =
      R"({"version": "1.0.0", "param_encodings": [{"name": "w", "dtype": "INT",
          "enc_type": "PER_CHANNEL", "bw": 8, "is_sym": true, "scale": [0.5, 0.25],
          "offset": [-127, -128]}]})";
  CHECK_THROWS_WITH(read_encodings(v1),
                    StartsWith("read_encodings: param_encodings: w: offset[1] is -128; expected "
                               "an offset giving the strict symmetric grid, as offset[0] does"));
  // With -128 read as strict too, the channels agree, and the tensor is written back.
  read_options strict;
  strict.symmetric_narrow_range = true;
  const auto r = read_encodings(v1, strict);
  const tensor_encoding& w = r.encodings.params.at("w");
  CHECK(w.encodings.at(0).narrow_range);
  CHECK(w.encodings.at(1).narrow_range);
  const std::string text = write_encodings(r.encodings, version(encodings_version::v1_0_0));
  CHECK(read_encodings(text, strict).encodings == r.encodings);
  CHECK(nlohmann::json::parse(text)["param_encodings"][0]["offset"] ==
        nlohmann::json::parse("[-128, -128]"));

  // The option makes a tensor strict only when every offset is symmetric: an off-centre channel
  // keeps the centred ones on the full grid. AIMET's -127 beside it has no single grid.
  const auto with_offsets = [](const char* offsets) {
    return std::string(R"({"version": "1.0.0", "param_encodings": [{"name": "w", "dtype": "INT",
        "enc_type": "PER_CHANNEL", "bw": 8, "is_sym": true, "scale": [0.5, 0.25], "offset": )") +
           offsets + "}]}";
  };
  const auto mixed = read_encodings(with_offsets("[-128, -100]"), strict);
  for (const encoding& e : mixed.encodings.params.at("w").encodings)
    CHECK_FALSE(e.narrow_range);
  CHECK(read_encodings(write_encodings(mixed.encodings, version(encodings_version::v1_0_0)), strict)
            .encodings == mixed.encodings);
  CHECK_THROWS_WITH(read_encodings(with_offsets("[-127, -100]"), strict),
                    Contains("w: offset[1] is -100; expected an offset giving the strict"));
}

TEST_CASE("encodings files: 0.6.1 grids stay within the float range, written and read",
          "[io][encodings][errors]") {
  using Catch::Contains;
  using Catch::StartsWith;
  constexpr float float_max = std::numeric_limits<float>::max();
  encodings_file f;
  f.params["w"] = tensor_encoding::per_tensor(encoding{float_max / 2.0f, 0, 8, false});
  CHECK_THROWS_WITH(write_encodings(f),
                    StartsWith("write_encodings: param_encodings: w: encodings[0] spans 0 .. ") &&
                        Contains("expected min and max within the float range"));
  // 1.0.0 and 2.0.0 store no min and max.
  for (auto v : {encodings_version::v1_0_0, encodings_version::v2_0_0})
    CHECK(read_encodings(write_encodings(f, version(v))).encodings == f);

  // The reader refuses what the writer cannot write back: from scale and offset, or from min/max.
  CHECK_THROWS_WITH(
      read_encodings(legacy_param(R"({"bitwidth": 8, "scale": 3e38, "offset": 0})")),
      StartsWith("read_encodings: param_encodings: w: scale 3.00000001e+38 and offset 0 give the "
                 "grid 0 .. ") &&
          Contains("expected min and max within the float range"));
  CHECK_THROWS_WITH(
      read_encodings(legacy_param(R"({"bitwidth": 8, "min": -3.4e38, "max": 3.4e38})")),
      StartsWith("read_encodings: param_encodings: w: min -3.4e+38 and max 3.4e+38 (scale "));

  // At the edge of the range: whatever is written reads back, and writes the same text again.
  std::size_t written = 0;
  for (bool is_signed : {false, true}) {
    for (int bits : {2, 8, 16}) {
      encoding e{1.0f, 0, bits, is_signed};
      e.zero_point = e.qmin();
      const float edge = float_max / static_cast<float>(e.qmax() - e.qmin());
      float scale = edge;
      for (int step = 0; step < 8; ++step)
        scale = std::nextafter(scale, 0.0f);
      for (int step = 0; step < 16; ++step, scale = std::nextafter(scale, float_max)) {
        e.scale = scale;
        encodings_file g;
        g.activations["a"] = tensor_encoding::per_tensor(e);
        std::string text;
        try {
          text = write_encodings(g);
        } catch (const quanta::error& x) {
          CHECK_THAT(x.what(), Contains("expected min and max within the float range"));
          CHECK(scale > edge / 2.0f);
          continue;
        }
        ++written;
        const read_options o =
            storage(is_signed ? code_storage::signed_codes : code_storage::unsigned_codes);
        const auto r = read_encodings(text, o);
        CHECK(r.encodings == g);
        CHECK(write_encodings(r.encodings) == text);
      }
    }
  }
  CHECK(written >= 6 * 8);
}

TEST_CASE("encodings files: a symmetric tensor never writes AIMET's strict offset for a full grid",
          "[io][encodings][errors]") {
  using Catch::StartsWith;
  // zero point 127 on [0, 255] has QNN offset -127, which with the symmetric flag reads as the
  // strict grid with zero point 128: a different grid. Refused in the versions with that flag.
  for (const encoding& e : {encoding{0.5f, 127, 8, false}, encoding{0.5f, -1, 8, true},
                            encoding{0.25f, 7, 4, false}, encoding{0.25f, -1, 32, true}}) {
    INFO("zero point " << e.zero_point << ", " << e.bitwidth << " bits");
    encodings_file f;
    f.params["w"] = tensor_encoding::per_tensor(e, true);
    for (auto v : {encodings_version::v0_6_1, encodings_version::v1_0_0}) {
      CHECK_THROWS_WITH(write_encodings(f, version(v)),
                        StartsWith("write_encodings: param_encodings: w: encodings[0] has "
                                   "zero_point " +
                                   std::to_string(e.zero_point) + " (QNN offset " +
                                   std::to_string(e.offset()) + ") in a symmetric tensor"));
    }
    const read_options o =
        storage(e.is_signed ? code_storage::signed_codes : code_storage::unsigned_codes);
    // As an asymmetric tensor, and in 2.0.0 (zero points as they are), it round-trips.
    f.params["w"].is_symmetric = false;
    for (auto v : {encodings_version::v0_6_1, encodings_version::v1_0_0, encodings_version::v2_0_0})
      CHECK(read_encodings(write_encodings(f, version(v)), o).encodings == f);
    // The strict grid itself is written with offset -2^(b-1) and reads back.
    encoding strict = e;
    strict.zero_point = quanta::detail::symmetric_zero_point(e);
    strict.narrow_range = true;
    f.params["w"] = tensor_encoding::per_tensor(strict, true);
    CHECK(read_encodings(write_encodings(f), o).encodings == f);
  }
}

TEST_CASE("encodings files: names must be valid UTF-8 to be written", "[io][encodings][errors]") {
  using Catch::StartsWith;
  encodings_file f;
  f.params["a"] = tensor_encoding::floating(16);
  f.params["b\xff\"c"] = tensor_encoding::floating(16);
  CHECK_THROWS_AS(write_encodings(f), quanta::error);
  CHECK_THROWS_WITH(write_encodings(f),
                    StartsWith("write_encodings: param_encodings: tensor 1 (in name order), named "
                               "\"b\\xFF\\x22c\": the name is not valid UTF-8 (byte 1); expected "
                               "valid UTF-8"));
  f.params.erase("b\xff\"c");
  f.params["conv/w\xc3\xa9ight \xe5\xb1\x82 \xf0\x9f\x98\x80"] = tensor_encoding::floating(32);
  f.params[std::string("nul\0byte", 8)] = tensor_encoding::floating(32);
  for (auto v : {encodings_version::v0_6_1, encodings_version::v1_0_0})
    CHECK(read_encodings(write_encodings(f, version(v))).encodings == f);

  // quanta's check agrees with what nlohmann can dump, on every 1- and 2-byte string and on
  // 3- and 4-byte strings around each boundary of the UTF-8 table.
  const auto quanta_accepts = [](const std::string& s) {
    return quanta::detail::invalid_utf8_offset(s) == std::string_view::npos;
  };
  const auto nlohmann_accepts = [](const std::string& s) {
    try {
      (void)nlohmann::json(s).dump();
      return true;
    } catch (const nlohmann::json::exception&) {
      return false;
    }
  };
  std::size_t disagreements = 0;
  const auto compare = [&](const std::string& s) {
    if (quanta_accepts(s) != nlohmann_accepts(s)) ++disagreements;
  };
  for (int a = 0; a < 256; ++a) {
    compare(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; ++b)
      compare(std::string{static_cast<char>(a), static_cast<char>(b)});
  }
  const int edges[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
  for (int lead = 0xE0; lead < 0x100; ++lead)
    for (int b : edges)
      for (int c : edges) {
        const std::string three{static_cast<char>(lead), static_cast<char>(b),
                                static_cast<char>(c)};
        compare(three);
        for (int d : edges)
          compare(three + static_cast<char>(d));
      }
  CHECK(disagreements == 0);
}

TEST_CASE("encodings files: the writer refuses axes its reader would refuse",
          "[io][encodings][errors]") {
  using Catch::StartsWith;
  for (int axis : {-65, 64, 1000}) {
    encodings_file f;
    f.params["w"] = tensor_encoding::per_channel(
        {encoding{0.5f, 0, 8, true}, encoding{0.25f, 0, 8, true}}, axis, true);
    CHECK_THROWS_WITH(write_encodings(f, version(encodings_version::v2_0_0)),
                      StartsWith("write_encodings: param_encodings: w: axis is " +
                                 std::to_string(axis) + "; expected a tensor axis, -64..63"));
  }
  for (int axis : {-64, 63}) {
    encodings_file f;
    f.params["w"] = tensor_encoding::per_block({encoding{0.5f, 0, 8, true}}, axis, 4, {1}, true);
    CHECK(read_encodings(write_encodings(f, version(encodings_version::v2_0_0))).encodings == f);
  }
}

TEST_CASE("encodings files: write, read, write gives the same bytes", "[io][encodings]") {
  // Per tensor and per channel, 2/4/8/16/32 bits, signed and unsigned, asymmetric, symmetric and
  // strict, per block, float and bitwidth-only where the version holds them.
  const auto fixture = [](encodings_version v) {
    encodings_file f;
    f.activations["u8"] = tensor_encoding::per_tensor(encoding{0.0123f, 41, 8, false});
    f.activations["s8"] = tensor_encoding::per_tensor(encoding{0.5f, -7, 8, true});
    f.activations["u16"] = tensor_encoding::per_tensor(encoding{3.0e-5f, 40000, 16, false});
    f.activations["s16 strict"] =
        tensor_encoding::per_tensor(encoding{1.0e-4f, 0, 16, true, true}, true);
    f.activations["u2"] = tensor_encoding::per_tensor(encoding{0.75f, 3, 2, false});
    f.params["s4 sym"] = tensor_encoding::per_tensor(encoding{0.1f, 0, 4, true}, true);
    f.params["u4 strict"] = tensor_encoding::per_tensor(encoding{0.1f, 8, 4, false, true}, true);
    f.params["s8 channels"] = tensor_encoding::per_channel(
        {encoding{0.01f, 0, 8, true}, encoding{2.5e-3f, 0, 8, true}, encoding{7.0f, 0, 8, true}}, 0,
        true);
    f.params["u8 strict channels"] = tensor_encoding::per_channel(
        {encoding{0.01f, 128, 8, false, true}, encoding{1.0e-30f, 128, 8, false, true}}, 1, true);
    f.params["u8 asym channels"] = tensor_encoding::per_channel(
        {encoding{0.01f, 0, 8, false}, encoding{0.02f, 255, 8, false}}, 0);
    f.params["s32 bias"] = tensor_encoding::per_channel(
        {encoding{1.5e-7f, 0, 32, true}, encoding{2.0e-9f, 12, 32, true}}, 0, true);
    f.params["s32 strict"] =
        tensor_encoding::per_tensor(encoding{1.0e-6f, 0, 32, true, true}, true);
    if (v != encodings_version::v0_6_1) {
      f.params["s4 blocks"] =
          tensor_encoding::per_block({encoding{0.5f, 0, 4, true}, encoding{0.25f, 0, 4, true},
                                      encoding{0.125f, 0, 4, true}, encoding{1.0f, 0, 4, true}},
                                     1, 32, {2, 2}, true);
      quanta::lpbq_encoding lpbq;
      lpbq.channel_scales = {0.0625f, 3.0e-3f};
      lpbq.block_scales = {16, 1, 7, 16, 2, 9};
      lpbq.block_size = 16;
      f.params["lpbq 4-8"] = tensor_encoding::from_lpbq(lpbq, 1, {2, 3});
      if (v == encodings_version::v1_0_0) {
        lpbq.decompressed_bitwidth = 12;
        lpbq.block_scales[1] = 256;
        f.params["lpbq 4-12"] = tensor_encoding::from_lpbq(lpbq, std::nullopt);
      }
    }
    if (v != encodings_version::v2_0_0) {
      f.activations["f16"] = tensor_encoding::floating(16);
      f.params["f32"] = tensor_encoding::floating(32);
      f.params["b8"] = tensor_encoding::bitwidth_only(8);
      f.params["b4 sym"] = tensor_encoding::bitwidth_only(4, true);
    }
    return f;
  };
  for (auto v : {encodings_version::v0_6_1, encodings_version::v1_0_0, encodings_version::v2_0_0}) {
    for (int indent : {-1, 0, 2}) {
      write_options wo = version(v);
      wo.indent = indent;
      const std::string text = write_encodings(fixture(v), wo);
      for (auto s : {code_storage::unsigned_codes, code_storage::signed_codes,
                     code_storage::signed_if_symmetric}) {
        for (bool narrow : {false, true}) {
          INFO("version " << quanta::io::to_string(v) << " indent " << indent << " storage "
                          << static_cast<int>(s) << " narrow " << narrow);
          read_options o = storage(s);
          o.symmetric_narrow_range = narrow;
          const auto r = read_encodings(text, o);
          CHECK(write_encodings(r.encodings, wo) == text);
        }
      }
    }
  }
}

TEST_CASE("encodings files: random files quanta writes read back identically",
          "[io][encodings][property]") {
  std::mt19937 rng(61);
  std::uniform_int_distribution<int> exponent(-149, 127);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  std::uniform_int_distribution<int> bits_index(0, 15);
  std::bernoulli_distribution coin(0.5);
  constexpr double float_max = static_cast<double>(std::numeric_limits<float>::max());
  std::size_t written = 0;
  std::size_t refused = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const int b = bits_index(rng) == 15 ? 32 : bits_index(rng) % 15 + 2;
    const bool is_signed = b == 32 || coin(rng);
    const bool centred = coin(rng);
    const bool narrow = centred && coin(rng);
    const std::size_t channels = coin(rng) ? 1 : 3;
    std::vector<encoding> encodings;
    bool in_float_range = true;
    bool strict_offset = false;
    for (std::size_t c = 0; c < channels; ++c) {
      encoding e{0.0f, 0, b, is_signed, narrow};
      e.scale = std::max(std::ldexp(mantissa(rng), exponent(rng)),
                         std::numeric_limits<float>::denorm_min());
      if (!std::isfinite(e.scale)) e.scale = std::numeric_limits<float>::max();
      std::uniform_int_distribution<std::int32_t> zp(e.qmin(), e.qmax());
      e.zero_point = centred ? quanta::detail::symmetric_zero_point(e) : zp(rng);
      const double lo = static_cast<double>(e.scale) * (double(e.qmin()) - e.zero_point);
      const double hi = static_cast<double>(e.scale) * (double(e.qmax()) - e.zero_point);
      in_float_range = in_float_range && lo >= -float_max && hi <= float_max;
      strict_offset = strict_offset || e.offset() == -(std::int64_t{1} << (b - 1)) + 1;
      encodings.push_back(e);
    }
    bool all_centred = true;
    for (const encoding& e : encodings)
      all_centred = all_centred && e.zero_point == quanta::detail::symmetric_zero_point(e);
    for (auto v :
         {encodings_version::v0_6_1, encodings_version::v1_0_0, encodings_version::v2_0_0}) {
      // 2.0.0 infers the symmetric flag from centred zero points; the others store it.
      const bool is_symmetric = v == encodings_version::v2_0_0 ? all_centred : centred || coin(rng);
      encodings_file f;
      f.activations["t"] =
          channels == 1 ? tensor_encoding::per_tensor(encodings[0], is_symmetric)
                        : tensor_encoding::per_channel(
                              encodings,
                              v == encodings_version::v2_0_0 ? std::optional<int>(0) : std::nullopt,
                              is_symmetric);
      const bool expect_refusal =
          (v == encodings_version::v0_6_1 && !in_float_range) ||
          (v != encodings_version::v2_0_0 && is_symmetric && !narrow && strict_offset);
      INFO("trial " << trial << " version " << quanta::io::to_string(v) << " bits " << b
                    << " scale " << encodings[0].scale << " zero point " << encodings[0].zero_point
                    << " narrow " << narrow);
      std::string text;
      try {
        text = write_encodings(f, version(v));
      } catch (const quanta::error& e) {
        INFO(e.what());
        CHECK(expect_refusal);
        ++refused;
        continue;
      }
      CHECK_FALSE(expect_refusal);
      ++written;
      read_options o =
          storage(is_signed ? code_storage::signed_codes : code_storage::unsigned_codes);
      o.symmetric_narrow_range = narrow;
      const auto r = read_encodings(text, o);
      CHECK(r.encodings == f);
      CHECK(write_encodings(r.encodings, version(v)) == text);
    }
  }
  CHECK(written > 800);
  CHECK(refused > 10);
}

TEST_CASE("encodings files: LPBQ entries in 1.0.0 and 2.0.0", "[io][encodings][lpbq]") {
  std::mt19937 rng(16);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> w(3 * 64);
  for (float& v : w)
    v = normal(rng);
  const std::vector<std::int64_t> shape = {3, 64};
  const auto layout = quanta::block_layout::from_shape(shape, 1, 16);
  const quanta::lpbq_encoding lpbq = quanta::compute_lpbq_encodings(w, layout);
  encodings_file f;
  f.params["proj/weight"] = tensor_encoding::from_lpbq(lpbq, 1, {3, 4});

  // 1.0.0 as AIMET exports it: bw the decompressed width, offsets -2^(bw-1), block scales flat.
  const std::string v1 = write_encodings(f, version(encodings_version::v1_0_0));
  const auto e1 = nlohmann::json::parse(v1)["param_encodings"][0];
  CHECK(e1["enc_type"] == "LPBQ");
  CHECK(e1["dtype"] == "INT");
  CHECK(e1["bw"] == 8);
  CHECK(e1["compressed_bw"] == 4);
  CHECK(e1["is_sym"] == true);
  CHECK(e1["block_size"] == 16);
  CHECK(e1["offset"] == nlohmann::json::array({-128, -128, -128}));
  REQUIRE(e1["scale"].size() == 3);
  CHECK(e1["scale"][2].get<double>() == static_cast<double>(lpbq.channel_scales[2]));
  REQUIRE(e1["per_block_int_scale"].size() == 12);
  CHECK(e1["per_block_int_scale"][5].get<int>() == lpbq.block_scales[5]);
  const auto r1 = read_encodings(v1);
  CHECK(r1.warnings.empty());
  const tensor_encoding& t1 = r1.encodings.params.at("proj/weight");
  CHECK(t1.layout == granularity::lpbq);
  CHECK(t1.lpbq == lpbq);
  CHECK(!t1.axis);
  CHECK(t1.is_symmetric);

  // 2.0.0: int4 codes, decompressed to int8; both scale arrays nested by the weight's blocks.
  const std::string v2 = write_encodings(f, version(encodings_version::v2_0_0));
  const auto e2 = nlohmann::json::parse(v2)["param_encodings"][0];
  CHECK(e2["output_dtype"] == "int4");
  CHECK(e2["axis"] == 1);
  CHECK(e2["block_size"] == 16);
  CHECK(e2.count("y_scale") == 0);
  REQUIRE(e2["per_channel_float_scale"].size() == 3);
  REQUIRE(e2["per_channel_float_scale"][1].size() == 1);
  CHECK(e2["per_channel_float_scale"][1][0].get<double>() ==
        static_cast<double>(lpbq.channel_scales[1]));
  REQUIRE(e2["per_block_int_scale"].size() == 3);
  REQUIRE(e2["per_block_int_scale"][2].size() == 4);
  CHECK(e2["per_block_int_scale"][2][3].get<int>() == lpbq.block_scales[11]);
  CHECK(read_encodings(v2).encodings == f);

  // Without a shape, a 2-D weight blocked along axis 1 or 0 is nested [channels, blocks] or
  // [blocks, channels].
  encodings_file unshaped = f;
  unshaped.params["proj/weight"].shape.clear();
  CHECK(write_encodings(unshaped, version(encodings_version::v2_0_0)) == v2);
  // The expanded per-block encodings quantize as the LPBQ encoding does.
  CHECK(quanta::lpbq_block_encodings(layout, t1.lpbq).size() == 12);
}

TEST_CASE("encodings files: LPBQ errors name the tensor and the field",
          "[io][encodings][lpbq][errors]") {
  using Catch::Contains;
  using Catch::StartsWith;
  // A valid 1.0.0 LPBQ entry, and files of it with one field removed or changed.
  const nlohmann::json good = nlohmann::json::parse(
      R"({"name": "w", "dtype": "INT", "enc_type": "LPBQ", "bw": 8, "compressed_bw": 4,
          "block_size": 4, "is_sym": true, "scale": [0.5, 0.25], "offset": [-128, -128],
          "per_block_int_scale": [1, 16, 3, 4]})");
  const auto v1_file = [](const nlohmann::json& entry) {
    return nlohmann::json{{"version", "1.0.0"},
                          {"activation_encodings", nlohmann::json::array()},
                          {"param_encodings", nlohmann::json::array({entry})}}
        .dump();
  };
  const auto without = [&](const char* key) {
    nlohmann::json entry = good;
    entry.erase(key);
    return v1_file(entry);
  };
  const auto changed = [&](const char* key, const nlohmann::json& value) {
    nlohmann::json entry = good;
    entry[key] = value;
    return v1_file(entry);
  };
  CHECK(read_encodings(v1_file(good)).encodings.params.at("w").lpbq.block_scales ==
        std::vector<std::uint16_t>{1, 16, 3, 4});
  CHECK_THROWS_WITH(read_encodings(without("per_block_int_scale")),
                    StartsWith("read_encodings: param_encodings: w: per_block_int_scale is "
                               "missing"));
  CHECK_THROWS_WITH(read_encodings(without("block_size")),
                    StartsWith("read_encodings: param_encodings: w: block_size is missing"));
  const auto no_sym = read_encodings(without("is_sym"));
  CHECK(any_warning_contains(no_sym.warnings, "w: is_sym is missing; read as true"));
  CHECK_THROWS_WITH(read_encodings(changed("is_sym", false)),
                    StartsWith("read_encodings: param_encodings: w: is_sym is false; expected "
                               "true (LPBQ is symmetric)"));
  CHECK_THROWS_WITH(read_encodings(changed("per_block_int_scale", {1, 17, 3, 4})),
                    StartsWith("read_encodings: param_encodings: w: per_block_int_scale[1] is "
                               "17; expected an integer in 1..16"));
  CHECK_THROWS_WITH(read_encodings(changed("per_block_int_scale", {0, 16, 3, 4})),
                    StartsWith("read_encodings: param_encodings: w: per_block_int_scale[0] is 0"));
  CHECK_THROWS_WITH(read_encodings(changed("per_block_int_scale", {1, 16, 3})),
                    Contains("expected a whole number (>= 1) of blocks for each of the 2"));
  CHECK_THROWS_WITH(read_encodings(changed("offset", {-128, -127})),
                    StartsWith("read_encodings: param_encodings: w: offset[1] is -127; expected "
                               "-128"));
  CHECK_THROWS_WITH(read_encodings(changed("compressed_bw", 8)),
                    StartsWith("read_encodings: param_encodings: w: compressed_bw is 8; expected "
                               "the bitwidth of the codes, 2..7"));
  CHECK_THROWS_WITH(
      read_encodings(
          R"({"version": "1.0.0", "param_encodings": [{"name": "w", "dtype": "INT", "enc_type": "PER_BLOCK", "bw": 4, "is_sym": true, "scale": [0.5], "offset": [-8], "block_size": 4, "compressed_bw": 4}]})"),
      StartsWith("read_encodings: param_encodings: w: compressed_bw is 4; expected no such field "
                 "unless enc_type is LPBQ"));

  const auto v2 = [](const std::string& fields) {
    return R"({"version": "2.0.0", "activation_encodings": [], "param_encodings": [{"name": "w", )" +
           fields + "}]}";
  };
  const std::string good2 =
      R"("output_dtype": "int4", "per_channel_float_scale": [[0.01], [0.02]], "per_block_int_scale": [[1, 2], [16, 4]], "axis": 1, "block_size": 4)";
  const auto t2 = read_encodings(v2(good2)).encodings.params.at("w");
  CHECK(t2.layout == granularity::lpbq);
  CHECK(t2.lpbq.decompressed_bitwidth == 8);
  CHECK(t2.shape == std::vector<std::size_t>{2, 2});
  const auto replaced2 = [&](const std::string& from, const std::string& to) {
    std::string s = good2;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  CHECK_THROWS_WITH(read_encodings(v2(replaced2("\"int4\"", "\"uint4\""))),
                    StartsWith("read_encodings: param_encodings: w: output_dtype is \"uint4\"; "
                               "expected int2..int8 for LPBQ"));
  CHECK_THROWS_WITH(read_encodings(v2(replaced2("[[0.01], [0.02]]", "[0.01, 0.02]"))),
                    StartsWith("read_encodings: param_encodings: w: per_channel_float_scale is "
                               "[0.01,0.02]; expected per_block_int_scale's shape with the "
                               "blocked axis reduced to 1"));
  CHECK_THROWS_WITH(read_encodings(v2(replaced2("\"axis\": 1", "\"axis\": 2"))),
                    StartsWith("read_encodings: param_encodings: w: axis is 2; expected an axis "
                               "of per_block_int_scale's 2 dimensions"));
  CHECK_THROWS_WITH(read_encodings(v2(good2 + R"(, "y_scale": [0.5])")),
                    StartsWith("read_encodings: param_encodings: w: y_scale is [0.5]; expected no "
                               "such field in an LPBQ entry"));
  CHECK_THROWS_WITH(read_encodings(v2(replaced2("[16, 4]", "[17, 4]"))),
                    Contains("per_block_int_scale[2] is 17; expected an integer in 1..16"));

  // The writer refuses what the versions cannot hold.
  quanta::lpbq_encoding e;
  e.channel_scales = {0.5f};
  e.block_scales = {3, 16};
  e.block_size = 8;
  encodings_file f;
  f.params["w"] = tensor_encoding::from_lpbq(e, 1);
  CHECK_THROWS_WITH(write_encodings(f, version(encodings_version::v0_6_1)),
                    StartsWith("write_encodings: param_encodings: w: is LPBQ, which 0.6.1 files "
                               "cannot hold"));
  f.params["w"].lpbq.decompressed_bitwidth = 12;
  CHECK_NOTHROW(write_encodings(f, version(encodings_version::v1_0_0)));
  CHECK_THROWS_WITH(write_encodings(f, version(encodings_version::v2_0_0)),
                    Contains("expected decompressed_bitwidth = 2 x bitwidth"));
  f.params["w"].lpbq.decompressed_bitwidth = 8;
  f.params["w"].axis = 2;
  CHECK_THROWS_WITH(write_encodings(f, version(encodings_version::v2_0_0)),
                    Contains(": shape is empty with axis 2"));
  f.params["w"].axis.reset();
  CHECK_THROWS_WITH(write_encodings(f, version(encodings_version::v2_0_0)),
                    StartsWith("write_encodings: param_encodings: w: axis is unset"));
  f.params["w"].lpbq.block_scales[1] = 17;
  CHECK_THROWS_WITH(write_encodings(f, version(encodings_version::v1_0_0)),
                    StartsWith("write_encodings: param_encodings: w: encoding.block_scales[1] is "
                               "17; expected 1..16"));
  f.params["w"].lpbq.block_scales[1] = 16;
  f.params["w"].shape = {1, 3};
  f.params["w"].axis = 1;
  CHECK_THROWS_WITH(write_encodings(f, version(encodings_version::v2_0_0)),
                    Contains("shape holds 3 block scales"));
}

#endif  // QUANTA_TEST_HAVE_IO
