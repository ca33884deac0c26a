// The Windows SDK as the tests include it: windows.h without its rarely used parts and without
// its min/max macros, then the COM and OLE Automation headers (CoTaskMem*, StringFromCLSID,
// Sys*String, VARIANT), which need it first. Windows legs only.
#pragma once

#ifndef _WIN32
#error "tests/support/windows.hpp is for the Windows legs"
#endif

#define WIN32_LEAN_AND_MEAN
#ifndef NOMINMAX // libstdc++ for MinGW (os_defines.h, which Boost.Test brings) defines it already
#define NOMINMAX
#endif
#include <windows.h>
// after windows.h, which they need
#include <objbase.h>
#include <oleauto.h>
