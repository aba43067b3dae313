// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "quanta/arch.hpp"
#include "quanta/detail/affine.hpp"
#include "quanta/detail/quantize_kernels.hpp"
#include "quanta/detail/simd.hpp"
#include "quanta/encoding.hpp"
#include "quanta/ref/pack.hpp"

// Packing kernels, one instantiation per instruction set (Arch). No validation: callers pass
// sizes that match and `bits` 2 or 4. Each equals quanta::ref bit for bit.
QUANTA_SIMD_DIAGNOSTICS_PUSH
namespace quanta::detail {

#if QUANTA_SIMD_KERNELS
// The byte and word registers of a kernel instruction set K (simd::kernel_arch_t). The packing
// kernels work on them with xsimd and with the byte shuffles that xsimd 8.1 lacks, which
// detail/arch/ provides:
//   gather_quadwords: quadwords {a0, b0, a1, b1, ...} to {a0, a1, ..., b0, b1, ...}, which puts in
//     order those of a and b after a pack (simd::pack_bytes_in_lanes, which on AVX2 and AVX-512
//     leaves them alternating); spread_quadwords: its inverse.
//   join_nibbles: each 16-bit lane holding bytes lo, hi (both < 16) to lo + 16 * hi.
//   order_nibbles: packus of joined nibbles to packed bytes in element order: word t of 128-bit
//     lane l holds the 16-bit unit L t + l of L lanes (see quantize_pack_registers).
template <class K>
struct byte_lanes {
  using arch = K;
  using bytes = xsimd::batch<std::uint8_t, K>;
  using words = xsimd::batch<std::uint16_t, K>;
};

// 16-bit lanes a, then b, each holding a value < 256, as bytes: packus leaves AVX2's and
// AVX-512's quadwords alternating, narrow puts them in order.
template <class L>
typename L::bytes packus(const typename L::words& a, const typename L::words& b) noexcept {
  using signed_words = simd::wbatch<typename L::arch>;
  return simd::pack_bytes_in_lanes<std::uint8_t>(xsimd::bitwise_cast<signed_words>(a),
                                                 xsimd::bitwise_cast<signed_words>(b),
                                                 typename L::arch{});
}

template <class L>
typename L::bytes narrow(const typename L::words& a, const typename L::words& b) noexcept {
  return simd::gather_quadwords(packus<L>(a, b), typename L::arch{});
}

// Pairs of `Bits`-bit fields (in bytes 2k and 2k+1 of a, then of b) joined into one byte each.
template <int Bits, class L>
typename L::bytes join_pairs(const typename L::bytes& a, const typename L::bytes& b) noexcept {
  using words = typename L::words;
  constexpr auto low = static_cast<std::uint16_t>((1u << Bits) - 1u);
  constexpr auto high = static_cast<std::uint16_t>(low << Bits);
  const auto join = [](const words& w) { return (w & low) | ((w >> (8 - Bits)) & high); };
  return narrow<L>(join(xsimd::bitwise_cast<words>(a)), join(xsimd::bitwise_cast<words>(b)));
}

// The inverse: each byte of p split into its low and high `Bits`-bit fields, in order, as two
// batches of bytes (xsimd's zip_lo / zip_hi interleave within 128-bit lanes, hence spread).
template <int Bits, class L>
void split_pairs(const typename L::bytes& p, typename L::bytes& first,
                 typename L::bytes& second) noexcept {
  using bytes = typename L::bytes;
  using words = typename L::words;
  constexpr auto mask = static_cast<std::uint16_t>(((1u << Bits) - 1u) * 0x0101u);
  const words w = xsimd::bitwise_cast<words>(simd::spread_quadwords(p, typename L::arch{}));
  const auto lo = xsimd::bitwise_cast<bytes>(w & mask);
  const auto hi = xsimd::bitwise_cast<bytes>((w >> Bits) & mask);
  first = xsimd::zip_lo(lo, hi);
  second = xsimd::zip_hi(lo, hi);
}

// Sign extension from `bits` bits, in 8-bit arithmetic: (x ^ sign) - sign.
template <class Bytes>
Bytes sign_extend(const Bytes& x, int bits) noexcept {
  const auto sign = static_cast<std::uint8_t>(1u << (bits - 1));
  return (x ^ sign) - sign;
}
#endif

template <class T>
const std::uint8_t* as_bytes(const T* p) noexcept {
  static_assert(sizeof(T) == 1);
  return reinterpret_cast<const std::uint8_t*>(p);
}
template <class T>
std::uint8_t* as_bytes(T* p) noexcept {
  static_assert(sizeof(T) == 1);
  return reinterpret_cast<std::uint8_t*>(p);
}

// Calls f(std::integral_constant<int, bits>{}) for bits 2 or 4, so that loops see a constant.
template <class F>
void with_bits(int bits, F&& f) {
  if (bits == 4) return f(std::integral_constant<int, 4>{});
  f(std::integral_constant<int, 2>{});
}

#if QUANTA_SIMD_KERNELS
// The group = 8 * size / B codes at c (bytes) joined into one register of B-bit fields at out.
template <int B, class L>
void join_register(const std::uint8_t* c, std::uint8_t* out) noexcept {
  using bytes = typename L::bytes;
  const auto r = [c](std::size_t k) { return bytes::load_unaligned(c + k * bytes::size); };
  if constexpr (B == 4) {
    join_pairs<4, L>(r(0), r(1)).store_unaligned(out);
  } else {
    join_pairs<4, L>(join_pairs<2, L>(r(0), r(1)), join_pairs<2, L>(r(2), r(3)))
        .store_unaligned(out);
  }
}

// The inverse: one register of packed bytes at p to group codes at c, sign-extended for signed T.
template <int B, class L, class T>
void split_register(const std::uint8_t* p, std::uint8_t* c) noexcept {
  using bytes = typename L::bytes;
  const auto put = [c](std::size_t k, const bytes& x) {
    if constexpr (std::is_signed_v<T>) {
      sign_extend(x, B).store_unaligned(c + k * bytes::size);
    } else {
      x.store_unaligned(c + k * bytes::size);
    }
  };
  bytes first, second;
  split_pairs<4, L>(bytes::load_unaligned(p), first, second);
  if constexpr (B == 4) {
    put(0, first);
    put(1, second);
  } else {
    bytes third, fourth;
    split_pairs<2, L>(second, third, fourth);
    split_pairs<2, L>(first, first, second);
    put(0, first);
    put(1, second);
    put(2, third);
    put(3, fourth);
  }
}
#endif

// n codes of T to packed_bytes(n, bits) packed bytes (Pack) or back, a register of packed bytes at
// a time; the last codes go through zero-padded buffers (zero fields are what ref::pack writes
// after the last value, and unpacking ignores them).
template <bool Pack, class Arch, class T>
void convert_codes(const std::uint8_t* in, std::size_t n, int bits, std::uint8_t* out) noexcept {
  QUANTA_ASSERT(bits == 2 || bits == 4);
#if QUANTA_SIMD_KERNELS
  using K = simd::kernel_arch_t<Arch>;
  if constexpr (!std::is_void_v<K>) {
    using L = byte_lanes<K>;
    return with_bits(bits, [&](auto b) {
      constexpr int B = decltype(b)::value;
      constexpr std::size_t packed_step = L::bytes::size;
      constexpr std::size_t code_step = packed_step * 8 / B;
      constexpr std::size_t in_step = Pack ? code_step : packed_step;
      constexpr std::size_t out_step = Pack ? packed_step : code_step;
      const auto convert = [](const std::uint8_t* from, std::uint8_t* to) {
        if constexpr (Pack) {
          join_register<B, L>(from, to);
        } else {
          split_register<B, L, T>(from, to);
        }
      };
      const std::size_t whole = n / code_step;
      for (std::size_t r = 0; r < whole; ++r)
        convert(in + r * in_step, out + r * out_step);
      const std::size_t codes = n % code_step;
      if (codes == 0) return;
      const std::size_t packed = ref::packed_bytes(codes, bits);
      std::uint8_t from[in_step] = {};
      std::uint8_t to[out_step];
      std::memcpy(from, in + whole * in_step, Pack ? codes : packed);
      convert(from, to);
      std::memcpy(out + whole * out_step, to, Pack ? packed : codes);
    });
  }
#endif
  if constexpr (Pack) {
    ref::pack(span<const T>(reinterpret_cast<const T*>(in), n), bits,
              span<std::uint8_t>(out, ref::packed_bytes(n, bits)));
  } else {
    ref::unpack(span<const std::uint8_t>(in, ref::packed_bytes(n, bits)), bits,
                span<T>(reinterpret_cast<T*>(out), n));
  }
}

// v[0..n) into packed_bytes(n, bits) bytes. T is std::int8_t or std::uint8_t.
template <class Arch, class T>
void pack_codes(const T* v, std::size_t n, int bits, std::uint8_t* packed) noexcept {
  convert_codes<true, Arch, T>(as_bytes(v), n, bits, packed);
}

// packed_bytes(n, bits) bytes into v[0..n); signed T sign-extends.
template <class Arch, class T>
void unpack_codes(const std::uint8_t* packed, std::size_t n, int bits, T* v) noexcept {
  convert_codes<false, Arch, T>(packed, n, bits, as_bytes(v));
}

// Whether every v[i] lies in the range of a `bits`-bit T: all bits above the field are zero once
// signed values are shifted up by half the range.
template <class Arch, class T>
bool codes_fit(const T* v, std::size_t n, int bits) noexcept {
  const unsigned bias = std::is_signed_v<T> ? (1u << (bits - 1)) : 0u;
  const auto outside = static_cast<std::uint8_t>(~((1u << bits) - 1u));
  const std::uint8_t* in = as_bytes(v);
  std::size_t i = 0;
  std::uint8_t seen = 0;
#if QUANTA_SIMD_KERNELS
  using K = simd::kernel_arch_t<Arch>;
  if constexpr (!std::is_void_v<K>) {
    using bytes = typename byte_lanes<K>::bytes;
    constexpr std::size_t w = bytes::size;
    bytes any(std::uint8_t{0});
    const bytes shift(static_cast<std::uint8_t>(bias));
    for (; i + w <= n; i += w)
      any = any | ((bytes::load_unaligned(in + i) + shift) & outside);
    if (xsimd::any(any != bytes(std::uint8_t{0}))) return false;
  }
#endif
  for (; i < n; ++i)
    seen = static_cast<std::uint8_t>(seen | ((in[i] + bias) & outside));
  return seen == 0;
}

// --- Fused quantize + pack ----------------------------------------------------------------------
// The quantized codes pass through a stack buffer of pack_chunk values, small enough for L1, so the
// unpacked tensor never exists. A multiple of every batch's 4 * size, so only a tensor's last chunk
// has a scalar tail.
inline constexpr std::size_t pack_chunk = 2048;

// Calls fill(start, count, codes) to quantize elements [start, start + count) of an n-element
// tensor into codes, then packs them.
template <class Arch, class Q, class Fill>
void quantize_pack_stream(std::size_t n, int bits, std::uint8_t* packed, Fill fill) noexcept {
  alignas(64) Q codes[pack_chunk];
  const std::size_t per_byte = ref::values_per_byte(bits);
  for (std::size_t start = 0; start < n; start += pack_chunk) {
    const std::size_t count = std::min(pack_chunk, n - start);
    fill(start, count, codes);
    pack_codes<Arch>(codes, count, bits, packed + start / per_byte);
  }
}

// Unpacks elements [start, start + count) and calls drain(start, count, codes) to dequantize them.
template <class Arch, class Q, class Drain>
void unpack_dequantize_stream(const std::uint8_t* packed, std::size_t n, int bits,
                              Drain drain) noexcept {
  alignas(64) Q codes[pack_chunk];
  const std::size_t per_byte = ref::values_per_byte(bits);
  for (std::size_t start = 0; start < n; start += pack_chunk) {
    const std::size_t count = std::min(pack_chunk, n - start);
    unpack_codes<Arch>(packed + start / per_byte, count, bits, codes);
    drain(start, count, codes);
  }
}

#if QUANTA_SIMD_KERNELS
// --- Per-tensor 4-bit quantize + pack: nibbles joined in registers ------------------------------
// The float side of the 8-bit quantize kernel (kernels::quantize_block_bytes: scale and round, then
// simd::pack_words), and then, with nothing stored: a signed pack to bytes, simd::any_floor on the
// bytes (a code of -128 or less is refused: NaN, infinities and values far below the range, which
// the exact kernel redoes), the offset as a saturating byte addition that puts the biased code
// c + offset (signed storage: + 8, so that the stored nibble is the biased code ^ 8) at
// -128 + (c + offset), which clamps it below at 0, the clamp above, each pair of neighbouring bytes
// joined as lo + 16 * hi (pmaddubsw), and a second narrowing to bytes. Every saturation on the way
// is monotonic and leaves the range alone, as in simd::store_offset_bytes.
//
// Both narrowings keep runs of four neighbouring elements together, so the packed bytes come out
// in 16-bit units of four elements: with L 128-bit lanes, word t of lane l holds the unit L t + l,
// and one shuffle per register puts the units in order (simd::order_nibbles). Where K permutes
// bytes (simd::byte_permute, AVX-512 VBMI), one two-register byte permute (vpermt2b) does that and
// the second narrowing at once; it reads only the low byte of each joined word, so the biased codes
// need not be brought back from -128 + c to c first: 128 + 16 * 128 only flips the top bit of the
// high nibble, which one xor with the storage's own flip undoes.
template <class Q>
constexpr int nibble_bias = std::is_signed_v<Q> ? 8 : 0;

template <class K>
using packed_batch = xsimd::batch<std::uint8_t, K>;
template <class K>
using code_batch = xsimd::batch<std::int8_t, K>;

// The offset and the clamp of one encoding for the nibble kernels: codes biased into 0..15 and
// shifted down by 128 by the saturating offset; with the byte permute the bounds apply to those
// signed bytes, otherwise to them ^ 0x80, i.e. to the biased codes as unsigned bytes.
template <class K>
struct nibble_range {
  code_batch<K> offset;
  packed_batch<K> lo, hi;
};

// Whether the offset, added as the int8 post_offset + bias - 128, fits a byte.
template <class Q>
bool nibble_offset_fits(const affine_params& p) noexcept {
  const std::int64_t offset = std::int64_t{p.post_offset} + nibble_bias<Q>;
  return offset >= 0 && offset <= 255;
}

template <class Q, class K>
nibble_range<K> nibble_range_of(const affine_params& p) noexcept {
  const int down = simd::byte_permute<K>::available ? 128 : 0;
  const auto byte = [](int v) { return static_cast<std::uint8_t>(v & 0xFF); };
  return {code_batch<K>(static_cast<std::int8_t>(p.post_offset + nibble_bias<Q> - 128)),
          packed_batch<K>(byte(p.qmin + nibble_bias<Q> - down)),
          packed_batch<K>(byte(p.qmax + nibble_bias<Q> - down))};
}

// kernels::misaligned_head when it is even (a whole number of packed bytes), else 0.
template <class K>
std::size_t even_head(const float* x, std::size_t n) noexcept {
  const std::size_t head = kernels::misaligned_head<K>(x, n);
  return head % 2 == 0 ? head : 0;
}

// R registers of floats (R = 1, 2, 4, 8 or 16; register k is load(k)) to R * N / 2 packed bytes,
// one register of them for every 8 of floats, passed to store(j, bytes) (fewer than 8 registers
// repeat their last one in the packs, and only the first R * N / 2 bytes are meaningful); false,
// with nothing stored, when any_floor refuses them. Declared inline: GCC otherwise keeps it out of
// line, which costs a tenth of the time in L1.
template <std::size_t R, class Mode, bool Clamp, class Q, class K, class Load, class Store>
inline bool quantize_pack_registers(Load load, const kernels::lanes<K>& l, const nibble_range<K>& o,
                                    Store store) noexcept {
  using L = byte_lanes<K>;
  using words = typename L::words;
  constexpr bool byte_permute = simd::byte_permute<K>::available;
  constexpr std::size_t W = (R + 1) / 2;  // registers of 16-bit codes
  constexpr std::size_t B = (W + 1) / 2;  // registers of 8-bit codes, then of joined pairs
  const auto code = [&](std::size_t k) {
    return kernels::round_lanes<Mode, K>(kernels::scale_lanes<Mode>(load(k), l), l);
  };
  simd::wbatch<K> w[W];
  simd::unroll<W>([&](auto k) {
    constexpr std::size_t j = decltype(k)::value;
    const auto first = code(2 * j);
    w[j] = simd::pack_words(first, 2 * j + 1 < R ? code(2 * j + 1) : first, K{});
  });
  code_batch<K> c[B];
  simd::unroll<B>([&](auto k) {
    constexpr std::size_t j = decltype(k)::value;
    c[j] = simd::pack_bytes_in_lanes<std::int8_t>(w[2 * j], w[std::min(2 * j + 1, W - 1)], K{});
  });
  if (simd::any_floor(c)) return false;
  words pairs[B];
  simd::unroll<B>([&](auto k) {
    const code_batch<K> shifted = simd::add_saturate(c[k], o.offset, K{});  // -128 + biased code
    if constexpr (byte_permute) {
      code_batch<K> b = simd::min_int(shifted, xsimd::bitwise_cast<code_batch<K>>(o.hi), K{});
      if constexpr (Clamp) b = simd::max_int(b, xsimd::bitwise_cast<code_batch<K>>(o.lo), K{});
      pairs[k] = simd::join_nibbles(xsimd::bitwise_cast<packed_batch<K>>(b), K{});
    } else {
      packed_batch<K> b = xsimd::bitwise_cast<packed_batch<K>>(shifted) ^ std::uint8_t{0x80};
      b = simd::min_int(b, o.hi, K{});
      if constexpr (Clamp) b = simd::max_int(b, o.lo, K{});
      pairs[k] = simd::join_nibbles(b, K{});
    }
  });
  simd::unroll<(R + 7) / 8>([&](auto k) {
    constexpr std::size_t j = decltype(k)::value;
    const words& first = pairs[2 * j];
    const words& second = pairs[std::min(2 * j + 1, B - 1)];
    if constexpr (byte_permute) {
      // Low byte of a pair word: lo + 128 + 16 * hi (mod 256), the high nibble's top bit flipped.
      const std::uint8_t flip = std::is_signed_v<Q> ? 0x08 : 0x80;
      return store(j, packed_batch<K>(simd::byte_permute<K>::select_nibbles(first, second)) ^ flip);
    }
    packed_batch<K> v = simd::order_nibbles(packus<L>(first, second), K{});
    if constexpr (std::is_signed_v<Q>) v = v ^ std::uint8_t{0x88};
    store(j, v);
  });
  return true;
}

// R registers (a multiple of 8) of x to packed.
template <std::size_t R, class Mode, bool Clamp, class Q, class K>
bool quantize_pack_block(const float* x, const kernels::lanes<K>& l, const nibble_range<K>& o,
                         std::uint8_t* packed) noexcept {
  static_assert(R % 8 == 0);
  return quantize_pack_registers<R, Mode, Clamp, Q>(
      [x](std::size_t k) { return simd::fbatch<K>::load_unaligned(x + k * simd::fbatch<K>::size); },
      l, o,
      [packed](std::size_t j, const packed_batch<K>& v) {
        v.store_unaligned(packed + j * packed_batch<K>::size);
      });
}

// count <= R * N elements of x (R at most 8) to packed; zero floats after the last value.
template <std::size_t R, class Mode, bool Clamp, class Q, class K>
bool quantize_pack_partial(const float* x, std::size_t count, const kernels::lanes<K>& l,
                           const nibble_range<K>& o, std::uint8_t* packed) noexcept {
  static_assert(R <= 8);
  constexpr std::size_t N = simd::fbatch<K>::size;
  const auto load = [x, count](std::size_t k) {
    const std::size_t start = k * N;
    if (start + N <= count) return simd::fbatch<K>::load_unaligned(x + start);
    if (start < count) return simd::load_partial<K>(x + start, count - start, K{});
    return simd::fbatch<K>(0.0f);
  };
  const auto store = [packed, count](std::size_t, const packed_batch<K>& v) {
    simd::store_first_bytes(packed, v, ref::packed_bytes(count, 4), K{});
    if (count % 2 != 0) packed[count / 2] &= 0x0F;  // ref::pack writes zero past the last value
  };
  return quantize_pack_registers<R, Mode, Clamp, Q>(load, l, o, store);
}

// All n elements of x into packed: a partial block up to an even element whose x is aligned to a
// register, blocks of 16 registers, at most one of 8, and a partial block. A block that any_floor
// refuses is quantized by the 8-bit kernel and packed from a buffer.
template <class Arch, class Mode, bool Clamp, class Q, class K>
void quantize_pack_run(const float* x, std::size_t n, const affine_params& p,
                       std::uint8_t* packed) noexcept {
  constexpr std::size_t N = simd::fbatch<K>::size;
  const kernels::lanes<K> l = kernels::broadcast<K>(p);
  const nibble_range<K> o = nibble_range_of<Q, K>(p);
  const auto exact = [&](std::size_t i, std::size_t count) {
    Q codes[16 * simd::fbatch<K>::size];
    quantize_tensor<Arch>(x + i, count, p, codes);
    pack_codes<Arch>(codes, count, 4, packed + i / 2);
  };
  std::size_t i = even_head<K>(x, n);
  if (i > 0 && !quantize_pack_partial<1, Mode, Clamp, Q>(x, i, l, o, packed)) exact(0, i);
  for (; i + 16 * N <= n; i += 16 * N)
    if (!quantize_pack_block<16, Mode, Clamp, Q>(x + i, l, o, packed + i / 2)) exact(i, 16 * N);
  if (i + 8 * N <= n) {
    if (!quantize_pack_block<8, Mode, Clamp, Q>(x + i, l, o, packed + i / 2)) exact(i, 8 * N);
    i += 8 * N;
  }
  if (i < n) {
    const bool done =
        n - i <= N ? quantize_pack_partial<1, Mode, Clamp, Q>(x + i, n - i, l, o, packed + i / 2)
                   : quantize_pack_partial<8, Mode, Clamp, Q>(x + i, n - i, l, o, packed + i / 2);
    if (!done) exact(i, n - i);
  }
}

// --- Per-tensor 4-bit unpack + dequantize by table lookup ------------------------------------
// Where K looks up a register of floats by 4-bit codes (simd::nibble_lookup, AVX-512): the values
// of all 16 codes, computed by ref::dequantize_code, are the table, so the result is exact by
// construction. All n elements: up to an even element whose x is aligned to a register, whole
// registers (each from N / 2 packed bytes), and the last codes through a zero-padded copy of their
// packed bytes and partial stores.
template <class Q, class K>
void unpack_dequantize_lookup(const std::uint8_t* packed, std::size_t n, const affine_params& p,
                              float* x) noexcept {
  alignas(64) float values[16];
  for (int u = 0; u < 16; ++u)
    values[u] = ref::dequantize_code(std::is_signed_v<Q> ? (u ^ 8) - 8 : u, p);
  const simd::nibble_lookup<K> lookup(values);
  constexpr std::size_t N = simd::fbatch<K>::size;
  // Elements [i, i + count) for count <= 2 N.
  const auto partial = [&](std::size_t i, std::size_t count) {
    std::uint8_t bytes[N] = {};
    std::memcpy(bytes, packed + i / 2, ref::packed_bytes(count, 4));
    for (std::size_t k = 0; k < count; k += N) {
      const std::size_t m = std::min(N, count - k);
      simd::store_partial(x + i + k, lookup(bytes + k / 2), m, K{});
    }
  };
  std::size_t i = even_head<K>(x, n);
  if (i > 0) partial(0, i);
  for (; i + 2 * N <= n; i += 2 * N) {
    lookup(packed + i / 2).store_unaligned(x + i);
    lookup(packed + i / 2 + N / 2).store_unaligned(x + i + N);
  }
  if (i < n) partial(i, n - i);
}
#endif

// Per-tensor fused quantize + pack: 4 bits in registers (quantize_pack_run), 2 bits and encodings
// whose offset is too large for the 8-bit steps through chunks of 8-bit codes.
template <class Arch, class Q>
void quantize_pack_tensor(const float* x, std::size_t n, const affine_params& p, int bits,
                          std::uint8_t* packed) noexcept {
#if QUANTA_SIMD_KERNELS
  using K = simd::kernel_arch_t<Arch>;
  if constexpr (!std::is_void_v<K>) {
    if (bits == 4 && nibble_offset_fits<Q>(p)) {
      const bool clamp = p.qmin + nibble_bias<Q> > 0;
      kernels::with_mode(&p, 1, [&](auto mode) {
        using M = decltype(mode);
        if (clamp) return quantize_pack_run<Arch, M, true, Q, K>(x, n, p, packed);
        quantize_pack_run<Arch, M, false, Q, K>(x, n, p, packed);
      });
      return;
    }
  }
#endif
  quantize_pack_stream<Arch, Q>(n, bits, packed, [&](std::size_t start, std::size_t c, Q* codes) {
    quantize_tensor<Arch>(x + start, c, p, codes);
  });
}

template <class Arch, class Q>
void unpack_dequantize_tensor(const std::uint8_t* packed, std::size_t n, const affine_params& p,
                              int bits, float* x) noexcept {
#if QUANTA_SIMD_KERNELS
  using K = simd::kernel_arch_t<Arch>;
  if constexpr (simd::nibble_lookup<K>::available) {
    if (bits == 4) return unpack_dequantize_lookup<Q, K>(packed, n, p, x);
  }
#endif
  unpack_dequantize_stream<Arch, Q>(packed, n, bits,
                                    [&](std::size_t start, std::size_t count, const Q* codes) {
                                      dequantize_tensor<Arch>(codes, count, p, x + start);
                                    });
}

// Elements [start, start + count) of a per-channel tensor, cut into pieces that one kernel call
// handles: one(k, len, params) for len elements under one encoding, many(k, layout, params, n) for
// whole runs of several encodings (a layout of its own, whose encodings start at params).
template <class One, class Many>
void for_each_piece(const channel_layout& l, const affine_params* params, std::size_t start,
                    std::size_t count, One one, Many many) noexcept {
  const std::size_t end = start + count;
  for (std::size_t k = start; k < end;) {
    const std::size_t run = k / l.inner;
    const std::size_t i = k % l.inner;
    const std::size_t c = run % l.channels;
    const std::size_t runs = std::min((end - k) / l.inner, l.channels - c);
    if (i != 0 || runs <= 1) {
      const std::size_t len = std::min(l.inner - i, end - k);
      one(k, len, params[c]);
      k += len;
    } else {
      many(k, channel_layout{1, runs, l.inner}, params + c, runs);
      k += runs * l.inner;
    }
  }
}

template <class One, class Many>
void for_each_piece(const block_layout& l, const affine_params* params, std::size_t start,
                    std::size_t count, One one, Many many) noexcept {
  const std::size_t end = start + count;
  const std::size_t blocks = l.blocks();
  const std::size_t bs = l.block_size;
  for (std::size_t k = start; k < end;) {
    const std::size_t run = k / l.inner;
    const std::size_t i = k % l.inner;
    const std::size_t c = run % l.channels;
    const std::size_t o = run / l.channels;
    // The encodings of (o, block of c, i) for i = 0..inner-1.
    const affine_params* row = params + (o * blocks + c / bs) * l.inner;
    if (i != 0 || end - k < l.inner) {
      // Part of one (o, c) run: each element has an encoding of its own.
      const std::size_t len = std::min(l.inner - i, end - k);
      if (len == 1) {
        one(k, 1, row[i]);
      } else {
        many(k, channel_layout{1, len, 1}, row + i, len);
      }
      k += len;
      continue;
    }
    std::size_t runs = std::min((end - k) / l.inner, l.channels - c);
    if (c % bs != 0) runs = std::min(runs, bs - c % bs);  // up to the next block boundary
    if (l.inner == 1 && c % bs + runs <= bs) {
      one(k, runs, row[0]);
    } else {
      // Starts at c: a block boundary, or a partial block that the sub-layout sees as block 0.
      const block_layout sub{1, runs, l.inner, bs};
      many(k, sub, row, sub.encoding_count());
    }
    k += runs * l.inner;
  }
}

// Calls run(start, length, params) for each run of elements with one encoding when the layout is
// made of such runs (per channel; per block along the innermost axis), each starting on a whole
// packed byte and at least min_length long; false, calling nothing, otherwise.
template <class Run>
bool for_each_encoding_run(const channel_layout& l, const affine_params* params, int bits,
                           std::size_t min_length, Run run) {
  if (l.inner < min_length || l.inner % ref::values_per_byte(bits) != 0) return false;
  std::size_t k = 0;
  for (std::size_t o = 0; o < l.outer; ++o)
    for (std::size_t c = 0; c < l.channels; ++c, k += l.inner)
      run(k, l.inner, params[c]);
  return true;
}

template <class Run>
bool for_each_encoding_run(const block_layout& l, const affine_params* params, int bits,
                           std::size_t min_length, Run run) {
  const std::size_t per_byte = ref::values_per_byte(bits);
  if (l.inner != 1 || l.block_size < min_length || l.block_size % per_byte != 0 ||
      l.channels % per_byte != 0)
    return false;
  const std::size_t blocks = l.blocks();
  std::size_t k = 0;
  for (std::size_t o = 0; o < l.outer; ++o) {
    for (std::size_t b = 0; b < blocks; ++b) {
      const std::size_t length = std::min(l.block_size, l.channels - b * l.block_size);
      run(k, length, params[o * blocks + b]);
      k += length;
    }
  }
  return true;
}

// Runs of at least one 8-register block with one encoding go through quantize_pack_tensor one by
// one (its register kernels); shorter runs are quantized together in chunks of 8-bit codes, which
// measured as fast for runs of 4 and 8 registers.
template <class Arch>
constexpr std::size_t min_register_run() noexcept {
#if QUANTA_SIMD_KERNELS
  using K = simd::kernel_arch_t<Arch>;
  if constexpr (!std::is_void_v<K>) return 8 * simd::fbatch<K>::size;
#endif
  return 0;
}

template <class Arch, class Q, class Layout>
void quantize_pack_layout(const float* x, const Layout& layout, const affine_params* params,
                          int bits, std::uint8_t* packed) noexcept {
  if (bits == 4 && min_register_run<Arch>() > 0 &&
      for_each_encoding_run(layout, params, bits, min_register_run<Arch>(),
                            [&](std::size_t k, std::size_t length, const affine_params& p) {
                              quantize_pack_tensor<Arch, Q>(
                                  x + k, length, p, bits, packed + k / ref::values_per_byte(bits));
                            }))
    return;
  quantize_pack_stream<Arch, Q>(
      layout.size(), bits, packed, [&](std::size_t start, std::size_t count, Q* codes) {
        for_each_piece(
            layout, params, start, count,
            [&](std::size_t k, std::size_t len, const affine_params& p) {
              quantize_tensor<Arch>(x + k, len, p, codes + (k - start));
            },
            [&](std::size_t k, const auto& sub, const affine_params* p, std::size_t np) {
              quantize_channels<Arch>(x + k, sub, p, np, codes + (k - start));
            });
      });
}

template <class Arch, class Q, class Layout>
void unpack_dequantize_layout(const std::uint8_t* packed, const Layout& layout,
                              const affine_params* params, int bits, float* x) noexcept {
  unpack_dequantize_stream<Arch, Q>(
      packed, layout.size(), bits, [&](std::size_t start, std::size_t count, const Q* codes) {
        for_each_piece(
            layout, params, start, count,
            [&](std::size_t k, std::size_t len, const affine_params& p) {
              dequantize_tensor<Arch>(codes + (k - start), len, p, x + k);
            },
            [&](std::size_t k, const auto& sub, const affine_params* p, std::size_t np) {
              dequantize_channels<Arch>(codes + (k - start), sub, p, np, x + k);
            });
      });
}

// Per-row packing: row r of `cols` values starts on a new byte and uses params[r] (or params[0]
// when every row shares one encoding).
template <class Arch, class Q>
void quantize_pack_rows(const float* x, std::size_t rows, std::size_t cols,
                        const affine_params* params, bool per_row, int bits,
                        std::uint8_t* packed) noexcept {
  const std::size_t row_bytes = ref::packed_bytes(cols, bits);
  for (std::size_t r = 0; r < rows; ++r) {
    quantize_pack_tensor<Arch, Q>(x + r * cols, cols, params[per_row ? r : 0], bits,
                                  packed + r * row_bytes);
  }
}

template <class Arch, class Q>
void unpack_dequantize_rows(const std::uint8_t* packed, std::size_t rows, std::size_t cols,
                            const affine_params* params, bool per_row, int bits,
                            float* x) noexcept {
  const std::size_t row_bytes = ref::packed_bytes(cols, bits);
  for (std::size_t r = 0; r < rows; ++r) {
    float* xr = x + r * cols;
    const affine_params& p = params[per_row ? r : 0];
    unpack_dequantize_stream<Arch, Q>(packed + r * row_bytes, cols, bits,
                                      [&](std::size_t start, std::size_t count, const Q* codes) {
                                        dequantize_tensor<Arch>(codes, count, p, xr + start);
                                      });
  }
}

// --- FBGEMM row-wise fused format
// -----------------------------------------------------------------

inline constexpr std::size_t fused_row_trailer = 4;  // binary16 scale, then binary16 bias

template <class Arch>
void quantize_fused_rows(const float* x, std::size_t rows, std::size_t cols,
                         const ref::fused_row_params* params, int bits,
                         std::uint8_t* fused) noexcept {
  const std::size_t data_bytes = ref::packed_bytes(cols, bits);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    const ref::fused_row_params& p = params[r];
    std::uint8_t* out = fused + r * (data_bytes + fused_row_trailer);
    quantize_pack_stream<Arch, std::uint8_t>(
        cols, bits, out, [&](std::size_t start, std::size_t count, std::uint8_t* codes) {
          std::size_t j = 0;
#if QUANTA_SIMD_KERNELS
          using K = simd::kernel_arch_t<Arch>;
          if constexpr (!std::is_void_v<K>) {
            // Values are finite, so clamping before the rounding conversion equals clamping
            // after it and keeps the conversion in int32 range.
            using floats = simd::fbatch<K>;
            const floats bias(p.bias);
            const floats inv_scale(p.inv_scale);
            const floats top(static_cast<float>((1 << bits) - 1));
            for (; j + floats::size <= count; j += floats::size) {
              const floats t = (floats::load_unaligned(xr + start + j) - bias) * inv_scale;
              const floats clamped = xsimd::min(xsimd::max(t, floats(0.0f)), top);
              simd::store_narrow(codes + j, simd::round_even(clamped, K{}), K{});
            }
          }
#endif
          for (; j < count; ++j)
            codes[j] = ref::fused_row_code(xr[start + j], p, bits);
        });
    const std::uint8_t trailer[fused_row_trailer] = {
        static_cast<std::uint8_t>(p.scale_bits & 0xFFu),
        static_cast<std::uint8_t>(p.scale_bits >> 8),
        static_cast<std::uint8_t>(p.bias_bits & 0xFFu),
        static_cast<std::uint8_t>(p.bias_bits >> 8)};
    std::copy(trailer, trailer + fused_row_trailer, out + data_bytes);
  }
}

