# Run by CPack (CPACK_PRE_BUILD_SCRIPTS, set in cmake/Package.cmake) on the
# staging tree of the Debian package, after the install and before the
# .deb is made: adds what Debian policy asks of a package and an install
# from source does not need, and makes the tree look as dpkg expects
# whatever the umask of the build was.
#   usr/share/doc/csign/copyright     the license, in the machine-readable format
#   usr/share/doc/csign/changelog.gz  one entry for the packaged version
#   usr/share/man/**                  man pages compressed with gzip -9n
#   permissions                       directories 0755, files 0644 or 0755
if(NOT CPACK_GENERATOR STREQUAL "DEB")
  return()
endif()

set(stage ${CPACK_TEMPORARY_INSTALL_DIRECTORY}${CPACK_PACKAGING_INSTALL_PREFIX})
set(docdir ${stage}/${CPACK_CSIGN_DOCDIR})
set(mandir ${stage}/${CPACK_CSIGN_MANDIR})

find_program(GZIP gzip REQUIRED)
function(gzip_n file)
  # -n: no name and no time stamp in the header, so that the bytes depend
  # on the content only.
  execute_process(COMMAND ${GZIP} -9nf ${file} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip ${file} failed: ${rc}")
  endif()
endfunction()

file(MAKE_DIRECTORY ${docdir})
file(COPY_FILE ${CPACK_CSIGN_DEB_COPYRIGHT} ${docdir}/copyright)

# The date is now, or SOURCE_DATE_EPOCH (scripts/package.sh sets it to the
# time of the last commit) for a package built again from the same tree.
string(TIMESTAMP CSIGN_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(CSIGN_DEB_VERSION ${CPACK_PACKAGE_VERSION})
set(CSIGN_DEB_MAINTAINER ${CPACK_DEBIAN_PACKAGE_MAINTAINER})
configure_file(${CPACK_CSIGN_DEB_CHANGELOG_IN} ${docdir}/changelog @ONLY)
gzip_n(${docdir}/changelog)

if(EXISTS ${CPACK_CSIGN_DEB_OVERRIDES})
  file(MAKE_DIRECTORY ${stage}/share/lintian/overrides)
  file(COPY_FILE ${CPACK_CSIGN_DEB_OVERRIDES} ${stage}/share/lintian/overrides/csign)
endif()

# Man pages, if any were installed: Debian wants them compressed, and a
# link to a page then points at the compressed page.
file(GLOB_RECURSE pages LIST_DIRECTORIES false ${mandir}/*)
foreach(page ${pages})
  if(page MATCHES "\\.gz$")
    continue()
  endif()
  if(IS_SYMLINK ${page})
    file(READ_SYMLINK ${page} target)
    file(REMOVE ${page})
    file(CREATE_LINK ${target}.gz ${page}.gz SYMBOLIC)
  else()
    gzip_n(${page})
  endif()
endforeach()

file(GLOB_RECURSE entries LIST_DIRECTORIES true ${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*)
foreach(entry ${entries})
  if(IS_SYMLINK ${entry})
    continue()
  elseif(IS_DIRECTORY ${entry})
    file(CHMOD ${entry} PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
      GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  else()
    execute_process(COMMAND test -x ${entry} RESULT_VARIABLE not_executable)
    if(not_executable EQUAL 0)
      file(CHMOD ${entry} PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
        GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
    else()
      file(CHMOD ${entry} PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
    endif()
  endif()
endforeach()
