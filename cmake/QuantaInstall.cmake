include(CMakePackageConfigHelpers)

install(DIRECTORY include/quanta DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
set(quanta_install_targets quanta)
if(TARGET quanta_io)
  list(APPEND quanta_install_targets quanta_io)
endif()
if(TARGET quanta_dispatch)
  list(APPEND quanta_install_targets quanta_dispatch)
endif()
foreach(adapter IN ITEMS std_thread openmp tbb pthreadpool)
  string(TOUPPER ${adapter} upper)
  set(QUANTA_CONFIG_${upper} OFF)
  if(TARGET quanta_${adapter})
    list(APPEND quanta_install_targets quanta_${adapter})
    set(QUANTA_CONFIG_${upper} ON)
  endif()
endforeach()
install(TARGETS ${quanta_install_targets} EXPORT quantaTargets)
install(EXPORT quantaTargets NAMESPACE quanta:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/quanta)

set(QUANTA_CONFIG_SIMD ${QUANTA_SIMD})
set(QUANTA_CONFIG_IO OFF)
if(TARGET quanta_io)
  set(QUANTA_CONFIG_IO ON)
endif()
configure_package_config_file(cmake/quantaConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/quantaConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/quanta)
# Without a compiled library the package is header-only and any architecture may use it. With the
# quanta_dispatch static library it is not: the version file then checks the consumer's pointer
# size (all CMake checks; it cannot tell x86-64 from aarch64).
set(quanta_version_arch ARCH_INDEPENDENT)
if(TARGET quanta_dispatch)
  set(quanta_version_arch "")
endif()
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/quantaConfigVersion.cmake
  COMPATIBILITY SameMinorVersion ${quanta_version_arch})
set(quanta_config_files ${CMAKE_CURRENT_BINARY_DIR}/quantaConfig.cmake
                        ${CMAKE_CURRENT_BINARY_DIR}/quantaConfigVersion.cmake)
if(QUANTA_SIMD)
  list(APPEND quanta_config_files ${PROJECT_SOURCE_DIR}/cmake/QuantaFindXsimd.cmake)
endif()
install(FILES ${quanta_config_files} DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/quanta)
