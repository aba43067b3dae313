# quanta::dispatch: the kernels compiled once per x86 instruction set (SSE2, SSE4.1, AVX2,
# AVX-512BW, AVX-512BW with VBMI) and chosen at run time, for hosts built for baseline x86-64.
# Opt-in: the header-only quanta::quanta never needs it. See include/quanta/dispatch.hpp.
set(quanta_dispatch_default OFF)
if(QUANTA_SIMD AND CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$"
   AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  set(quanta_dispatch_default ${PROJECT_IS_TOP_LEVEL})
endif()
option(QUANTA_DISPATCH "Build quanta::dispatch (x86-64, GCC or Clang)" ${quanta_dispatch_default})
if(NOT QUANTA_DISPATCH)
  return()
endif()

# The objects are merged with `${CMAKE_LINKER} -r` and localized with `${CMAKE_OBJCOPY}` (the custom
# command below): ELF tools from GNU binutils (ld or gold, objcopy) or LLVM (ld.lld, llvm-objcopy).
# Checked with binutils 2.40 and LLVM 14: gold, ld.lld and llvm-objcopy give the same symbol tables
# as ld and objcopy, and the dispatch tests pass with ld.lld and llvm-objcopy. Anything else is an
# error here rather than a failure in the build.
set(quanta_tool_LINKER "GNU ld|GNU gold|LLD")  # what `--version` prints
set(quanta_tool_OBJCOPY "GNU objcopy|llvm-objcopy")
foreach(quanta_tool IN ITEMS LINKER OBJCOPY)
  set(quanta_tool_version "")
  if(CMAKE_${quanta_tool})
    execute_process(COMMAND ${CMAKE_${quanta_tool}} --version OUTPUT_VARIABLE quanta_tool_version
                    ERROR_QUIET)
  endif()
  if(NOT quanta_tool_version MATCHES "${quanta_tool_${quanta_tool}}")
    message(FATAL_ERROR "quanta::dispatch needs GNU binutils' or LLVM's ELF ld and objcopy to "
                        "merge its per-instruction-set objects; CMAKE_${quanta_tool} is "
                        "\"${CMAKE_${quanta_tool}}\". Set CMAKE_LINKER and CMAKE_OBJCOPY (ld or "
                        "ld.lld, objcopy or llvm-objcopy), or QUANTA_DISPATCH=OFF.")
  endif()
endforeach()

set(quanta_dispatch_dir ${PROJECT_SOURCE_DIR}/src/dispatch)
# The instruction sets, from the rows of src/dispatch/archs.inc (the list dispatch.cpp uses too):
# QUANTA_DISPATCH_ARCH(id, "name", xsimd architecture, runs, "compiler flags").
file(STRINGS ${quanta_dispatch_dir}/archs.inc quanta_dispatch_rows REGEX "^QUANTA_DISPATCH_ARCH\\(")
set(quanta_dispatch_isas "")
foreach(row IN LISTS quanta_dispatch_rows)
  if(NOT row MATCHES "^QUANTA_DISPATCH_ARCH\\(([a-z0-9_]+), \"[^\"]*\", ([a-z0-9_]+), [a-z0-9_]+, \"([^\"]*)\"\\)$")
    message(FATAL_ERROR "src/dispatch/archs.inc: cannot read the row: ${row}")
  endif()
  list(APPEND quanta_dispatch_isas ${CMAKE_MATCH_1})
  set(quanta_dispatch_xsimd_arch_${CMAKE_MATCH_1} ${CMAKE_MATCH_2})
  separate_arguments(quanta_dispatch_flags_${CMAKE_MATCH_1} UNIX_COMMAND "${CMAKE_MATCH_3}")
endforeach()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${quanta_dispatch_dir}/archs.inc)

# Never -march here: each object gets exactly its instruction set, and FMA contraction stays off.
# No debug information in the per-instruction-set objects, whatever the build type: it doubles the
# assembler's memory and time on their thousands of kernel instantiations (2 GB and 200 s for one
# object) and nothing steps through them in a debugger that the scalar reference does not show.
set(quanta_dispatch_common_flags -ffp-contract=off -Wall -Wextra)
set(quanta_dispatch_object_flags -g0)
if(QUANTA_SANITIZE)
  list(APPEND quanta_dispatch_common_flags ${quanta_sanitizer_flags})
endif()

set(quanta_dispatch_objects "")
foreach(isa IN LISTS quanta_dispatch_isas)
  set(xsimd_arch ${quanta_dispatch_xsimd_arch_${isa}})
  set(objects quanta_dispatch_${isa})
  add_library(${objects} OBJECT ${quanta_dispatch_dir}/kernels.cpp)
  target_link_libraries(${objects} PRIVATE quanta::quanta)
  target_compile_definitions(${objects} PRIVATE QUANTA_DISPATCH_XSIMD_ARCH=xsimd::${xsimd_arch}
                                                QUANTA_DISPATCH_TABLE=quanta_dispatch_table_${isa})
  target_compile_options(${objects} PRIVATE ${quanta_dispatch_flags_${isa}}
                                            ${quanta_dispatch_common_flags}
                                            ${quanta_dispatch_object_flags}
                                            -fvisibility=hidden -fvisibility-inlines-hidden)
  set_target_properties(${objects} PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON
                                              CXX_EXTENSIONS OFF POSITION_INDEPENDENT_CODE ON)
  # Inline functions and templates not parameterized on the instruction set (std::vector's, the
  # reference's) are compiled here with this object's flags. Linked as they are, the linker would
  # keep one copy for all objects, possibly an AVX-512 one on a machine without it. Merge the object,
  # make every symbol but the table local to it, and drop its COMDAT groups (a group the host also
  # instantiates would otherwise be discarded from under the local references).
  set(localized ${CMAKE_CURRENT_BINARY_DIR}/quanta_dispatch_${isa}.o)
  add_custom_command(
    OUTPUT ${localized}
    COMMAND ${CMAKE_LINKER} -r $<TARGET_OBJECTS:${objects}> -o ${localized}.partial
    COMMAND ${CMAKE_OBJCOPY} --keep-global-symbol=quanta_dispatch_table_${isa} --remove-section=.group
            ${localized}.partial ${localized}
    DEPENDS ${objects} $<TARGET_OBJECTS:${objects}>
    COMMAND_EXPAND_LISTS VERBATIM)
  list(APPEND quanta_dispatch_objects ${localized})
endforeach()

add_library(quanta_dispatch STATIC ${quanta_dispatch_dir}/dispatch.cpp ${quanta_dispatch_objects})
add_library(quanta::dispatch ALIAS quanta_dispatch)
set_target_properties(quanta_dispatch PROPERTIES EXPORT_NAME dispatch CXX_STANDARD 17
                                                 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF
                                                 POSITION_INDEPENDENT_CODE ON)
target_link_libraries(quanta_dispatch PUBLIC quanta::quanta)
target_compile_options(quanta_dispatch PRIVATE ${quanta_dispatch_common_flags})
