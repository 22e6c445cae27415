# The layers, in link order. pto_add_layer(<folder> SOURCES ... [DEPENDS <layer>...]) makes
# the static library pto_<folder> from the folder's sources, links it to the layer before it,
# and checks at build time (PtoCheckLayer.cmake) that none of the folder's files includes a
# header of a later layer ("dsl" including "runtime/..." fails the build, naming the line).
set(PTO_LAYERS core dsl schedulers runtime frontend)

function(pto_add_layer folder)
  cmake_parse_arguments(arg "" "" "SOURCES" ${ARGN})
  set(target pto_${folder})
  add_library(${target} STATIC ${arg_SOURCES})
  target_include_directories(${target} PUBLIC "${PROJECT_SOURCE_DIR}")
  pto_set_warnings(${target})
  list(FIND PTO_LAYERS ${folder} position)
  if(position GREATER 0)
    math(EXPR previous "${position} - 1")
    list(GET PTO_LAYERS ${previous} below)
    target_link_libraries(${target} PUBLIC pto_${below})
  endif()
  # Layers after this one: their headers must not appear in this folder's includes.
  math(EXPR next "${position} + 1")
  list(LENGTH PTO_LAYERS count)
  set(later "")
  if(next LESS count)
    list(SUBLIST PTO_LAYERS ${next} -1 later)
  endif()
  file(GLOB_RECURSE files CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/${folder}/*.hpp" "${PROJECT_SOURCE_DIR}/${folder}/*.cpp"
       "${PROJECT_SOURCE_DIR}/${folder}/*.in")
  set(stamp "${CMAKE_CURRENT_BINARY_DIR}/${target}.layers-checked")
  string(REPLACE ";" "," later_list "${later}")
  string(REPLACE ";" "|" file_list "${files}")
  add_custom_command(
    OUTPUT "${stamp}"
    COMMAND ${CMAKE_COMMAND} "-DLAYER=${folder}" "-DLATER=${later_list}" "-DFILES=${file_list}" "-DSTAMP=${stamp}"
            -P "${PROJECT_SOURCE_DIR}/cmake/PtoCheckLayer.cmake"
    DEPENDS ${files} "${PROJECT_SOURCE_DIR}/cmake/PtoCheckLayer.cmake"
    COMMENT "Checking that ${folder}/ includes no later layer (${later})"
    VERBATIM)
  add_custom_target(${target}_layer_check DEPENDS "${stamp}")
  add_dependencies(${target} ${target}_layer_check)
endfunction()
