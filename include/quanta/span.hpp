// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace quanta {

// A non-owning view of contiguous elements, for C++17 callers that have no std::span. It converts
// from anything with data() and size() (std::vector, std::array, std::span, Eigen vectors, ...).
template <class T>
class span {
 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;
  using size_type = std::size_t;
  using pointer = T*;
  using reference = T&;
  using iterator = T*;

  constexpr span() noexcept = default;
  constexpr span(T* data, std::size_t size) noexcept : data_(data), size_(size) {}

  template <std::size_t N>
  constexpr span(T (&array)[N]) noexcept : data_(array), size_(N) {}

  template <class Container, class Pointer = decltype(std::declval<Container&>().data()),
            class = decltype(std::declval<Container&>().size()),
            class = std::enable_if_t<std::is_convertible_v<Pointer, T*> &&
                                     !std::is_same_v<std::decay_t<Container>, span>>>
  constexpr span(Container&& container) noexcept
      : data_(container.data()), size_(static_cast<std::size_t>(container.size())) {}

  // span<T> -> span<const T>
  template <class U, class = std::enable_if_t<std::is_convertible_v<U (*)[], T (*)[]>>>
  constexpr span(const span<U>& other) noexcept : data_(other.data()), size_(other.size()) {}

  constexpr T* data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr T& operator[](std::size_t i) const noexcept { return data_[i]; }
  constexpr T* begin() const noexcept { return data_; }
  constexpr T* end() const noexcept { return data_ + size_; }
  constexpr span subspan(std::size_t offset, std::size_t count) const noexcept {
    return span(data_ + offset, count);
  }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

template <class Container>
span(Container&) -> span<std::remove_pointer_t<decltype(std::declval<Container&>().data())>>;

}  // namespace quanta
