# Man pages: docs/man/*.N.scd are turned into roff by scdoc at build time
# (into ${CMAKE_BINARY_DIR}/man/, part of `all`) and installed under
# ${CMAKE_INSTALL_MANDIR}/manN. Without scdoc the build goes on without
# them, and tests/cli/test_man.sh fails saying what to install.
include(GNUInstallDirs)

find_program(SCDOC_EXECUTABLE scdoc)
file(GLOB CSIGN_MAN_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/man/*.scd)

if(NOT SCDOC_EXECUTABLE)
  message(WARNING "scdoc not found: the man pages (docs/man) are not built or installed, "
    "and the test cli_test_man fails. Install it with scripts/install-deps.sh "
    "(Debian package scdoc), then run cmake again.")
else()
  set(CSIGN_MAN_DIR ${CMAKE_BINARY_DIR}/man)
  file(MAKE_DIRECTORY ${CSIGN_MAN_DIR})
  set(CSIGN_MAN_PAGES)
  foreach(src ${CSIGN_MAN_SOURCES})
    get_filename_component(name ${src} NAME)
    string(REGEX REPLACE "\\.scd$" "" page ${name})
    string(REGEX MATCH "[0-9]$" section ${page})
    set(out ${CSIGN_MAN_DIR}/${page})
    add_custom_command(OUTPUT ${out}
      COMMAND ${SCDOC_EXECUTABLE} < ${src} > ${out}.tmp
      COMMAND ${CMAKE_COMMAND} -E rename ${out}.tmp ${out}
      DEPENDS ${src}
      COMMENT "Generating man page ${page}"
      VERBATIM)
    list(APPEND CSIGN_MAN_PAGES ${out})
    install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  endforeach()
  add_custom_target(csign-man ALL DEPENDS ${CSIGN_MAN_PAGES})
endif()
