// Peer implementations of the benchmarked kernels, each compiled only when CMake found the peer.
// Every wrapper prepares what a caller would keep between calls (operators, primitives) once, and
// runs the conversion itself in operator().
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include <Eigen/Core>

#if QUANTA_BENCH_XNNPACK
#include <xnnpack.h>
#endif
#if QUANTA_BENCH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif
#if QUANTA_BENCH_TORCH
#include <torch/torch.h>
#endif

namespace peers {

// Eigen array expression: the straightforward way to write quantize with a vector library.
template <class Q>
void eigen_quantize(const float* x, std::size_t n, float scale, int zero_point, Q* q) {
  const auto count = static_cast<Eigen::Index>(n);
  Eigen::Map<const Eigen::ArrayXf> in(x, count);
  Eigen::Map<Eigen::Array<Q, Eigen::Dynamic, 1>> out(q, count);
  const float lo = static_cast<float>(std::numeric_limits<Q>::min());
  const float hi = static_cast<float>(std::numeric_limits<Q>::max());
  out = ((in * (1.0f / scale)).round() + static_cast<float>(zero_point))
            .max(lo)
            .min(hi)
            .template cast<Q>();
}

#if QUANTA_BENCH_XNNPACK
inline void xnn_check(xnn_status s) {
  if (s != xnn_status_success) throw std::runtime_error("XNNPACK call failed");
}

// f32 -> qu8/qs8 and back, one operator per direction, single thread (no pthreadpool).
template <class Q>
class xnn_convert {
 public:
  xnn_convert(std::size_t n, float scale, int zero_point, bool to_quantized) : n_(n) {
    xnn_check(xnn_initialize(nullptr));
    if constexpr (std::is_same_v<Q, std::uint8_t>) {
      if (to_quantized)
        xnn_check(xnn_create_convert_nc_f32_qu8(
            n, n, n, scale, static_cast<std::uint8_t>(zero_point), 0, 255, 0, &op_));
      else
        xnn_check(xnn_create_convert_nc_qu8_f32(n, n, n, scale,
                                                static_cast<std::uint8_t>(zero_point), 0, &op_));
    } else {
      if (to_quantized)
        xnn_check(xnn_create_convert_nc_f32_qs8(
            n, n, n, scale, static_cast<std::int8_t>(zero_point), -128, 127, 0, &op_));
      else
        xnn_check(xnn_create_convert_nc_qs8_f32(n, n, n, scale,
                                                static_cast<std::int8_t>(zero_point), 0, &op_));
    }
  }
  ~xnn_convert() { xnn_delete_operator(op_); }
  xnn_convert(const xnn_convert&) = delete;
  xnn_convert& operator=(const xnn_convert&) = delete;

  void quantize(const float* x, Q* q) {
    if constexpr (std::is_same_v<Q, std::uint8_t>)
      xnn_check(xnn_setup_convert_nc_f32_qu8(op_, 1, x, q, nullptr));
    else
      xnn_check(xnn_setup_convert_nc_f32_qs8(op_, 1, x, q, nullptr));
    xnn_check(xnn_run_operator(op_, nullptr));
  }
  void dequantize(const Q* q, float* x) {
    if constexpr (std::is_same_v<Q, std::uint8_t>)
      xnn_check(xnn_setup_convert_nc_qu8_f32(op_, 1, q, x, nullptr));
    else
      xnn_check(xnn_setup_convert_nc_qs8_f32(op_, 1, q, x, nullptr));
    xnn_check(xnn_run_operator(op_, nullptr));
  }

 private:
  std::size_t n_;
  xnn_operator_t op_ = nullptr;
};
#endif

#if QUANTA_BENCH_ONEDNN
// A reorder f32 -> u8 with output scales: per tensor (mask 0) or per channel of a [outer,
// channels, inner] tensor (mask on dimension 1). oneDNN 2.x multiplies by the given scale.
class dnnl_quantize {
 public:
  dnnl_quantize(std::size_t outer, std::size_t channels, std::size_t inner,
                const std::vector<float>& inv_scales, float* x, std::uint8_t* q)
      : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
    const dnnl::memory::dims dims = {static_cast<dnnl::memory::dim>(outer),
                                     static_cast<dnnl::memory::dim>(channels),
                                     static_cast<dnnl::memory::dim>(inner)};
    const dnnl::memory::desc src_md(dims, dnnl::memory::data_type::f32,
                                    dnnl::memory::format_tag::abc);
    const dnnl::memory::desc dst_md(dims, dnnl::memory::data_type::u8,
                                    dnnl::memory::format_tag::abc);
    dnnl::primitive_attr attr;
    attr.set_output_scales(inv_scales.size() == 1 ? 0 : 2, inv_scales);
    src_ = dnnl::memory(src_md, engine_, x);
    dst_ = dnnl::memory(dst_md, engine_, q);
    reorder_ = dnnl::reorder(dnnl::reorder::primitive_desc(engine_, src_md, engine_, dst_md, attr));
  }
  void operator()() {
    reorder_.execute(stream_, src_, dst_);
    stream_.wait();
  }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::memory src_, dst_;
  dnnl::reorder reorder_;
};
#endif

}  // namespace peers
