# The install tree and the Debian package (README, Install).
#   bin/keyrevoke                                      the command
#   libexec/keyrevoke/keyrevoke-mock                   the mock server: for drills and tests, not a user command
#   share/man/man1/keyrevoke{,-list,-report}.1.gz      man pages: keyrevoke(1) and keyrevoke-list(1) by
#                                                      help2man from --help plus src/dist/*.h2m, keyrevoke-report(1)
#                                                      written by hand (src/dist/keyrevoke-report.1)
#   share/bash-completion/completions/keyrevoke        bash completion
#   share/zsh/vendor-completions/_keyrevoke            zsh completion (Debian's vendor directory)
#   share/doc/keyrevoke/{README.md,LICENSE,copyright}  docs (copyright: Debian's name for the license)
# `cpack -G DEB` in the build directory makes keyrevoke_<version>_<arch>.deb, its Depends from dpkg-shlibdeps.
include(GNUInstallDirs)

set(KEYREVOKE_DIST ${PROJECT_SOURCE_DIR}/src/dist)
set(KEYREVOKE_MAN_DIR ${PROJECT_BINARY_DIR}/man)

install(TARGETS keyrevoke RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS keyrevoke-mock RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/keyrevoke)

# Man pages, gzipped (-n: no name or time stamp in the archive, so the page is reproducible).
find_program(KEYREVOKE_HELP2MAN help2man)
find_program(KEYREVOKE_GZIP gzip)
if(NOT KEYREVOKE_GZIP)
  message(WARNING "gzip not found: no man pages are built or installed")
else()
  set(pages)
  if(KEYREVOKE_HELP2MAN)
    # page;subcommand;include file
    foreach(page IN ITEMS "keyrevoke;;keyrevoke.h2m" "keyrevoke-list;list;keyrevoke-list.h2m")
      list(GET page 0 name)
      list(GET page 1 command)
      list(GET page 2 include)
      add_custom_command(OUTPUT ${KEYREVOKE_MAN_DIR}/${name}.1
        COMMAND ${CMAKE_COMMAND} -E make_directory ${KEYREVOKE_MAN_DIR}
        COMMAND ${CMAKE_COMMAND} -E env KEYREVOKE_MAN_BIN=$<TARGET_FILE:keyrevoke> KEYREVOKE_MAN_COMMAND=${command}
                ${KEYREVOKE_HELP2MAN} --no-info --section 1
                --version-string "${name} ${PROJECT_VERSION}" --include ${KEYREVOKE_DIST}/${include}
                --output ${KEYREVOKE_MAN_DIR}/${name}.1 ${KEYREVOKE_DIST}/help2man-view.sh
        DEPENDS keyrevoke ${KEYREVOKE_DIST}/${include} ${KEYREVOKE_DIST}/help2man-view.sh
        COMMENT "help2man: ${name}(1)" VERBATIM)
      list(APPEND pages ${name})
    endforeach()
  else()
    message(WARNING "help2man not found (cmake/install-deps.sh installs it): keyrevoke(1) and "
                    "keyrevoke-list(1) are not built or installed")
  endif()
  configure_file(${KEYREVOKE_DIST}/keyrevoke-report.1 ${KEYREVOKE_MAN_DIR}/keyrevoke-report.1 COPYONLY)
  list(APPEND pages keyrevoke-report)
  set(gzipped)
  foreach(name IN LISTS pages)
    add_custom_command(OUTPUT ${KEYREVOKE_MAN_DIR}/${name}.1.gz
      COMMAND ${KEYREVOKE_GZIP} -n -9 -f -k ${KEYREVOKE_MAN_DIR}/${name}.1
      DEPENDS ${KEYREVOKE_MAN_DIR}/${name}.1
      COMMENT "gzip ${name}.1" VERBATIM)
    list(APPEND gzipped ${KEYREVOKE_MAN_DIR}/${name}.1.gz)
  endforeach()
  add_custom_target(man ALL DEPENDS ${gzipped})
  install(FILES ${gzipped} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

install(FILES ${KEYREVOKE_DIST}/completion/keyrevoke.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME keyrevoke)
install(FILES ${KEYREVOKE_DIST}/completion/_keyrevoke DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME copyright)

# The Debian package.
set(CPACK_PACKAGE_NAME keyrevoke)
set(CPACK_PACKAGE_VENDOR "keyrevoke")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "bulk revocation of ModelGates API keys")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "keyrevoke maintainers <keyrevoke@example.invalid>")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_FILE_NAME "${CPACK_PACKAGE_NAME}_${PROJECT_VERSION}")  # + _<arch> below
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # keyrevoke_<version>_<arch>.deb, Debian's naming
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "keyrevoke maintainers <keyrevoke@example.invalid>")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.invalid/keyrevoke")
# The extended description (CPack writes the summary line above it and indents each line).
set(CPACK_PACKAGE_DESCRIPTION
  "keyrevoke deletes, disables or enables ModelGates API keys by hash, at the
rate the server allows, and writes a per-hash report that claims only what
the server has shown. It resumes interrupted runs, lists keys by filters,
and merges reports. A mock server for drills is in /usr/libexec/keyrevoke.")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends: from dpkg-shlibdeps (dpkg-dev)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
include(CPack)
