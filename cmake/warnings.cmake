# Warnings every target of ours builds with; -Werror when KEYREVOKE_WERROR is on (cmake/build-modes.cmake:
# the `dev` and `ci` presets, and every build of tests/run_all.sh when CI=true).
function(keyrevoke_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
    -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
    # GCC 12 false positive on Asio's coroutine frames (awaitable_frame_base::operator delete).
    $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete>
    $<$<BOOL:${KEYREVOKE_WERROR}>:-Werror>)
endfunction()
