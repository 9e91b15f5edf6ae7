# Links the third-party libraries that have a static archive (gRPC, protobuf, absl, re2,
# c-ares, upb, yaml-cpp, libyaml, Boost.JSON, zlib, SQLite, OpenSSL) statically, so that every `cenv`
# command does not pay for loading and relocating ~50 shared libraries at start-up
# (BENCHMARKS.md: `cenv version --client` costs 13 ms of CPU with them, 5 ms without).
# OpenSSL's shared libraries are built with BIND_NOW: ~4,900 symbol lookups at every start
# (static: `version --client` 3.6 -> 2.7 ms of CPU). spdlog and fmt have no archives here.
# libpq is not linked at all: PostgresStore dlopens it (controller/store/libpq.h), and it
# brings its own shared OpenSSL, separate from ours since cenv exports no OpenSSL symbol.
#
# Works on the imported targets that find_package() created in the calling directory: each
# IMPORTED_LOCATION* naming lib<name>.so[.<version>] is pointed at lib<name>.a when that file
# sits beside it. Off with -DCENV_STATIC_DEPS=OFF.

option(CENV_STATIC_DEPS "Link third-party libraries statically where archives exist" ON)

function(cenv_use_static_archives)
  if(NOT CENV_STATIC_DEPS)
    return()
  endif()
  get_directory_property(imported IMPORTED_TARGETS)
  set(keep_shared pq spdlog fmt)
  set(count 0)
  foreach(target IN LISTS imported)
    get_target_property(type ${target} TYPE)
    if(NOT type STREQUAL "SHARED_LIBRARY" AND NOT type STREQUAL "UNKNOWN_LIBRARY")
      continue()
    endif()
    get_target_property(configs ${target} IMPORTED_CONFIGURATIONS)
    set(props IMPORTED_LOCATION)
    if(configs)
      foreach(c IN LISTS configs)
        string(TOUPPER "${c}" c)
        list(APPEND props IMPORTED_LOCATION_${c})
      endforeach()
    endif()
    foreach(prop IN LISTS props)
      get_target_property(location ${target} ${prop})
      if(NOT location OR NOT location MATCHES "/lib([^/]+)\\.so(\\.[0-9.]+)?$")
        continue()
      endif()
      set(name "${CMAKE_MATCH_1}")
      if(name IN_LIST keep_shared)
        continue()
      endif()
      string(REGEX REPLACE "\\.so(\\.[0-9.]+)?$" ".a" archive "${location}")
      if(EXISTS "${archive}")
        set_target_properties(${target} PROPERTIES ${prop} "${archive}")
        # Archives that depend on each other in a cycle are listed again after their users.
        set_property(TARGET ${target} PROPERTY IMPORTED_LINK_INTERFACE_MULTIPLICITY 3)
        math(EXPR count "${count} + 1")
      endif()
    endforeach()
  endforeach()
  message(STATUS "cenv: linking ${count} third-party libraries statically (CENV_STATIC_DEPS)")
endfunction()

cenv_use_static_archives()
