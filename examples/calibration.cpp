// Calibrate a long-tailed activation with every range-setting method and compare the SQNR of the
// fake-quantized tensor, so that the table says which method to pick for data like this.
#include <cstdio>
#include <random>
#include <vector>

#include <quanta/calibrate.hpp>
#include <quanta/metrics.hpp>
#include <quanta/quantize.hpp>

namespace {

void row(const char* method, const quanta::encoding& e, const std::vector<float>& x) {
  std::vector<float> y(x.size());
  quanta::quantize_dequantize(x, e, y, quanta::quantize_options::for_profile(quanta::profile::qnn));
  std::printf("%-28s [%10.4f, %10.4f]  %7.2f dB\n", method, static_cast<double>(e.min()),
              static_cast<double>(e.max()), quanta::sqnr_db(x, y));
}

}  // namespace

int main() {
  // Ten calibration batches of a Student-t(3) activation: mostly small, with rare large values.
  std::mt19937 gen(2024);
  std::student_t_distribution<float> dist(3.0f);
  std::vector<std::vector<float>> batches(10, std::vector<float>(20000));
  for (auto& batch : batches)
    for (auto& v : batch)
      v = dist(gen) + 0.5f;

  quanta::min_max_observer observer;
  quanta::histogram values(2048);
  quanta::histogram magnitudes(2048, quanta::histogram_domain::magnitude);
  quanta::aimet_tf_enhanced aimet;
  std::vector<float> all;
  for (const auto& batch : batches) {
    observer.observe(batch);
    values.observe(batch);
    magnitudes.observe(batch);
    aimet.observe(batch);
    all.insert(all.end(), batch.begin(), batch.end());
  }

  quanta::encoding_options asymmetric;  // 8-bit, QNN rules
  quanta::encoding_options symmetric;
  symmetric.kind = quanta::scheme::symmetric;
  symmetric.is_signed = true;

  std::printf("%zu values, observed [%.4f, %.4f]; 8-bit, QNN rules\n", all.size(),
              static_cast<double>(observer.range().min), static_cast<double>(observer.range().max));
  std::printf("%-28s %-25s  %s\n", "method", "range", "SQNR");
  row("tf (min/max)", observer.tf_encoding(asymmetric), all);
  row("max_abs", observer.max_abs_encoding(symmetric), all);
  row("percentile 99.99", quanta::percentile_encoding(values, asymmetric), all);
  row("percentile 99.9", quanta::percentile_encoding(values, asymmetric, {99.9}), all);
  row("tf_enhanced (AIMET)", aimet.compute(asymmetric), all);
  row("tf_enhanced (exact)", quanta::tf_enhanced_encoding(values, asymmetric), all);
  row("mse (exact, asymmetric)", quanta::mse_encoding(values, asymmetric), all);
  row("mse (exact, symmetric)", quanta::mse_encoding(magnitudes, symmetric), all);
  row("entropy (TensorRT)", quanta::entropy_encoding(magnitudes, symmetric), all);
  row("entropy (asymmetric)", quanta::entropy_encoding(values, asymmetric), all);
  row("admm (as weights)", quanta::admm_encoding(all, symmetric), all);
  row("least squares (as weights)", quanta::least_squares_encoding(all, symmetric), all);
}
