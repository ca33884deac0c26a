# The packaging test (cmake -P). Installs memmgr from MEMMGR_BUILD_DIR into a fresh prefix, then
# configures, builds and runs tests/package/consumer against it with the same toolchain file and
# nothing else: no CMAKE_CXX_EXTENSIONS, no extra flags.
cmake_minimum_required(VERSION 3.30)

foreach(var MEMMGR_BUILD_DIR WORK_DIR CONSUMER_SOURCE_DIR GENERATOR)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "check.cmake: ${var} is not set")
    endif()
endforeach()

function(run what)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "package test: ${what} failed (${rc})\n${out}\n${err}")
    endif()
    set(last_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix "${WORK_DIR}/prefix")
set(build "${WORK_DIR}/consumer-build")
file(REMOVE_RECURSE "${WORK_DIR}")

run("install" "${CMAKE_COMMAND}" --install "${MEMMGR_BUILD_DIR}" --prefix "${prefix}")

set(configure "${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE_DIR}" -B "${build}" -G "${GENERATOR}")
if(MAKE_PROGRAM)
    list(APPEND configure "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(TOOLCHAIN_FILE)
    list(APPEND configure "-DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN_FILE}")
endif()
if(BUILD_TYPE)
    list(APPEND configure "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
endif()
if(CROSSCOMPILING)
    # A cross toolchain re-roots package searches under its sysroot; point at the package itself.
    # The installed config finds tl-expected with find_dependency, as a real Windows consumer's
    # would from its package manager; here a stand-in package (cross-tl-expected/) gives it the
    # host's header-only library without adding /usr/include to a Windows compile.
    list(APPEND configure "-Dmemmgr_DIR=${prefix}/lib/cmake/memmgr"
        "-Dtl-expected_DIR=${CMAKE_CURRENT_LIST_DIR}/cross-tl-expected")
else()
    list(APPEND configure "-DCMAKE_PREFIX_PATH=${prefix}")
endif()
run("configure the consumer" ${configure})
run("build the consumer" "${CMAKE_COMMAND}" --build "${build}")

file(GLOB exe "${build}/memmgr_consumer" "${build}/memmgr_consumer.exe")
if(NOT exe)
    message(FATAL_ERROR "package test: the consumer executable was not built")
endif()
run("run the consumer" ${EMULATOR} ${exe})
message("${last_output}")
