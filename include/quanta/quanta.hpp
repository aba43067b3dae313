// quanta: post-training quantization math. Licensed under the Apache License 2.0.
// The umbrella header: everything that needs no optional dependency.
#pragma once

#include "quanta/bias.hpp"
#include "quanta/config.hpp"
#include "quanta/encoding.hpp"
#include "quanta/error.hpp"
#include "quanta/float16.hpp"
#include "quanta/quantize.hpp"
#include "quanta/reduce.hpp"
#include "quanta/span.hpp"
