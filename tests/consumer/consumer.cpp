// A program that uses quanta the way an engine does: through the installed or vendored package.
#include <cstdint>
#include <cstdio>
#include <vector>

#include <quanta/quanta.hpp>

int main() {
  const std::vector<float> x = {-1.8f, -1.0f, 0.0f, 0.5f};
  const quanta::encoding e = quanta::compute_encoding(x);
  std::vector<std::uint8_t> q(x.size());
  quanta::quantize(x, e, q, quanta::quantize_options::for_profile(quanta::profile::qnn));
  const std::vector<std::uint8_t> expected = {0, 89, 200, 255};
  if (q != expected) {
    std::puts("consumer: unexpected quantized values");
    return 1;
  }
  std::printf("consumer: quanta %s, offset %lld, codes %d %d %d %d\n", QUANTA_VERSION_STRING,
              static_cast<long long>(e.offset()), q[0], q[1], q[2], q[3]);
  return 0;
}
