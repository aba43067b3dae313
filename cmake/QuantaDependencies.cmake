# Debian 12 packages: libeigen3-dev 3.4, libxsimd-dev 8.1, nlohmann-json3-dev 3.11 (optional).
include(GNUInstallDirs)

# Their version files are SameMajorVersion, so ask without a version and check it here.
find_package(Eigen3 REQUIRED NO_MODULE)
if(Eigen3_VERSION VERSION_LESS 3.3)
  message(FATAL_ERROR "quanta needs Eigen 3.3 or newer; found ${Eigen3_VERSION}")
endif()

if(QUANTA_SIMD)
  # xsimd's package, or its headers when the package is not found (cross builds on Debian).
  include(${CMAKE_CURRENT_LIST_DIR}/QuantaFindXsimd.cmake)
  if(NOT quanta_xsimd_error STREQUAL "")
    message(FATAL_ERROR "${quanta_xsimd_error}")
  endif()
endif()

find_package(nlohmann_json 3 QUIET)
