# Runs the quanta tool once and checks its exit status, stdout and stderr.
#   -DTOOL=path -DARGS=a|b|c -DWORK_DIR=dir -DEXPECT_EXIT=n [-DEXPECT_STDOUT=regex] [-DEXPECT_STDERR=regex]
#   [-DEMULATOR=program|arg|...]: runs the tool through it (CMAKE_CROSSCOMPILING_EMULATOR)
string(REPLACE "|" ";" args "${ARGS}")
string(REPLACE "|" ";" emulator "${EMULATOR}")
execute_process(COMMAND ${emulator} ${TOOL} ${args} WORKING_DIRECTORY ${WORK_DIR}
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(shown "quanta ${args}\n-- exit status ${status}\n-- stdout:\n${out}\n-- stderr:\n${err}")
if(NOT status STREQUAL EXPECT_EXIT)
  message(FATAL_ERROR "expected exit status ${EXPECT_EXIT}\n${shown}")
endif()
if(DEFINED EXPECT_STDOUT AND NOT out MATCHES "${EXPECT_STDOUT}")
  message(FATAL_ERROR "stdout does not match \"${EXPECT_STDOUT}\"\n${shown}")
endif()
if(DEFINED EXPECT_STDERR AND NOT err MATCHES "${EXPECT_STDERR}")
  message(FATAL_ERROR "stderr does not match \"${EXPECT_STDERR}\"\n${shown}")
endif()
