// quanta: post-training quantization math. Licensed under the Apache License 2.0.
// The umbrella header: everything except quanta/io/encodings.hpp (which needs nlohmann_json) and
// quanta/dispatch.hpp (the compiled quanta::dispatch target).
#pragma once

#include "quanta/arch.hpp"
#include "quanta/bias.hpp"
#include "quanta/bias_correction.hpp"
#include "quanta/calibrate.hpp"
#include "quanta/config.hpp"
#include "quanta/encoding.hpp"
#include "quanta/equalize.hpp"
#include "quanta/error.hpp"
#include "quanta/error_stats.hpp"
#include "quanta/float16.hpp"
#include "quanta/io/npy.hpp"
#include "quanta/lpbq.hpp"
#include "quanta/metrics.hpp"
#include "quanta/min_max_result.hpp"
#include "quanta/pack.hpp"
#include "quanta/quantize.hpp"
#include "quanta/reduce.hpp"
#include "quanta/span.hpp"
