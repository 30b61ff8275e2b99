#!/bin/sh
# What help2man reads (cmake/packaging.cmake): keyrevoke's --help without its usage line (the page's
# SYNOPSIS comes from the include file) and without its exit codes (the include file's EXIT STATUS, as a
# table help2man cannot make of them). KEYREVOKE_MAN_BIN is the binary, KEYREVOKE_MAN_COMMAND the
# subcommand (empty, list, report).
# shellcheck disable=SC2086  # the subcommand is one word or none
"${KEYREVOKE_MAN_BIN:?}" ${KEYREVOKE_MAN_COMMAND:-} "$@" | sed -e '/^usage:/d' -e '/^Exit codes/,$d'
