# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# Shared by the scripts that run on the board (LAVA test shell, POSIX sh):
# source it.

# report NAME RESULT: one LAVA test case (pass, fail, skip); outside LAVA, a
# 'result: NAME RESULT' line.
report() {
	if command -v lava-test-case >/dev/null 2>&1; then
		lava-test-case "$1" --result "$2"
	else
		echo "result: $1 $2"
	fi
}
