# cmake -DBINARY=path -DREADELF=readelf -P check_not_linked_to_libcuda.cmake
# Fails if BINARY's dynamic section needs libcuda (it must be dlopen'd at run time).
execute_process(COMMAND "${READELF}" -d "${BINARY}" RESULT_VARIABLE code OUTPUT_VARIABLE dynamic ERROR_VARIABLE error)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "readelf failed on ${BINARY}: ${error}")
endif()
if(NOT "${dynamic}" MATCHES "NEEDED")
  message(FATAL_ERROR "readelf printed no NEEDED entries for ${BINARY}: is it a dynamic executable?")
endif()
if("${dynamic}" MATCHES "NEEDED[^\n]*libcuda\\.so")
  message(FATAL_ERROR "${BINARY} links libcuda; it must be loaded with dlopen (runtime/cuda/driver.hpp)")
endif()
message("${BINARY}: no libcuda among its NEEDED libraries")
