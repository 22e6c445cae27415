# cmake -DCOMMAND="prog;arg;..." -DEXPECT_EXIT=N -DEXPECT_REGEX=R -P run_and_match.cmake
# Runs COMMAND; fails unless it exits with EXPECT_EXIT and its stdout+stderr match EXPECT_REGEX.
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE exit_code OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(NOT "${exit_code}" STREQUAL "${EXPECT_EXIT}")
  message(FATAL_ERROR "expected exit code ${EXPECT_EXIT}, got ${exit_code}")
endif()
string(REGEX MATCH "${EXPECT_REGEX}" matched "${out}")
if(matched STREQUAL "")
  message(FATAL_ERROR "output does not match: ${EXPECT_REGEX}")
endif()
