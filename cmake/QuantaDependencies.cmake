# Debian 12 packages: libeigen3-dev 3.4, libxsimd-dev 8.1, nlohmann-json3-dev 3.11 (optional).
include(GNUInstallDirs)

# Their version files are SameMajorVersion, so ask without a version and check it here.
find_package(Eigen3 REQUIRED NO_MODULE)
if(Eigen3_VERSION VERSION_LESS 3.3)
  message(FATAL_ERROR "quanta needs Eigen 3.3 or newer; found ${Eigen3_VERSION}")
endif()

if(QUANTA_SIMD)
  find_package(xsimd REQUIRED)
  if(xsimd_VERSION VERSION_LESS 8.0)
    message(FATAL_ERROR "quanta needs xsimd 8.0 or newer; found ${xsimd_VERSION}")
  endif()
  # Debian's xsimdConfig.cmake links an `xtl` target that does not exist (xsimd works without it).
  if(TARGET xsimd AND NOT TARGET xtl)
    set_target_properties(xsimd PROPERTIES INTERFACE_LINK_LIBRARIES "")
  endif()
endif()

find_package(nlohmann_json 3 QUIET)
