#include <quanta/io/npy.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

using quanta::io::npy_array;
using quanta::io::npy_dtype;

namespace {

std::string fixture(const std::string& name) {
  return std::string(QUANTA_TEST_DATA_DIR) + "/npy/" + name;
}

std::vector<unsigned char> file_bytes(const std::string& path) {
  return quanta::detail::read_npy_file_bytes("test", path);
}

// A path in the temporary directory that no other test uses.
std::string scratch(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("quanta_test_io_npy_" + name)).string();
}

const std::vector<std::int64_t> shape_2x3 = {2, 3};

}  // namespace

TEST_CASE("npy: reads every supported dtype", "[io][npy]") {
  SECTION("float32") {
    const npy_array a = quanta::io::read_npy(fixture("f4_2x3.npy"));
    CHECK(a.dtype() == npy_dtype::float32);
    CHECK(a.shape == shape_2x3);
    CHECK(a.get<float>() == std::vector<float>{-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f});
  }
  SECTION("float16") {
    const npy_array a = quanta::io::read_npy(fixture("f2_2x3.npy"));
    CHECK(a.dtype() == npy_dtype::float16);
    CHECK(a.shape == shape_2x3);
    const std::vector<float> f = a.to_float();
    CHECK(f == std::vector<float>{0.5f, -2.0f, 65504.0f, 6.103515625e-05f, -0.0f, 0.333251953125f});
    CHECK(std::signbit(f[4]));
    CHECK(a.get<quanta::float16>()[0].bits() == 0x3800);  // 0.5 in binary16
  }
  SECTION("int8") {
    const npy_array a = quanta::io::read_npy(fixture("i1_2x3.npy"));
    CHECK(a.dtype() == npy_dtype::int8);
    CHECK(a.get<std::int8_t>() == std::vector<std::int8_t>{-128, -1, 0, 1, 2, 127});
  }
  SECTION("uint8") {
    const npy_array a = quanta::io::read_npy(fixture("u1_2x3.npy"));
    CHECK(a.dtype() == npy_dtype::uint8);
    CHECK(a.get<std::uint8_t>() == std::vector<std::uint8_t>{0, 1, 2, 128, 254, 255});
  }
  SECTION("int16") {
    const npy_array a = quanta::io::read_npy(fixture("i2_2x3.npy"));
    CHECK(a.dtype() == npy_dtype::int16);
    CHECK(a.get<std::int16_t>() == std::vector<std::int16_t>{-32768, -1, 0, 1, 300, 32767});
  }
  SECTION("int32, and its conversion to float") {
    const npy_array a = quanta::io::read_npy(fixture("i4_2x3.npy"));
    CHECK(a.dtype() == npy_dtype::int32);
    CHECK(a.get<std::int32_t>() ==
          std::vector<std::int32_t>{-2147483647 - 1, -1, 0, 1, 16777217, 2147483647});
    CHECK(a.to_float() ==
          std::vector<float>{-2147483648.0f, -1.0f, 0.0f, 1.0f, 16777216.0f, 2147483648.0f});
  }
  SECTION("float64, and its conversion to float") {
    const npy_array a = quanta::io::read_npy(fixture("f8_2x3.npy"));
    CHECK(a.dtype() == npy_dtype::float64);
    CHECK(a.shape == shape_2x3);
    CHECK(a.get<double>() == std::vector<double>{0.0, 1.0, 2.0, 3.0, 4.0, 5.0});
    CHECK(a.to_float() == std::vector<float>{0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f});
  }
}

TEST_CASE("npy: float64 rounds to the nearest float, past float's range to infinity", "[io][npy]") {
  constexpr double largest = 3.4028234663852886e38;                 // FLT_MAX
  constexpr double half_unit = 10141204801825835211973625643008.0;  // 2^103, half FLT_MAX's ulp
  const double inf = std::numeric_limits<double>::infinity();
  npy_array a;
  a.shape = {12};
  a.values = std::vector<double>{0.1,
                                 -0.0,
                                 1e-46,
                                 -1e300,
                                 1e300,
                                 largest,
                                 largest + half_unit / 2,
                                 largest + half_unit,
                                 -(largest + half_unit),
                                 inf,
                                 std::numeric_limits<double>::quiet_NaN(),
                                 std::numeric_limits<double>::denorm_min()};
  const std::vector<float> f = a.to_float();
  const float flt_max = std::numeric_limits<float>::max();
  const float finf = std::numeric_limits<float>::infinity();
  CHECK(f[0] == 0.1f);
  CHECK((f[1] == 0.0f && std::signbit(f[1])));
  CHECK(f[2] == 0.0f);
  CHECK(f[3] == -finf);
  CHECK(f[4] == finf);
  CHECK(f[5] == flt_max);
  CHECK(f[6] == flt_max);  // within half a unit: rounds down
  CHECK(f[7] == finf);     // the tie rounds to even, which is past the largest float
  CHECK(f[8] == -finf);
  CHECK(f[9] == finf);
  CHECK(std::isnan(f[10]));
  CHECK(f[11] == 0.0f);
}

