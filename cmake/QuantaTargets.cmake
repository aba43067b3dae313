# Flags for quanta's own tests, examples and benchmarks; never put on the INTERFACE target.

option(QUANTA_WERROR "Treat warnings in quanta's own code as errors (its tests, examples, tools)" ON)

# The checks of the asan-ubsan preset (GCC). Six are left to the fuzz stage, whose Clang build runs
# them all on the public API: they made the sanitized build 4x slower on the kernel tests
# (test_quantize_kernels.cpp, SSE2: 48.8 s of CPU with them, 12.3 s without; docs/performance.md).
# - use-after-scope (16 s of the 36.5 s): a stack object used after its block ends;
# - alignment (7.5 s): x86 and AArch64 load misaligned scalars, and quanta's kernels read through
#   unaligned vector loads;
# - null and object-size: AddressSanitizer reports the same accesses as a SEGV or an overflow;
# - pointer-overflow: pointer arithmetic that wraps the address space; vptr: quanta has no
#   polymorphic types in its kernels.
set(quanta_sanitizer_flags -fsanitize=address,undefined -fno-sanitize-recover=all
    -fno-sanitize=pointer-overflow,alignment,null,object-size,vptr)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND quanta_sanitizer_flags -fno-sanitize-address-use-after-scope)
endif()

# quanta_add_own_warnings(target): the warnings of quanta's own code, and FMA contraction off.
#
# -Werror covers what the front end reports, which never fires inside system headers (Eigen,
# xsimd, the standard library and the compiler's intrinsics are all system headers here). GCC's
# flow-sensitive warnings run after inlining and report code of those headers as if it were ours,
# differently on each -march: GCC 12 raises -Wuninitialized in Eigen's AVX-512 predux on AMD Zen
# hosts, -Wmaybe-uninitialized in its own AVX-512 intrinsics, -Wnonnull inside std::vector at -O3.
# They stay visible as warnings and never fail a build.
function(quanta_add_own_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${QUANTA_WERROR}>:/WX>)
    return()
  endif()
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow
    # GCC and Clang contract a*b+c into an FMA otherwise, which changes rounding.
    -ffp-contract=off)
  if(QUANTA_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 11)
      target_compile_options(${target} PRIVATE
        -Wno-error=uninitialized -Wno-error=maybe-uninitialized -Wno-error=nonnull
        -Wno-error=array-bounds -Wno-error=stringop-overflow -Wno-error=stringop-overread
        -Wno-error=restrict -Wno-error=free-nonheap-object)
    endif()
  endif()
  if(QUANTA_SANITIZE)
    target_compile_options(${target} PRIVATE ${quanta_sanitizer_flags} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
    # Forced inlining changes only speed; under the sanitizers it made the heaviest test TU take
    # 37% more CPU (766 s against 561 s for test_quantize_kernels_layouts.cpp).
    target_compile_definitions(${target} PRIVATE QUANTA_SIMD_INLINE_LAMBDA=)
  endif()
endfunction()

# quanta_add_own_target(target): the language standard, the warnings, and -march=native when
# QUANTA_NATIVE is on.
function(quanta_add_own_target target)
  set_target_properties(${target} PROPERTIES
    CXX_STANDARD ${QUANTA_CXX_STANDARD} CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
  quanta_add_own_warnings(${target})
  if(QUANTA_NATIVE AND NOT MSVC)
    target_compile_options(${target} PRIVATE -march=native)
  endif()
endfunction()
