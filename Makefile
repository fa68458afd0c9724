# SPDX-License-Identifier: GPL-2.0
# Entry points for the series. 'make help' lists the targets.

# The check stages: one list, ci/stages (scripts/check reads it too).
# 'make NAME' runs the stage NAME (scripts/check NAME).
STAGES := $(shell sed -n 's/^\([a-z][a-z0-9-]*\)[[:space:]].*/\1/p' ci/stages)

.PHONY: all help deps prepare export mbox sendable check kunit bench clean distclean \
	board-submit board-artifacts demo-failures $(STAGES)

## all: install deps, prepare the base tree, apply the series, run KUnit
all: kunit

## help: list the targets
help:
	@sed -n 's/^## \([^:]*\): /  \1\t/p' $(MAKEFILE_LIST) | expand -t 18
	@echo "  stages (make NAME runs one; make check runs all, in this order):"
	@sed -n 's/^\([a-z][a-z0-9-]*\)[[:space:]]*[0-9]*[[:space:]]*/    \1\t/p' ci/stages | expand -t 20

## deps: install the Debian packages the tooling needs (as root)
deps:
	scripts/deps

## prepare: unpack the pinned base (ci/base.conf) into build/linux (tag base)
prepare:
	scripts/prepare

## export: regenerate patches/ and series from branch series
export:
	scripts/export

## mbox: write the series as one threaded mbox, build/series.mbox (for b4 am; not sendable)
mbox:
	scripts/mbox

## sendable: write the mails for git send-email in build/sendable/ (refused while the series is signed off by its role address)
sendable:
	scripts/mbox --send build/sendable

## check: deps, prepare, apply, then every stage (one line each, logs in build/logs/)
check:
	scripts/check

## kunit: deps, prepare, apply, then the KUnit stages (UML and arm64)
kunit:
	scripts/check kunit-uml kunit-arm64

## bench: run the slow KUnit benchmark cases (UML; arm64-only suites on arm64; reclaim again with swap on zram), print bench: lines
bench:
	scripts/bench

## demo-failures: show that stages fail when they must (injected defects on throwaway branches; ~30 min)
demo-failures:
	ci/demo-failures

## board-artifacts: build what the LAVA jobs deploy (arm64 kernel, DTBs, modules, tests) in build/board-artifacts/
board-artifacts:
	ci/board-artifacts

## board-submit: submit the board jobs to LAVA_URL and map the results ("skipped" without credentials)
board-submit:
	ci/board-submit || [ $$? = 77 ]

$(STAGES):
	scripts/check $@

## clean: remove build outputs, keep build/linux and the ccache
clean:
	@if [ -d build ]; then \
		find build -mindepth 1 -maxdepth 1 ! -name linux ! -name ccache \
			! -name base ! -name debs -exec rm -rf {} +; \
	fi
	@if [ -d build/linux/.git ]; then git -C build/linux worktree prune; fi

## distclean: remove build/ entirely
distclean:
	rm -rf build
