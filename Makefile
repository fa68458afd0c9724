# SPDX-License-Identifier: GPL-2.0
# Entry points for the series. 'make help' lists the targets.

STAGES := apply checkpatch static kerneldoc bisect kunit-uml kunit-arm64 qemu \
	harness board-jobs

.PHONY: all help deps prepare apply export mbox check kunit bench clean \
	distclean board-submit $(filter-out apply,$(STAGES))

## all: install deps, prepare the base tree, apply the series, run KUnit
all: deps prepare apply kunit

## help: list the targets
help:
	@sed -n 's/^## \([^:]*\): /  \1\t/p' $(MAKEFILE_LIST) | expand -t 16

## deps: install the Debian packages the tooling needs (as root)
deps:
	scripts/deps

## prepare: unpack the pinned base (ci/base.conf) into build/linux (tag base)
prepare:
	scripts/prepare

## apply: (re)create branch series in build/linux from patches/
apply: prepare
	scripts/apply

## export: regenerate patches/ and series from branch series
export:
	scripts/export

## mbox: write the series as one threaded mbox, build/series.mbox
mbox:
	scripts/mbox

## check: run all check stages (summary per stage, logs in build/logs/)
check:
	scripts/check

## kunit: run the KUnit suites on UML and on arm64 (QEMU)
kunit:
	scripts/check kunit-uml kunit-arm64

## bench: run the slow KUnit benchmark cases (UML; arm64-only suites on arm64), print bench: lines
bench:
	scripts/bench

## board-jobs: write the LAVA board jobs to build/board-jobs/, validate them
board-jobs:
	ci/board-jobs

## board-submit: submit the board jobs to LAVA_URL and map the results
board-submit:
	ci/board-submit

## checkpatch: checkpatch.pl --strict on every patch
## static: uAPI header test, coccicheck and Cc vs get_maintainer.pl
## kerneldoc: no new kernel-doc warnings in the touched files
## bisect: every prefix builds (arm64 W=1 C=1) without new warnings
## kunit-uml: the KUnit suites on UML
## kunit-arm64: the KUnit suites on arm64 under QEMU
## qemu: boot the series' kernel in QEMU: test modules, driver load loops, memory pressure, uAPI
## harness: the userspace scatterlist harness under ASan and UBSan
$(filter-out apply board-jobs,$(STAGES)):
	scripts/check $@

## clean: remove build outputs, keep build/linux and the ccache
clean:
	@if [ -d build ]; then \
		find build -mindepth 1 -maxdepth 1 ! -name linux ! -name ccache \
			-exec rm -rf {} +; \
	fi
	@if [ -d build/linux/.git ]; then git -C build/linux worktree prune; fi

## distclean: remove build/ entirely
distclean:
	rm -rf build
