# The layering rule: mains -> adapters -> pipeline -> core. A core library is plain C++ over
# plain structs, so it links nothing of gRPC, protobuf, prometheus-cpp or spdlog, directly or
# through another target, and its sources include none of their headers. Checked when the
# tree is configured; a violation stops the configure with the target and what it reached.

set(CCMON_CORE_FORBIDDEN_LINKS
  gRPC::grpc++ gRPC::grpc gRPC::grpc++_reflection protobuf::libprotobuf ccmon_proto
  prometheus-cpp::core prometheus-cpp::pull spdlog::spdlog)
set(CCMON_CORE_FORBIDDEN_INCLUDES
  "grpc/" "grpcpp/" "google/protobuf/" "prometheus/" "spdlog/" "ccmon/v1/" "ccmon/wire/")

# Every target `target` reaches through its link libraries, into *out.
function(_ccmon_reached target out)
  set(seen "")
  set(todo ${target})
  while(todo)
    list(POP_FRONT todo t)
    if(t IN_LIST seen OR NOT TARGET ${t})
      continue()
    endif()
    list(APPEND seen ${t})
    get_target_property(type ${t} TYPE)
    set(links "")
    if(NOT type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(direct ${t} LINK_LIBRARIES)
      if(direct)
        list(APPEND links ${direct})
      endif()
    endif()
    get_target_property(iface ${t} INTERFACE_LINK_LIBRARIES)
    if(iface)
      list(APPEND links ${iface})
    endif()
    foreach(l IN LISTS links)
      string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" l "${l}")
      list(APPEND todo ${l})
    endforeach()
  endwhile()
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

# Fails the configure when a core target reaches a forbidden package or includes its headers.
function(ccmon_check_core_layering)
  foreach(core IN LISTS ARGN)
    _ccmon_reached(${core} reached)
    foreach(bad IN LISTS CCMON_CORE_FORBIDDEN_LINKS)
      if(bad IN_LIST reached)
        message(FATAL_ERROR "layering: core library ${core} links ${bad} (core links nothing "
                            "of gRPC, protobuf, prometheus-cpp or spdlog; see cmake/CcmonLayering.cmake)")
      endif()
    endforeach()
    get_target_property(dir ${core} SOURCE_DIR)
    get_target_property(sources ${core} SOURCES)
    if(NOT sources)
      set(sources "")
    endif()
    file(GLOB core_headers ${dir}/src/core/*.h)  # private headers beside the sources
    foreach(src IN LISTS sources core_headers)
      cmake_path(ABSOLUTE_PATH src BASE_DIRECTORY ${dir} OUTPUT_VARIABLE path)
      file(STRINGS ${path} includes REGEX "^[ \t]*#[ \t]*include")
      foreach(line IN LISTS includes)
        foreach(prefix IN LISTS CCMON_CORE_FORBIDDEN_INCLUDES)
          string(FIND "${line}" "${prefix}" at)
          if(at GREATER -1)
            message(FATAL_ERROR "layering: ${path} (core library ${core}) has `${line}`: "
                                "core sources include no gRPC, protobuf, prometheus-cpp or "
                                "spdlog header")
          endif()
        endforeach()
      endforeach()
    endforeach()
  endforeach()
endfunction()
