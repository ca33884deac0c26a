# The LLDB test (cmake -P): installs the debugger support files (component memmgr_debuggers) into
# a fresh prefix, runs lldb in batch mode on gdb_subject (built with -g) with the formatters
# imported from that prefix, and checks the summary it prints for each value.
#
# -DBUILD_DIR= the build tree; -DWORK_DIR= a scratch folder; -DLLDB= lldb; -DSUBJECT= the program.
cmake_minimum_required(VERSION 3.30)

include("${CMAKE_CURRENT_LIST_DIR}/debugger_test.cmake")
memmgr_installed_debugger_script(lldb formatters lldb/memmgr_lldb.py LLDB)

# --no-lldbinit: the formatters come from the installed package and nowhere else.
execute_process(
    COMMAND "${CMAKE_COMMAND}" -E env LC_ALL=C.UTF-8
        "${LLDB}" --no-lldbinit --batch
        -o "command script import ${formatters}" -o "breakpoint set -n inspect_here" -o "run"
        -o "frame select 1"
        -o "frame variable text with_nul odd empty null view block numbers nothing task_allocator arena"
        -o "kill" "${SUBJECT}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}")
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "lldb test: lldb failed (${rc})\n${err}")
endif()

set(expected
    [[\(memmgr::bstr\) text = u"Café € 5" \(length 8\)]]
    [[\(memmgr::bstr\) with_nul = u"a\\0b" \(length 3\)]]
    [[\(memmgr::bstr\) odd = u"ab" \(length 2, 5 bytes\)]]
    [[\(memmgr::bstr\) empty = u"" \(length 0\)]]
    [[\(memmgr::bstr\) null = null \(length 0\)]]
    [[\(memmgr::bstr_view\) view = u"Café € 5" \(length 8\)]]
    [[block = 0x[0-9a-f]+ u"block"]]
    [[numbers = 0x[0-9a-f]+ {]]
    [[heap_ = 0x[0-9a-f]+ win32_heap \(owning, handle 0x[0-9a-f]+\)]]
    [[nothing = 0x0]]
    [[\(memmgr::com_heap\) task_allocator = com_heap \(stateless\)]]
    [[\(memmgr::win32_heap\) arena = win32_heap \(owning, handle 0x[0-9a-f]+\) {]]
    [[maximum_size = 1048576]])
set(failures "")
memmgr_expect_printed(failures "${out}" expected)
if(failures)
    message(FATAL_ERROR "lldb test: the printed values are not what the formatters should show:"
        "${failures}\n(lldb's stderr: ${err})")
endif()
message("memmgr lldb formatters: ok")