inline ref::fused_row_params read_fused_row_params(const std::uint8_t* trailer) noexcept {
  ref::fused_row_params p;
  p.scale_bits = static_cast<std::uint16_t>(trailer[0] | (trailer[1] << 8));
  p.bias_bits = static_cast<std::uint16_t>(trailer[2] | (trailer[3] << 8));
  p.scale = ref::float16_value(p.scale_bits);
  p.bias = ref::float16_value(p.bias_bits);
  return p;
}

template <class Arch>
void dequantize_fused_rows(const std::uint8_t* fused, std::size_t rows, std::size_t cols, int bits,
                           float* x) noexcept {
  const std::size_t data_bytes = ref::packed_bytes(cols, bits);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::uint8_t* in = fused + r * (data_bytes + fused_row_trailer);
    const ref::fused_row_params p = read_fused_row_params(in + data_bytes);
    float* xr = x + r * cols;
    unpack_dequantize_stream<Arch, std::uint8_t>(
        in, cols, bits, [&](std::size_t start, std::size_t count, const std::uint8_t* codes) {
          for (std::size_t j = 0; j < count; ++j)
            xr[start + j] = ref::fused_row_value(codes[j], p);
        });
  }
}

}  // namespace quanta::detail
QUANTA_SIMD_DIAGNOSTICS_POP
