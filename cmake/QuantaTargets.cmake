# Flags for quanta's own tests, examples and benchmarks; never put on the INTERFACE target.
function(quanta_add_own_target target)
  set_target_properties(${target} PROPERTIES
    CXX_STANDARD ${QUANTA_CXX_STANDARD} CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /WX)
    return()
  endif()
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Werror
    # GCC and Clang contract a*b+c into an FMA otherwise, which changes rounding.
    -ffp-contract=off)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12)
    # GCC 12's AVX-512 headers trip false maybe-uninitialized warnings under -march=native.
    target_compile_options(${target} PRIVATE -Wno-error=maybe-uninitialized)
  endif()
  if(QUANTA_NATIVE)
    target_compile_options(${target} PRIVATE -march=native)
  endif()
  if(QUANTA_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=all
                                             -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
