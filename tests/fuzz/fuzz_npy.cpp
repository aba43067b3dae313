// quanta: post-training quantization math. Licensed under the Apache License 2.0.
// io::parse_npy on arbitrary bytes: it returns an array or throws quanta::error, and an array it
// returns survives to_npy_bytes and parse_npy unchanged (the bytes written twice are identical).
// io::read_npy, which reads a file only as far as its header says, agrees with parse_npy on the
// same bytes: both return the same array, or both throw.

#include <unistd.h>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "quanta/io/npy.hpp"

namespace {

// One file per fuzzing process, rewritten for each input.
const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir && *dir ? dir : "/tmp") + "/quanta_fuzz_npy_" +
           std::to_string(static_cast<long>(getpid())) + ".npy";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using quanta::io::npy_array;
  npy_array array;
  const quanta::span<const unsigned char> bytes(data, size);
  const bool parsed = quanta_fuzz::accepted([&] { array = quanta::io::parse_npy(bytes); });

  {
    std::ofstream file(scratch_path(), std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  npy_array from_file;
  const bool read =
      quanta_fuzz::accepted([&] { from_file = quanta::io::read_npy(scratch_path()); });
  std::remove(scratch_path().c_str());
  FUZZ_REQUIRE(read == parsed, "read_npy ", read ? "returned an array" : "threw",
               " where parse_npy ", parsed ? "returned one" : "threw", " on the same ", size,
               " bytes");
  if (!parsed) return 0;
  // Compared as images, so that NaNs compare by their bits.
  FUZZ_REQUIRE(quanta::io::to_npy_bytes(from_file) == quanta::io::to_npy_bytes(array),
               "read_npy and parse_npy returned different arrays");

  std::size_t count = 1;
  for (const std::int64_t extent : array.shape) {
    FUZZ_REQUIRE(extent >= 0, "parse_npy returned a negative extent ", extent);
    count *= static_cast<std::size_t>(extent);
  }
  FUZZ_REQUIRE(count == array.size(), "parse_npy returned ", array.size(),
               " values for a shape of ", count, " elements");

  // Written in the host's byte order, read back, written again: the same bytes, so the same
  // shape, dtype and bit patterns (NaN payloads included).
  const std::vector<unsigned char> written = quanta::io::to_npy_bytes(array);
  const npy_array reread = quanta::io::parse_npy(written, "to_npy_bytes");
  FUZZ_REQUIRE(reread.shape == array.shape && reread.dtype() == array.dtype(),
               "to_npy_bytes then parse_npy changed the shape or the dtype");
  FUZZ_REQUIRE(quanta::io::to_npy_bytes(reread) == written,
               "to_npy_bytes of the array read back differs from the first image");
  // numpy.save's alignment, which to_npy_bytes promises: the data starts at a multiple of 64.
  const std::size_t data_bytes = count * quanta::detail::npy_info(array.dtype()).bytes;
  FUZZ_REQUIRE((written.size() - data_bytes) % 64 == 0, "to_npy_bytes put the data at byte ",
               written.size() - data_bytes, "; expected a multiple of 64");
  return 0;
}
