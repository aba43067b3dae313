// The `quanta` tool's commands. Each takes the arguments after its name and returns the exit
// status.
#pragma once

#include <string>
#include <vector>

namespace quanta_cli {

int run_compare(const std::vector<std::string>& args);
int run_encode(const std::vector<std::string>& args);
int run_inspect(const std::vector<std::string>& args);
#if QUANTA_CLI_HAVE_ENCODINGS_FILES
int run_advise(const std::vector<std::string>& args);
int run_calibrate(const std::vector<std::string>& args);
int run_validate(const std::vector<std::string>& args);
#endif

extern const char* const compare_usage;
extern const char* const encode_usage;
extern const char* const inspect_usage;
#if QUANTA_CLI_HAVE_ENCODINGS_FILES
extern const char* const advise_usage;
extern const char* const calibrate_usage;
extern const char* const validate_usage;
#endif

}  // namespace quanta_cli
