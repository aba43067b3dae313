// The first program to run: SNPE's documented example, then the same tensor under the rules of
// each peer, to see where they agree and where they do not.
#include <cstdint>
#include <cstdio>
#include <vector>

#include <quanta/quanta.hpp>

int main() {
  std::vector<float> x = {-1.8f, -1.0f, 0.0f, 0.5f};
  quanta::encoding e = quanta::compute_encoding(x);  // QNN rules, 8-bit asymmetric
  std::vector<std::uint8_t> q(x.size());
  quanta::quantize(x, e, q, quanta::quantize_options::for_profile(quanta::profile::qnn));
  // e.offset() == -200, q == {0, 89, 200, 255}: SNPE's documented example
  std::printf("SNPE example: scale %.6f offset %lld -> q = [%d %d %d %d]\n\n",
              static_cast<double>(e.scale), static_cast<long long>(e.offset()), q[0], q[1], q[2],
              q[3]);

  // A range whose zero point falls exactly between two codes: the profiles round it differently.
  const std::vector<float> tie = {-3.0f, 7.0f, 0.1f, 2.5f};
  std::printf("%-8s %-12s %-10s %s\n", "profile", "scale", "zero point",
              "codes of {-3, 7, 0.1, 2.5}");
  const struct {
    const char* name;
    quanta::profile rules;
  } profiles[] = {{"qnn", quanta::profile::qnn},
                  {"pytorch", quanta::profile::pytorch},
                  {"onnx", quanta::profile::onnx},
                  {"tflite", quanta::profile::tflite}};
  for (const auto& p : profiles) {
    quanta::encoding_options options;
    options.rules = p.rules;
    const quanta::encoding pe = quanta::compute_encoding(tie, options);
    quanta::quantize(tie, pe, q, quanta::quantize_options::for_profile(p.rules));
    std::printf("%-8s %-12.9f %-10d [%d %d %d %d]\n", p.name, static_cast<double>(pe.scale),
                pe.zero_point, q[0], q[1], q[2], q[3]);
  }
}
