# Run by pto_add_layer (PtoLayers.cmake): fails when a file of LAYER includes a header of a
# LATER layer. Arguments: LAYER, LATER (comma list), FILES ("|" list), STAMP (touched on success).
string(REPLACE "," ";" later "${LATER}")
string(REPLACE "|" ";" files "${FILES}")
set(problems "")
foreach(file IN LISTS files)
  file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
  foreach(line IN LISTS lines)
    foreach(layer IN LISTS later)
      if(line MATCHES "#[ \t]*include[ \t]*\"${layer}/")
        string(APPEND problems "\n  ${file}: ${line}")
      endif()
    endforeach()
  endforeach()
endforeach()
if(problems)
  message(FATAL_ERROR "the ${LAYER}/ layer includes headers of a later layer (${LATER}); layers may include only "
                      "their own and earlier layers' headers (core, dsl, schedulers, runtime, frontend: "
                      "docs/architecture.md):${problems}")
endif()
file(TOUCH "${STAMP}")
