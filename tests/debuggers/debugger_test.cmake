# What the debugger tests (gdb_printers.cmake, lldb_formatters.cmake; cmake -P) share: their
# arguments, the installed package they load their scripts from, and the comparison of what the
# debugger printed with what it should have.

# \effects fails unless BUILD_DIR, WORK_DIR, SUBJECT and the variables named after `test` are set;
# installs the debugger support files (component memmgr_debuggers) from BUILD_DIR into a fresh
# prefix under WORK_DIR; sets `out` to the installed share/memmgr/<relative> (fails if absent).
function(memmgr_installed_debugger_script test out relative)
    foreach(var BUILD_DIR WORK_DIR SUBJECT ${ARGN})
        if(NOT DEFINED ${var})
            message(FATAL_ERROR "${test} test: ${var} is not set")
        endif()
    endforeach()
    set(prefix "${WORK_DIR}/prefix")
    file(REMOVE_RECURSE "${WORK_DIR}")
    execute_process(
        COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --component memmgr_debuggers
            --prefix "${prefix}"
        RESULT_VARIABLE rc OUTPUT_VARIABLE install_out ERROR_VARIABLE install_err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${test} test: installing the debugger files failed (${rc})\n"
            "${install_out}\n${install_err}")
    endif()
    file(GLOB_RECURSE found "${prefix}/*/memmgr/${relative}")
    if(NOT found)
        message(FATAL_ERROR "${test} test: the package has no share/memmgr/${relative}")
    endif()
    set(${out} "${found}" PARENT_SCOPE)
endfunction()

# \effects appends to the variable named by `failures_var` a line for each regex of the list named
# by `patterns_var` that the debugger's output `printed` does not match. (The parameters are
# variable names, unlike the callers' variables, which a function's own parameters would hide.)
function(memmgr_expect_printed failures_var printed patterns_var)
    set(missing "${${failures_var}}")
    foreach(pattern IN LISTS ${patterns_var})
        if(NOT printed MATCHES "${pattern}")
            string(APPEND missing "\n  expected: ${pattern}")
        endif()
    endforeach()
    set(${failures_var} "${missing}" PARENT_SCOPE)
endfunction()
