// quanta: post-training quantization math. Licensed under the Apache License 2.0.
// Calibration: observers, histograms and every range-setting method (docs/calibration.md).
#pragma once

#include "quanta/calibrate/admm.hpp"
#include "quanta/calibrate/distribution.hpp"
#include "quanta/calibrate/entropy.hpp"
#include "quanta/calibrate/histogram.hpp"
#include "quanta/calibrate/mse.hpp"
#include "quanta/calibrate/observer.hpp"
#include "quanta/calibrate/percentile.hpp"
#include "quanta/calibrate/pytorch_histogram.hpp"
#include "quanta/calibrate/tf_enhanced.hpp"
