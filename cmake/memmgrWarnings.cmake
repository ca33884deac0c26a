# Warnings for memmgr's own targets: strict, as errors, and PRIVATE so that they never reach a
# consumer's compile line.
include_guard(GLOBAL)

function(memmgr_enable_warnings target)
    target_compile_options(${target} PRIVATE
        -Wall -Wextra -Wpedantic -Werror
        -Wconversion -Wsign-conversion -Wshadow -Wnon-virtual-dtor -Wold-style-cast
        -Wimplicit-fallthrough)
endfunction()
