# Warnings and hardening for every target in the project.

add_compile_options(
  -Wall -Wextra -Wpedantic -Wformat=2 -Wformat-security -Wshadow
  -Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition
  -Wpointer-arith -Wwrite-strings -Wvla -Wnull-dereference
  -Wimplicit-fallthrough -Wundef
  -fstack-protector-strong -fstack-clash-protection -fno-common)
if(CSIGN_WERROR)
  add_compile_options(-Werror)
endif()

# Fortify needs optimisation, and conflicts with AddressSanitizer.
if(NOT CSIGN_SANITIZE AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
  add_compile_definitions(_FORTIFY_SOURCE=2)
endif()

include(CheckPIESupported)
check_pie_supported()
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
add_link_options(-Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack -Wl,--as-needed)

if(CSIGN_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