TEST_CASE("npy: byte order, format 2.0, scalars and empty arrays", "[io][npy]") {
  const npy_array little = quanta::io::read_npy(fixture("f4_2x3.npy"));
  const npy_array big = quanta::io::read_npy(fixture("f4_big_endian.npy"));
  CHECK(big.shape == shape_2x3);
  CHECK(big.get<float>() == little.get<float>());
  const npy_array v2 = quanta::io::read_npy(fixture("f4_v2.npy"));
  CHECK(v2.get<float>() == little.get<float>());

  const npy_array scalar = quanta::io::read_npy(fixture("f4_scalar.npy"));
  CHECK(scalar.shape.empty());
  CHECK(scalar.size() == 1);
  CHECK(scalar.get<float>()[0] == 2.5f);

  const npy_array empty = quanta::io::read_npy(fixture("f4_0x3.npy"));
  CHECK(empty.shape == std::vector<std::int64_t>{0, 3});
  CHECK(empty.size() == 0);
}

TEST_CASE("npy: written files are byte for byte what numpy.save writes", "[io][npy]") {
  for (const char* name : {"f4_2x3.npy", "f2_2x3.npy", "i1_2x3.npy", "u1_2x3.npy", "i2_2x3.npy",
                           "i4_2x3.npy", "f4_scalar.npy", "f4_0x3.npy"}) {
    CAPTURE(name);
    const std::vector<unsigned char> bytes = file_bytes(fixture(name));
    CHECK(quanta::io::to_npy_bytes(quanta::io::parse_npy(bytes, name)) == bytes);
  }
}

TEST_CASE("npy: write and read back", "[io][npy]") {
  const std::string path = scratch("roundtrip.npy");
  const std::vector<float> values = {1.0f, -2.0f, 3.5f, 0.0f, 1e-30f, -7.25f};
  quanta::io::write_npy<float>(path, values, shape_2x3);
  const npy_array back = quanta::io::read_npy(path);
  CHECK(back.shape == shape_2x3);
  CHECK(back.get<float>() == values);

  const std::vector<std::int8_t> codes = {-128, 0, 127};
  const std::vector<std::int64_t> shape_3 = {3};
  quanta::io::write_npy<std::int8_t>(path, codes, shape_3);
  const npy_array codes_back = quanta::io::read_npy(path);
  CHECK(codes_back.dtype() == npy_dtype::int8);
  CHECK(codes_back.get<std::int8_t>() == codes);
  CHECK(file_bytes(path).size() % 64 == 3);  // the data starts on a 64-byte boundary

  const std::vector<quanta::float16> halves = {quanta::float16(0.1f), quanta::float16(-65504.0f)};
  const std::vector<std::int64_t> shape_2 = {2};
  quanta::io::write_npy<quanta::float16>(path, halves, shape_2);
  const npy_array halves_back = quanta::io::read_npy(path);
  CHECK(halves_back.dtype() == npy_dtype::float16);
  CHECK(halves_back.to_float() == std::vector<float>{quanta::round_to_float16(0.1f), -65504.0f});
  std::filesystem::remove(path);
}

