# The gdb test (cmake -P): installs the debugger support files (component memmgr_debuggers) into a
# fresh prefix, runs gdb in batch mode on gdb_subject (built with -g) with the printers sourced
# from that prefix, and checks what it prints for each value.
#
# -DBUILD_DIR= the build tree; -DWORK_DIR= a scratch folder; -DGDB= gdb; -DSUBJECT= the program.
cmake_minimum_required(VERSION 3.30)

include("${CMAKE_CURRENT_LIST_DIR}/debugger_test.cmake")
memmgr_installed_debugger_script(gdb printers gdb/memmgr_printers.py GDB)

# -nx: no ~/.gdbinit; the printers come from the installed package and nowhere else. Sourced
# twice: the second time must replace the first, not add a second set.
set(values text with_nul odd empty null view block numbers nothing task_allocator arena)
set(commands -ex "source ${printers}" -ex "source ${printers}" -ex "set width 0"
    -ex "set print pretty off" -ex "break inspect_here" -ex "run" -ex "up")
foreach(v IN LISTS values)
    list(APPEND commands -ex "print ${v}")
endforeach()
list(APPEND commands -ex "info pretty-printer" -ex "kill")
execute_process(
    COMMAND "${CMAKE_COMMAND}" -E env LC_ALL=C.UTF-8
        "${GDB}" -nx -batch ${commands} "${SUBJECT}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}")
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gdb test: gdb failed (${rc})\n${err}")
endif()

# One expectation per value: gdb numbers its prints $1, $2, ... in the order of `values`.
set(expected
    [[\$1 = u"Café € 5" \(length 8\)]]
    [[\$2 = u"a\\0b" \(length 3\)]]
    [[\$3 = u"ab" \(length 2, 5 bytes\)]]
    [[\$4 = u"" \(length 0\)]]
    [[\$5 = null \(length 0\)]]
    [[\$6 = u"Café € 5" \(length 8\)]]
    [[\$7 = 0x[0-9a-f]+ u"block"]]
    [[\$8 = 0x[0-9a-f]+ = {heap = win32_heap \(owning, handle 0x[0-9a-f]+\) = {initial_size = 0, maximum_size = 1048576, serialize = false, terminate_on_corruption = false, decommit_threshold = 65536, decommit_total_threshold = 1048576}}]]
    [[\$9 = 0x0]]
    [[\$10 = com_heap \(stateless\)]]
    [[\$11 = win32_heap \(owning, handle 0x[0-9a-f]+\) = {initial_size = 0, maximum_size = 1048576]])
set(failures "")
memmgr_expect_printed(failures "${out}" expected)
# The printers were replaced, not registered twice.
string(REGEX MATCHALL "\n  memmgr\n" sets "${out}")
list(LENGTH sets count)
if(NOT count EQUAL 1)
    string(APPEND failures "\n  one set of memmgr printers registered (found ${count})")
endif()
if(failures)
    message(FATAL_ERROR "gdb test: the printed values are not what the printers should show:"
        "${failures}\n(gdb's stderr: ${err})")
endif()
message("memmgr gdb printers: ok")
