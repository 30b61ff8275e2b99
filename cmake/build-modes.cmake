# Build modes the presets compose (CMakePresets.json `inherits`), each a cache variable rather than a
# CMAKE_CXX_FLAGS string, so that combining two presets adds their flags instead of one replacing the
# other (cmake-init keeps warnings and sanitizers in presets the same way).
#   KEYREVOKE_WERROR=ON          warnings are errors (the `dev` and `ci` presets; run_all.sh when CI=true)
#   KEYREVOKE_SANITIZE=<list>    -fsanitize=<list> on every target, UBSan reports fatal
#   KEYREVOKE_COVERAGE=ON        gcc --coverage at -O0 (the `coverage` preset; gcovr reads the .gcda files)
option(KEYREVOKE_WERROR "Treat warnings as errors" OFF)
set(KEYREVOKE_SANITIZE "" CACHE STRING "Comma-separated -fsanitize= list, e.g. address,undefined")
option(KEYREVOKE_COVERAGE "Instrument for line and branch coverage (gcc --coverage)" OFF)

if(KEYREVOKE_SANITIZE)
  add_compile_options(-fsanitize=${KEYREVOKE_SANITIZE} -fno-omit-frame-pointer)
  if(KEYREVOKE_SANITIZE MATCHES "undefined")
    # A UBSan report stops the process (a non-zero exit the test or libFuzzer sees) instead of a line
    # in a log nobody reads.
    add_compile_options(-fno-sanitize-recover=undefined)
    if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
      # clang 14's function-type check misfires on calls through libFuzzer's and Boost's C-style
      # function pointers (not a keyrevoke defect).
      add_compile_options(-fno-sanitize=function)
    endif()
  endif()
  # fuzzer-no-link is a compile-only instrumentation; the fuzz targets link -fsanitize=fuzzer themselves.
  string(REPLACE "fuzzer-no-link," "" link_sanitizers "${KEYREVOKE_SANITIZE}")
  string(REPLACE "fuzzer-no-link" "" link_sanitizers "${link_sanitizers}")
  if(link_sanitizers)
    add_link_options(-fsanitize=${link_sanitizers})
  endif()
endif()

if(KEYREVOKE_COVERAGE)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    message(FATAL_ERROR "KEYREVOKE_COVERAGE needs gcc (gcov data for gcovr)")
  endif()
  # -fprofile-update=atomic: the client and the mock count from several threads; racy counters go
  # negative and gcovr then drops the whole file.
  add_compile_options(--coverage -O0 -fprofile-update=atomic)
  add_link_options(--coverage -fprofile-update=atomic)
endif()