TEST_CASE("npy: bad files are reported clearly", "[io][npy][errors]") {
  using Catch::Contains;
  using Catch::StartsWith;
  CHECK_THROWS_WITH(quanta::io::read_npy(fixture("f4_fortran.npy")),
                    StartsWith("read_npy: \"" + fixture("f4_fortran.npy") +
                               "\" has fortran_order True; expected C order"));
  // int64, which quanta does not read, made from the float64 fixture by its type code.
  std::vector<unsigned char> int64_bytes = file_bytes(fixture("f8_2x3.npy"));
  const std::size_t descr_at = std::string(int64_bytes.begin(), int64_bytes.end()).find("<f8");
  int64_bytes[descr_at + 1] = 'i';
  CHECK_THROWS_WITH(
      quanta::io::parse_npy(int64_bytes, "int64"),
      StartsWith("parse_npy: \"int64\" has dtype '<i8'") &&
          Contains("expected float32, float16, float64, int8, uint8, int16 or int32"));
  CHECK_THROWS_WITH(quanta::io::read_npy(fixture("f4_truncated.npy")),
                    Contains("holds 19 bytes of data; expected 24 for shape (2, 3) of float32 "
                             "(the file is truncated)"));
  CHECK_THROWS_WITH(quanta::io::read_npy(fixture("missing.npy")),
                    StartsWith("read_npy: path \"" + fixture("missing.npy") +
                               "\" cannot be opened (No such file or directory)"));
  CHECK_THROWS_WITH(quanta::io::read_npy(fixture("generate.py")),
                    Contains("does not start with the .npy magic string"));

  std::vector<unsigned char> bytes = file_bytes(fixture("f4_2x3.npy"));
  CHECK_THROWS_WITH(
      quanta::io::parse_npy(quanta::span<const unsigned char>(bytes.data(), 40), "cut"),
      StartsWith("parse_npy: \"cut\" is 40 bytes long; expected at least 128"));
  bytes[6] = 4;
  CHECK_THROWS_WITH(quanta::io::parse_npy(bytes, "v4"),
                    StartsWith("parse_npy: \"v4\" has .npy format version 4.0; expected 1.0"));
  bytes[6] = 1;
  const std::size_t shape_at = std::string(bytes.begin(), bytes.end()).find("(2, 3)");
  bytes[shape_at + 1] = 'x';
  CHECK_THROWS_WITH(quanta::io::parse_npy(bytes, "bad shape"),
                    StartsWith("parse_npy: \"bad shape\" has a 'shape' entry that is not a tuple "
                               "of non-negative integers"));

  // Bytes after the data are an error, as a short file is.
  bytes[shape_at + 1] = '2';
  bytes.push_back(0);
  CHECK_THROWS_WITH(quanta::io::parse_npy(bytes, "long"),
                    StartsWith("parse_npy: \"long\" holds 25 bytes of data; expected 24 for shape "
                               "(2, 3) of float32 (bytes follow the data)"));
  const std::string trailing = scratch("trailing.npy");
  {
    std::ofstream out(trailing, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  CHECK_THROWS_WITH(quanta::io::read_npy(trailing), Contains("(bytes follow the data)"));
  std::filesystem::remove(trailing);

  // A directory is named in the error (libstdc++ throws from the stream buffer there).
  const std::string directory = scratch("directory.npy");
  std::filesystem::create_directories(directory);
  CHECK_THROWS_WITH(quanta::io::read_npy(directory),
                    StartsWith("read_npy: path \"" + directory + "\""));
  std::filesystem::remove(directory);
  // An endless device: the read stops once the missing magic string shows.
  if (std::filesystem::exists("/dev/zero")) {
    CHECK_THROWS_WITH(quanta::io::read_npy("/dev/zero"),
                      Contains("does not start with the .npy magic string"));
  }

  const npy_array f4 = quanta::io::read_npy(fixture("f4_2x3.npy"));
  CHECK_THROWS_WITH(f4.get<std::int8_t>(),
                    StartsWith("npy_array::get: the array's dtype is float32"));
}

TEST_CASE("npy: bad writes change nothing", "[io][npy][errors]") {
  using Catch::StartsWith;
  const std::string path = scratch("never_written.npy");
  std::filesystem::remove(path);
  const std::vector<float> five(5, 1.0f);
  CHECK_THROWS_WITH(quanta::io::write_npy<float>(path, five, shape_2x3),
                    StartsWith("write_npy: shape (2, 3) describes 6 elements but the array holds "
                               "5; expected equal counts"));
  CHECK_FALSE(std::filesystem::exists(path));
  const std::vector<std::int64_t> negative = {-1, 5};
  CHECK_THROWS_WITH(quanta::io::write_npy<float>(path, five, negative),
                    StartsWith("write_npy: shape[0] is -1; expected a size >= 0"));
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK_THROWS_WITH(quanta::io::write_npy<float>(scratch("no_such_dir/x.npy"), five,
                                                 std::vector<std::int64_t>{5}),
                    StartsWith("write_npy: path \"" + scratch("no_such_dir/x.npy") +
                               "\" cannot be opened for writing"));
}
