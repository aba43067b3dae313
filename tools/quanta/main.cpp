// quanta: compare layer dumps of two runs, encode or inspect a tensor, calibrate or validate an
// encodings file.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <quanta/config.hpp>
#include <quanta/error.hpp>

#include "arguments.hpp"
#include "commands.hpp"

namespace {

const char* const overview =
    "usage: quanta <command> [arguments]\n"
    "\n"
    "commands:\n"
    "  compare REF TEST   per-tensor cosine, SQNR, max abs error, relative L2 of two dumps\n"
    "  encode FILE        the encoding(s) of a tensor and the error they give\n"
    "  inspect FILE       range, histogram, and each range method's SQNR\n"
#if QUANTA_CLI_HAVE_ENCODINGS_FILES
    "  calibrate INPUT... an encodings file (QNN overrides) from calibration dumps and weights\n"
    "  advise INPUT...    per tensor, the smallest bitwidth and method meeting a target\n"
    "  validate FILE      what a QNN converter would reject or change in an encodings file\n"
#endif
    "\n"
    "quanta <command> --help describes a command. Exit status: 0 good, 1 a tensor is under a\n"
    "threshold, 2 bad usage or unusable input.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace quanta_cli;
  const std::vector<std::string> all(argv + 1, argv + argc);
  if (all.empty() || all[0] == "--help" || all[0] == "-h" || all[0] == "help") {
    std::fputs(overview, all.empty() ? stderr : stdout);
    return all.empty() ? exit_error : exit_ok;
  }
  if (all[0] == "--version") {
    std::printf("quanta %s\n", QUANTA_VERSION_STRING);
    return exit_ok;
  }
  const std::string command = all[0];
  const std::vector<std::string> rest(all.begin() + 1, all.end());
  struct entry {
    const char* name;
    int (*run)(const std::vector<std::string>&);
    const char* usage;
  };
  const entry commands[] = {
    {"compare", run_compare, compare_usage},
    {"encode", run_encode, encode_usage},
    {"inspect", run_inspect, inspect_usage},
#if QUANTA_CLI_HAVE_ENCODINGS_FILES
    {"calibrate", run_calibrate, calibrate_usage},
    {"advise", run_advise, advise_usage},
    {"validate", run_validate, validate_usage},
#endif
  };
  for (const entry& e : commands) {
    if (command != e.name) continue;
    for (const std::string& a : rest) {
      if (a == "--help" || a == "-h") {
        std::fputs(e.usage, stdout);
        return exit_ok;
      }
    }
    try {
      return e.run(rest);
    } catch (const usage_error& failure) {
      std::fprintf(stderr, "quanta %s: %s (see quanta %s --help)\n", e.name, failure.what(),
                   e.name);
    } catch (const std::exception& failure) {  // input_error, quanta::error, file system errors
      std::fprintf(stderr, "quanta %s: error: %s\n", e.name, failure.what());
    }
    return exit_error;
  }
  std::fprintf(stderr, "quanta: unknown command \"%s\"\n\n%s", command.c_str(), overview);
  return exit_error;
}
