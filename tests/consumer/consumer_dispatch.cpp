// A host built without -march that links quanta::dispatch: the kernels of the best instruction set
// the machine runs, with the same results as the header-only path.
#include <cstdint>
#include <cstdio>
#include <vector>

#include <quanta/dispatch.hpp>

int main() {
  std::vector<float> x(1000);
  for (std::size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(i) * 0.37f - 150.0f;
  const quanta::encoding e = quanta::compute_encoding<quanta::runtime_arch>(x);
  std::vector<std::uint8_t> fast(x.size()), reference(x.size());
  quanta::quantize<quanta::runtime_arch>(x, e, fast);
  quanta::ref::quantize(quanta::span<const float>(x), e, quanta::span<std::uint8_t>(reference));
  if (fast != reference) {
    std::puts("consumer_dispatch: dispatched kernels differ from the reference");
    return 1;
  }
  std::printf("consumer_dispatch: %s kernels, %zu codes equal to the reference\n",
              quanta::dispatch::arch_name(), fast.size());
  return 0;
}
