// Writes the layer dumps the `quanta` tool's end-to-end tests compare: a reference run, a good
// run, a run whose quality drops at layer2, and inputs that must be rejected.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <quanta/io/npy.hpp>

namespace fs = std::filesystem;

namespace {

std::vector<float> noisy(const std::vector<float>& x, float noise, std::size_t seed) {
  std::mt19937 gen(static_cast<std::uint32_t>(seed));
  std::normal_distribution<float> dist(0.0f, noise);
  std::vector<float> y = x;
  for (float& v : y)
    v += dist(gen);
  return y;
}

void write(const fs::path& path, const std::vector<float>& x, std::vector<std::int64_t> shape) {
  quanta::io::write_npy<float>(path.string(), x, shape);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: generate_dumps DIR\n");
    return 2;
  }
  const fs::path root = argv[1];
  for (const char* dir : {"ref", "good", "bad", "missing", "mismatch", "dtype", "raw"})
    fs::create_directories(root / dir);

  // Three layers named so that natural order (layer1, layer2, layer10) differs from byte order.
  std::mt19937 gen(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const std::vector<std::int64_t> shape = {2, 4, 3, 3};
  std::vector<std::vector<float>> layers(3, std::vector<float>(72));
  for (auto& layer : layers)
    for (float& v : layer)
      v = dist(gen);
  const char* names[] = {"layer1", "layer2", "layer10"};
  for (std::size_t k = 0; k < 3; ++k) {
    write(root / "ref" / (std::string(names[k]) + ".npy"), layers[k], shape);
    write(root / "good" / (std::string(names[k]) + ".npy"), noisy(layers[k], 0.01f, 10u + k),
          shape);
    // Quality drops at layer2 and stays low.
    write(root / "bad" / (std::string(names[k]) + ".npy"),
          noisy(layers[k], k == 0 ? 0.01f : 0.5f, 20u + k), shape);
  }
  write(root / "missing" / "layer1.npy", layers[0], shape);
  write(root / "missing" / "layer2.npy", layers[1], shape);
  write(root / "missing" / "extra.npy", layers[2], shape);
  write(root / "mismatch" / "layer1.npy", layers[0], {8, 9});
  write(root / "mismatch" / "layer2.npy", layers[1], shape);
  write(root / "mismatch" / "layer10.npy", layers[2], shape);
  std::vector<std::int8_t> codes(72, 3);
  quanta::io::write_npy<std::int8_t>((root / "dtype" / "layer1.npy").string(), codes, shape);

  // Magik-style raw float32 dumps of the good run, and one whose size is not whole floats.
  for (std::size_t k = 0; k < 3; ++k) {
    const std::vector<float> y = noisy(layers[k], 0.01f, 10u + k);
    std::ofstream out(root / "raw" / (std::string(names[k]) + ".bin"), std::ios::binary);
    out.write(reinterpret_cast<const char*>(y.data()),
              static_cast<std::streamsize>(y.size() * sizeof(float)));
  }
  std::ofstream(root / "odd.bin", std::ios::binary) << "12345";

  // A weight for encode and inspect, and a tensor identical to the reference (SQNR +inf).
  std::vector<float> weight(4 * 3 * 3 * 3);
  for (std::size_t i = 0; i < weight.size(); ++i)
    weight[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i))) *
                static_cast<float>(1 + i / 27);
  write(root / "weight.npy", weight, {4, 3, 3, 3});
  write(root / "same.npy", layers[0], shape);
  fs::create_directories(root / "directory.npy");  // a directory with a tensor's name
  // Channel 0 of a 2x8 weight is all NaN: every method gives it the encoding of [0, 0].
  std::vector<float> nan_channel(16, std::numeric_limits<float>::quiet_NaN());
  for (std::size_t k = 8; k < 16; ++k)
    nan_channel[k] = 0.25f * static_cast<float>(k) - 3.0f;
  write(root / "nan_channel.npy", nan_channel, {2, 8});
  std::vector<float> with_nan = layers[0];
  with_nan[5] = std::nanf("");
  write(root / "nan.npy", with_nan, shape);

  // Calibration samples for calibrate and advise: four samples and one held out. "spiky" is
  // Gaussian with one large value per sample: at 8 bits its grid is too coarse for the bulk
  // (minmax) or the spike is clipped (the other methods), at 16 bits it is fine.
  const std::vector<std::int64_t> sample_shape = {1, 8, 16, 16};
  const std::size_t sample_size = 8 * 16 * 16;
  for (int s = 0; s < 5; ++s) {
    const fs::path dir = root / "calib" / (s < 4 ? "s" + std::to_string(s) : "held_out");
    fs::create_directories(dir);
    std::mt19937 sample_gen(static_cast<std::uint32_t>(100 + s));
    std::vector<float> conv(sample_size), relu(sample_size), spiky(sample_size);
    for (std::size_t i = 0; i < sample_size; ++i) {
      conv[i] = dist(sample_gen);
      relu[i] = std::max(0.0f, 2.0f * dist(sample_gen));
      spiky[i] = dist(sample_gen);
    }
    spiky[static_cast<std::size_t>(s) * 97] = 200.0f + 10.0f * static_cast<float>(s);
    write(dir / "conv1.npy", conv, sample_shape);
    write(dir / "relu1.npy", relu, sample_shape);
    write(dir / "spiky.npy", spiky, sample_shape);
  }
  // A sample that lacks a tensor, and one whose tensor has another shape.
  fs::create_directories(root / "calib" / "short");
  write(root / "calib" / "short" / "conv1.npy", layers[0], shape);
  fs::create_directories(root / "calib" / "reshaped");
  for (const char* name : {"conv1", "relu1", "spiky"})
    write(root / "calib" / "reshaped" / (std::string(name) + ".npy"),
          std::vector<float>(2 * 8 * 8, 0.5f), {2, 8, 8});
  // An encodings file that failing runs of calibrate must leave as it is.
  std::ofstream(root / "kept.json") << "{}\n";
  // float64, as np.save writes a default NumPy array.
  std::vector<double> doubles(weight.begin(), weight.end());
  const std::vector<std::int64_t> weight_shape = {4, 3, 3, 3};
  quanta::io::write_npy<double>((root / "weight_f64.npy").string(), doubles, weight_shape);
  return 0;
}
