# Writes ${OUT} from version.cc.in with the current git commit, at build time, and touches it
# only when the commit changed, so that a new commit recompiles one file and relinks.
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SRC_DIR}
                OUTPUT_VARIABLE CENV_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT CENV_GIT_COMMIT)
  set(CENV_GIT_COMMIT "unknown")
endif()
configure_file(${SRC_DIR}/api/version.cc.in ${OUT}.tmp @ONLY)
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
file(REMOVE ${OUT}.tmp)
