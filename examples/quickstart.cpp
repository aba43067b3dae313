// Quantize a tensor the way SNPE/QNN, PyTorch, ONNX Runtime and TFLite would, and see where they
// disagree.
#include <cstdint>
#include <cstdio>
#include <vector>

#include <quanta/quanta.hpp>

int main() {
  const std::vector<float> x = {-1.8f, -1.0f, 0.0f, 0.5f};
  std::vector<std::uint8_t> q(x.size());
  std::vector<float> y(x.size());
  for (quanta::profile p : {quanta::profile::qnn, quanta::profile::pytorch, quanta::profile::onnx,
                            quanta::profile::tflite}) {
    quanta::encoding_options options;
    options.rules = p;
    const quanta::encoding e = quanta::compute_encoding(x, options);
    const auto rules = quanta::quantize_options::for_profile(p);
    quanta::quantize(x, e, q, rules);
    quanta::dequantize(q, e, y);
    std::printf("scale %.9g zero point %d: q = [%d %d %d %d], x' = [%.6f %.6f %.6f %.6f]\n",
                static_cast<double>(e.scale), e.zero_point, q[0], q[1], q[2], q[3],
                static_cast<double>(y[0]), static_cast<double>(y[1]), static_cast<double>(y[2]),
                static_cast<double>(y[3]));
  }
}
