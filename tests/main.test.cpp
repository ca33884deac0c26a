// The test module's entry point. Boost.Test is linked on Linux and compiled in (header-only) on the
// Windows leg, where Debian's Boost libraries cannot link; every other test file includes
// <boost/test/unit_test.hpp> alone.
#define BOOST_TEST_MODULE memmgr
#if MEMMGR_TEST_HEADER_ONLY
#include <boost/test/included/unit_test.hpp>
#else
#include <boost/test/unit_test.hpp>
#endif
