# Builds and runs tests/consumer against quanta, either installed (find_package) or vendored
# (add_subdirectory). Invoked by ctest with -DMODE, -DSOURCE_DIR, -DBINARY_DIR, -DWORK_DIR, and
# quanta's build's -DCXX_COMPILER, [-DTOOLCHAIN_FILE] and [-DEMULATOR=program|arg|...]: a cross
# build's consumers are configured for its target and run through its emulator.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}")
  endif()
endfunction()

set(configure_args -S ${SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/build
    -DQUANTA_CONSUMER_MODE=${MODE} -DCMAKE_BUILD_TYPE=Release)
if(DEFINED CXX_COMPILER)
  list(APPEND configure_args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()
if(DEFINED TOOLCHAIN_FILE)
  list(APPEND configure_args -DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN_FILE})
endif()
string(REPLACE "|" ";" emulator "${EMULATOR}")
if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${WORK_DIR}/prefix)
  list(APPEND configure_args -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
else()
  list(APPEND configure_args -DQUANTA_SOURCE_DIR=${SOURCE_DIR})
endif()
run(${CMAKE_COMMAND} ${configure_args})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${emulator} ${WORK_DIR}/build/consumer)
if(EXISTS ${WORK_DIR}/build/consumer_dispatch)
  run(${emulator} ${WORK_DIR}/build/consumer_dispatch)
endif()
