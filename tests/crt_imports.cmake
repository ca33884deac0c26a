# memmgr.tests.crt_imports (cmake -P): the Windows legs link the C runtime they claim to. Reads the
# import table of EXE with OBJDUMP (-p, the "DLL Name" lines) and fails unless, for CRT=ucrt, it
# imports api-ms-win-crt-*.dll and not msvcrt.dll, or, for CRT=msvcrt, msvcrt.dll and no
# api-ms-win-crt-*.dll.
cmake_minimum_required(VERSION 3.30)

foreach(var EXE OBJDUMP CRT)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "crt_imports.cmake: ${var} is not set")
    endif()
endforeach()

execute_process(COMMAND "${OBJDUMP}" -p "${EXE}" RESULT_VARIABLE rc OUTPUT_VARIABLE out
    ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "crt_imports: ${OBJDUMP} -p failed (${rc}): ${err}")
endif()
string(REGEX MATCHALL "DLL Name: [^\n]*" dlls "${out}")
string(TOLOWER "${dlls}" dlls)
string(FIND "${dlls}" "msvcrt.dll" msvcrt)
string(FIND "${dlls}" "api-ms-win-crt-" ucrt)

if(CRT STREQUAL "ucrt")
    set(ok FALSE)
    if(ucrt GREATER -1 AND msvcrt EQUAL -1)
        set(ok TRUE)
    endif()
elseif(CRT STREQUAL "msvcrt")
    set(ok FALSE)
    if(msvcrt GREATER -1 AND ucrt EQUAL -1)
        set(ok TRUE)
    endif()
else()
    message(FATAL_ERROR "crt_imports: CRT must be ucrt or msvcrt, not '${CRT}'")
endif()
if(NOT ok)
    message(FATAL_ERROR "crt_imports: ${EXE} does not import the ${CRT} C runtime alone: ${dlls}")
endif()
message("crt_imports: ${CRT} as expected: ${dlls}")
