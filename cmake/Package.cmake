# Where `cmake --install` puts csign's files, and the Debian package CPack
# makes of them (scripts/package.sh; docs/install.md).
#
# The package is the install tree: whatever is installed (the binary, the
# docs, man pages, shell completion) goes into the .deb. What only a Debian
# package needs (copyright, changelog.gz, compressed man pages) is added to
# the package's staging tree by cmake/DebStage.cmake, so that an install
# from source under a prefix carries no Debian files.

include(GNUInstallDirs)

# The docs keep their tree: README.md's links point into docs/.
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/LICENSE
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB CSIGN_DOC_PAGES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${CSIGN_DOC_PAGES} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
if(IS_DIRECTORY ${CMAKE_SOURCE_DIR}/docs/json)
  install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/json DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
endif()

set(CSIGN_PACKAGE_MAINTAINER "csign maintainers <maintainers@csign.invalid>" CACHE STRING
  "Maintainer field of the Debian package: Name <email>")
set(CSIGN_PACKAGE_HOMEPAGE "https://csign.invalid/" CACHE STRING
  "Homepage field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME csign)
# One version: project(csign VERSION ...), which `csign --version` prints.
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${CSIGN_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_HOMEPAGE_URL "${CSIGN_PACKAGE_HOMEPAGE}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "sign and verify files with keys on a PKCS#11 token")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CHECKSUM SHA256)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CSIGN_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${CSIGN_PACKAGE_HOMEPAGE}")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The extended description; CPack puts the summary line before it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "csign signs and verifies files with keys that never leave a hardware
security module, smart card or other PKCS#11 token. Signatures are
detached CMS (PKCS#7), so that openssl cms verifies them too, with
optional RFC 3161 timestamps. It comes with a built-in software token
(SoftHSM) to try it without hardware.")
execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE CSIGN_DEB_ARCH
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE CSIGN_DEB_ARCH_RC)
if(CSIGN_DEB_ARCH_RC EQUAL 0 AND CSIGN_DEB_ARCH)
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${CSIGN_DEB_ARCH})
endif()
# The libraries csign links come from dpkg-shlibdeps. Loaded at run time
# with dlopen, so invisible to it: libcurl.so.4 (timestamps,
# src/sys/http.c) and p11-kit-client.so (remote tokens). SoftHSM is the
# built-in default token, useful but not needed with another module.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libcurl4, p11-kit-modules")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "softhsm2")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)

set(CSIGN_DEB_CHANGELOG_IN ${CMAKE_SOURCE_DIR}/packaging/debian/changelog.in)
set(CSIGN_DEB_COPYRIGHT ${CMAKE_SOURCE_DIR}/packaging/debian/copyright)
set(CSIGN_DEB_OVERRIDES ${CMAKE_SOURCE_DIR}/packaging/debian/lintian-overrides)
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_SOURCE_DIR}/cmake/DebStage.cmake)
# Passed on to DebStage.cmake through CPackConfig.cmake.
set(CPACK_CSIGN_DEB_CHANGELOG_IN ${CSIGN_DEB_CHANGELOG_IN})
set(CPACK_CSIGN_DEB_COPYRIGHT ${CSIGN_DEB_COPYRIGHT})
set(CPACK_CSIGN_DEB_OVERRIDES ${CSIGN_DEB_OVERRIDES})
set(CPACK_CSIGN_DOCDIR ${CMAKE_INSTALL_DOCDIR})
set(CPACK_CSIGN_MANDIR ${CMAKE_INSTALL_MANDIR})

include(CPack)
