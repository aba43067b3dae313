# Finds xsimd 8.0 or newer and makes sure an `xsimd` target exists. Included by quanta's own build
# (QuantaDependencies.cmake) and, installed next to it, by quantaConfig.cmake for consumers.
# Sets quanta_xsimd_error to why xsimd cannot be used, or to "" when it can; the caller decides
# whether that is fatal.
set(quanta_xsimd_error "")

# xsimd's own package first. Debian installs it under the build machine's multiarch directory
# (/usr/lib/x86_64-linux-gnu/cmake/xsimd), where a cross build, whose CMAKE_LIBRARY_ARCHITECTURE
# is the target's, does not look, although xsimd is header-only and the same for every target.
find_package(xsimd QUIET)
if(xsimd_FOUND)
  # Debian's xsimdConfig.cmake links an `xtl` target that does not exist (xsimd works without it).
  if(TARGET xsimd AND NOT TARGET xtl)
    set_target_properties(xsimd PROPERTIES INTERFACE_LINK_LIBRARIES "")
  endif()
else()
  # Then the header, searched for like any other: an imported `xsimd` target with its include
  # directory, as xsimd's package makes, and the version from its config header.
  find_path(QUANTA_XSIMD_INCLUDE_DIR xsimd/xsimd.hpp
            DOC "Directory holding xsimd/xsimd.hpp, used when xsimd's CMake package is not found")
  set(quanta_xsimd_config_header ${QUANTA_XSIMD_INCLUDE_DIR}/xsimd/config/xsimd_config.hpp)
  set(xsimd_VERSION "")
  # EXISTS: the cache variable may also have been set by hand.
  if(NOT QUANTA_XSIMD_INCLUDE_DIR OR NOT EXISTS ${QUANTA_XSIMD_INCLUDE_DIR}/xsimd/xsimd.hpp)
    string(CONCAT quanta_xsimd_error
           "xsimd not found: neither its CMake package (set xsimd_DIR to the directory of "
           "xsimdConfig.cmake) nor xsimd/xsimd.hpp (set QUANTA_XSIMD_INCLUDE_DIR to the directory "
           "that holds xsimd/; it is \"${QUANTA_XSIMD_INCLUDE_DIR}\")")
  elseif(EXISTS ${quanta_xsimd_config_header})
    file(STRINGS ${quanta_xsimd_config_header} quanta_xsimd_version_lines
         REGEX "^#define XSIMD_VERSION_(MAJOR|MINOR|PATCH) +[0-9]+")
    if(quanta_xsimd_version_lines MATCHES "XSIMD_VERSION_MAJOR +([0-9]+)")
      set(xsimd_VERSION ${CMAKE_MATCH_1})
      foreach(part IN ITEMS MINOR PATCH)
        if(quanta_xsimd_version_lines MATCHES "XSIMD_VERSION_${part} +([0-9]+)")
          string(APPEND xsimd_VERSION ".${CMAKE_MATCH_1}")
        else()
          set(xsimd_VERSION "")
          break()
        endif()
      endforeach()
    endif()
    unset(quanta_xsimd_version_lines)
  endif()
  if(quanta_xsimd_error STREQUAL "" AND xsimd_VERSION STREQUAL "")
    string(CONCAT quanta_xsimd_error
           "xsimd found in ${QUANTA_XSIMD_INCLUDE_DIR}, but no XSIMD_VERSION_MAJOR, _MINOR and "
           "_PATCH in ${quanta_xsimd_config_header}")
  endif()
  if(quanta_xsimd_error STREQUAL "")
    if(NOT TARGET xsimd)
      add_library(xsimd INTERFACE IMPORTED)
      set_target_properties(xsimd PROPERTIES INTERFACE_INCLUDE_DIRECTORIES
                                             ${QUANTA_XSIMD_INCLUDE_DIR})
    endif()
    set(xsimd_FOUND TRUE)
    if(NOT quanta_FIND_QUIETLY)
      message(STATUS "quanta: xsimd ${xsimd_VERSION} from its headers in "
                     "${QUANTA_XSIMD_INCLUDE_DIR} (no xsimdConfig.cmake found)")
    endif()
  endif()
  unset(quanta_xsimd_config_header)
endif()

# The same check whichever way xsimd was found (its package's version file is SameMajorVersion,
# so find_package is called without a version).
if(quanta_xsimd_error STREQUAL "" AND xsimd_VERSION VERSION_LESS 8.0)
  set(quanta_xsimd_error "quanta needs xsimd 8.0 or newer; found ${xsimd_VERSION}")
endif()
