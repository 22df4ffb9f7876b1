# Shell completion files (completion/, docs/completion.md), installed where
# bash-completion, zsh and fish look for them under the install prefix.
include(GNUInstallDirs)

# bash: the folder bash-completion's pkg-config file names, when it lies under
# this prefix's datadir (a /usr install); else the same layout under our own
# datadir, which bash-completion also searches (XDG_DATA_DIRS).
set(_csign_bash_dir ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_get_variable(_csign_bash_pc bash-completion completionsdir)
  string(LENGTH "${CMAKE_INSTALL_FULL_DATADIR}/" _csign_len)
  string(SUBSTRING "${_csign_bash_pc}" 0 ${_csign_len} _csign_head)
  if(_csign_head STREQUAL "${CMAKE_INSTALL_FULL_DATADIR}/")
    string(SUBSTRING "${_csign_bash_pc}" ${_csign_len} -1 _csign_tail)
    set(_csign_bash_dir ${CMAKE_INSTALL_DATADIR}/${_csign_tail})
  endif()
endif()
set(CSIGN_BASH_COMPLETION_DIR ${_csign_bash_dir} CACHE STRING
    "Where the bash completion file goes (relative to the install prefix)")
set(CSIGN_ZSH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions CACHE STRING
    "Where the zsh completion file goes (relative to the install prefix)")
set(CSIGN_FISH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d CACHE STRING
    "Where the fish completion file goes (relative to the install prefix)")

install(FILES ${CMAKE_SOURCE_DIR}/completion/csign.bash
  DESTINATION ${CSIGN_BASH_COMPLETION_DIR} RENAME csign)
install(FILES ${CMAKE_SOURCE_DIR}/completion/_csign
  DESTINATION ${CSIGN_ZSH_COMPLETION_DIR})
install(FILES ${CMAKE_SOURCE_DIR}/completion/csign.fish
  DESTINATION ${CSIGN_FISH_COMPLETION_DIR})
