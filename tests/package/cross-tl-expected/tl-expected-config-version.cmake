# The stand-in package (tl-expected-config.cmake) says it is tl-expected 1.0.0, the version Debian 12
# ships, and accepts any request for 1.x.
set(PACKAGE_VERSION 1.0.0)
if(PACKAGE_FIND_VERSION_MAJOR EQUAL 1)
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
    if(PACKAGE_FIND_VERSION VERSION_EQUAL PACKAGE_VERSION)
        set(PACKAGE_VERSION_EXACT TRUE)
    endif()
else()
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
endif()
