// Built with -fno-exceptions and QUANTA_NO_EXCEPTIONS: a bad argument prints quanta's message and
// aborts. The SIGABRT handler reports that abort was reached and exits normally, so the test can
// check both the message and the abort.
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

// The whole library, so that every header is seen to build without exceptions.
#include <quanta/quanta.hpp>

extern "C" void on_abort(int) {
  std::fputs("abort reached\n", stderr);
  std::fflush(stderr);
  std::_Exit(0);
}

int main() {
  std::signal(SIGABRT, on_abort);
  const std::vector<float> x = {1.0f};
  std::vector<std::int8_t> q(1);
  quanta::quantize(x, quanta::encoding{0.0f, 0, 8, true}, q);
  std::fputs("no abort: the bad scale was accepted\n", stderr);
  return 1;
}
