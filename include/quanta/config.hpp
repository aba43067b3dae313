// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstdio>
#include <cstdlib>

#define QUANTA_VERSION_MAJOR 0
#define QUANTA_VERSION_MINOR 1
#define QUANTA_VERSION_PATCH 0
#define QUANTA_VERSION_STRING "0.1.0"

// QUANTA_SIMD=0 builds every kernel as plain scalar code (the `scalar` preset); the default uses
// xsimd with the instruction set the translation unit is compiled for (quanta/arch.hpp).
#ifndef QUANTA_SIMD
#define QUANTA_SIMD 1
#endif

// Preconditions of internal kernels. Public functions validate their arguments and throw instead;
// these checks are for quanta's own bugs and compile away unless QUANTA_ENABLE_ASSERTS is set.
#if defined(QUANTA_ENABLE_ASSERTS)
#define QUANTA_ASSERT(cond)                                                                    \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "%s:%d: quanta assertion failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)
#else
#define QUANTA_ASSERT(cond) ((void)0)
#endif
