# Debian 12 packages: libxsimd-dev 8.1, nlohmann-json3-dev 3.11 (optional); libeigen3-dev 3.4 for
# quanta's own tests and benchmarks only, which compare with it (the library does not use it).
include(GNUInstallDirs)

if(QUANTA_BUILD_TESTS OR QUANTA_BUILD_BENCHMARKS)
  # Its version file is SameMajorVersion, so ask without a version and check it here.
  find_package(Eigen3 REQUIRED NO_MODULE)
  if(Eigen3_VERSION VERSION_LESS 3.3)
    message(FATAL_ERROR "quanta's tests need Eigen 3.3 or newer; found ${Eigen3_VERSION}")
  endif()
endif()

if(QUANTA_SIMD)
  # xsimd's package, or its headers when the package is not found (cross builds on Debian).
  include(${CMAKE_CURRENT_LIST_DIR}/QuantaFindXsimd.cmake)
  if(NOT quanta_xsimd_error STREQUAL "")
    message(FATAL_ERROR "${quanta_xsimd_error}")
  endif()
endif()

find_package(nlohmann_json 3 QUIET)

# The thread libraries of the executor adapters (quanta/parallel/*.hpp), each optional.
find_package(Threads QUIET)
find_package(OpenMP QUIET COMPONENTS CXX)
find_package(TBB CONFIG QUIET COMPONENTS tbb)
find_path(QUANTA_PTHREADPOOL_INCLUDE_DIR pthreadpool.h)
find_library(QUANTA_PTHREADPOOL_LIBRARY pthreadpool)
