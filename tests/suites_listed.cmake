# cmake -P: fails unless every top-level entry of the test executable EXE (--list_content) is one
# of the suites in SUITES, the list tests/CMakeLists.txt made one ctest test each.
execute_process(COMMAND ${EXE} --list_content RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${EXE} --list_content failed (${rc}): ${err}")
endif()
string(REPLACE "\n" ";" lines "${out}${err}")
set(count 0)
foreach(line IN LISTS lines)
    if(line MATCHES "^([A-Za-z_0-9]+)\\*?$")
        math(EXPR count "${count} + 1")
        if(NOT CMAKE_MATCH_1 IN_LIST SUITES)
            message(FATAL_ERROR "'${CMAKE_MATCH_1}' is a top-level entry of the test executable but "
                "no ctest test runs it: open it with BOOST_AUTO_TEST_SUITE(<name>) at the start of "
                "a line, inside a suite (tests/CMakeLists.txt)")
        endif()
    endif()
endforeach()
if(count EQUAL 0)
    message(FATAL_ERROR "no suite found in the output of ${EXE} --list_content")
endif()
message("all ${count} top-level suites have a ctest test")
