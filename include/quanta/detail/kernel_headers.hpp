// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

// The headers that declare every kernel of the kernel list (detail/kernels.inc).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "quanta/detail/affine.hpp"
#include "quanta/detail/histogram_kernels.hpp"
#include "quanta/detail/instruction_set.hpp"
#include "quanta/detail/metrics_kernels.hpp"
#include "quanta/detail/pack_kernels.hpp"
#include "quanta/detail/quantize_kernels.hpp"
#include "quanta/detail/reduce_kernels.hpp"
#include "quanta/encoding.hpp"
#include "quanta/ref/pack.hpp"
