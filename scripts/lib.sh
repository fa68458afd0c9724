# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the series scripts. Source it; do not run it.
# shellcheck shell=bash

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
KTREE=${KTREE:-$BUILD/linux}
PATCHES=$TOP/patches
SERIES=$TOP/series

# The pinned base (BASE_PKG, BASE_VERSION, BASE_SUITE, BASE_DEB_SHA256,
# BASE_COMMIT): one file, ci/base.conf.
# shellcheck source=../ci/base.conf
. "$TOP/ci/base.conf"
# The IGT of the board tier (IGT_VERSION, IGT_DEB_*, IGT_TARBALL_SHA256).
# shellcheck source=../ci/igt/igt.conf
. "$TOP/ci/igt/igt.conf"
# The sparse the bisect stage builds (SPARSE_DEB_VERSION, SPARSE_SUITE,
# SPARSE_ORIG_SHA256).
# shellcheck source=../ci/sparse.conf
. "$TOP/ci/sparse.conf"
# The arm64 busybox-static of the QEMU guests (BUSYBOX_DEB_PKG,
# BUSYBOX_DEB_VERSION, BUSYBOX_DEB_SUITE, BUSYBOX_DEB_SHA256).
# shellcheck source=../ci/guest.conf
. "$TOP/ci/guest.conf"
BASE_TAG=base
BASE_MIRROR=${BASE_MIRROR:-http://deb.debian.org/debian}
SERIES_BRANCH=series

# Identity used for the base commit and for every patch of the series.
SERIES_IDENT="Mali Sparse Series"
SERIES_EMAIL="series@mali-sparse.invalid"

export CCACHE_DIR=${CCACHE_DIR:-$BUILD/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
export CCACHE_COMPILERCHECK=content
# Depend mode: on a miss, ccache compiles once and takes the include files
# from the dependency file Kbuild has the compiler write (-Wp,-MMD), where
# its default mode runs the preprocessor first to hash its output, and
# then compiles: 16 objects of the arm64 debug tree, cold cache, 2 cores
# (2026-12-06): 115-118 CPU-s in the default mode, 78-79 in depend mode,
# 79-94 without ccache. A cold 'make check' misses about half of its
# compiles (3161 of 6483 on 2026-12-06).
# Hits are direct-mode hits in both modes. A compiler run without -MD or
# -MMD is cached as before.
export CCACHE_DEPEND=${CCACHE_DEPEND:-1}
# Kernel builds embed the build directory in some objects; let ccache share
# results between the build directories used by the different stages.
export CCACHE_BASEDIR=$BUILD
export KBUILD_BUILD_TIMESTAMP="2024-01-01 00:00:00"
export KBUILD_BUILD_USER=series KBUILD_BUILD_HOST=series

JOBS=${JOBS:-$(nproc)}

# The kernel's Python scripts (checkpatch's spdxcheck, kunit.py) need
# Debian's python3 and its modules (python3-ply, python3-git), not another
# python3 that happens to be first in PATH.
export PATH=/usr/bin:/bin:$PATH

log() { printf '%s\n' "$*" >&2; }

# job_slot: wait until fewer than $JOBS background jobs of this shell run,
# before starting one more (a job's exit status is not looked at: each
# records its own).
job_slot() {
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
		wait -n || true
	done
}
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The stage names of ci/stages, in order, one a line.
stage_names() {
	awk '!/^[[:space:]]*(#|$)/ { print $1 }' "$TOP/ci/stages"
}

# The stages 'make check' runs: those of ci/stages whose description does
# not start with '(manual)'.
check_stage_names() {
	awk '!/^[[:space:]]*(#|$)/ && $3 != "(manual)" { print $1 }' "$TOP/ci/stages"
}

# The time limit of stage $1 in minutes (ci/stages); fails for no such stage.
stage_limit() {
	awk -v s="$1" '!/^[[:space:]]*(#|$)/ && $1 == s { print $2; f = 1 } END { exit !f }' \
		"$TOP/ci/stages"
}

# Fail at once, saying why, unless run as root: for a stage whose script
# has a line '# needs-root: WHY' (scripts/check reads it before starting).
require_root() {
	local why
	why=$(sed -n 's/^# needs-root: //p' "$0" | head -n1)
	[ "$(id -u)" = 0 ] || die "$(basename "$0") needs root: ${why:-see its header}; run it as root"
}

# Run git in the kernel tree with the series identity and fixed settings.
kgit() {
	git -C "$KTREE" -c user.name="$SERIES_IDENT" -c user.email="$SERIES_EMAIL" \
		-c core.abbrev=12 "$@"
}

# The paths of the patch files of the series in order (no cover letter);
# fails naming a file that 'series' lists but patches/ lacks.
series_files() {
	local n
	while read -r n; do
		[ -f "$PATCHES/$n" ] || die "series lists $n, but patches/$n is missing: run 'make export'"
		echo "$PATCHES/$n"
	done < <(series_patches)
}

# The commit the stages test ($SERIES_REV, default branch series), or fail
# saying how to make it.
series_commit() {
	kgit rev-parse -q --verify "$SERIES_REV^{commit}" ||
		die "no '$SERIES_REV' in $KTREE: run 'make apply' (scripts/apply) first"
}

# report_new WHAT OLD NEW: the lines of the sorted file NEW that the sorted
# file OLD lacks (what a change made worse), shown on stderr under
# "WHAT: N new:"; prints their count, returns 1 if there are any.
report_new() {
	local new
	new=$(comm -13 "$2" "$3")
	[ -n "$new" ] || { echo 0; return 0; }
	log "$1: $(grep -c . <<<"$new") new:"
	sed 's/^/    /' <<<"$new" >&2
	grep -c . <<<"$new"
	return 1
}

# List the patch files of the series in order (without the cover letter).
series_patches() {
	[ -f "$SERIES" ] || return 0
	grep -vE '^[[:space:]]*(#|$)|^0000-cover-letter' "$SERIES" || true
}

require_base() {
	[ -e "$KTREE/.git" ] && kgit rev-parse -q --verify "$BASE_TAG" >/dev/null ||
		die "no base tree in $KTREE: run 'make prepare' (scripts/prepare) first"
}

# Fail if the kernel tree has uncommitted changes to tracked files.
require_clean() {
	local tree=$1
	[ -z "$(git -C "$tree" status --porcelain --untracked-files=no)" ] ||
		die "$tree has uncommitted changes; commit or stash them first"
}

# make wrapper for kernel builds with ccache.
kmake() {
	make -s -C "$KTREE" CC="ccache ${CROSS_COMPILE:-}gcc" HOSTCC="ccache gcc" \
		-j"$JOBS" "$@"
}

# ---- CI stage helpers (worktrees, KUnit, kernel log scan) ----

CONFIGS=$TOP/configs
KUNITCONFIGS=${KUNITCONFIGS:-$TOP/kunit}
# Commit the CI stages test; override to test something else (e.g. base).
SERIES_REV=${SERIES_REV:-$SERIES_BRANCH}

# Check REV out detached in the worktree DIR (created on first use), leaving
# the lead's working tree in $KTREE alone. Untracked files in DIR are removed.
# One process at a time (build/worktrees.lock): the background builds of
# ci/stage-bisect run alongside other stages that check worktrees out.
worktree_at() {
	local dir=$1 rev=$2
	require_base
	SERIES_REV=$rev series_commit >/dev/null
	mkdir -p "$BUILD"
	(
		flock 9
		if [ ! -e "$dir/.git" ]; then
			kgit worktree prune
			rm -rf "$dir"
			mkdir -p "$(dirname "$dir")"
			kgit worktree add -q --detach "$dir" "$rev" ||
				die "cannot create worktree $dir; remove it and retry"
		else
			git -C "$dir" checkout -q -f --detach "$rev" ||
				die "cannot check out $rev in $dir; remove $dir and retry"
		fi
		git -C "$dir" clean -q -fdx
	) 9>"$BUILD/worktrees.lock" || exit 1
}

# kill_tree PID: PID and every process under it (background builds of a
# script that ends or dies before them).
kill_tree() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$c"; done
	kill "$1" 2>/dev/null || true
}

# alive PID: true while PID runs (a zombie, not yet reaped by its parent,
# does not).
alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ $st != Z* ]]
}

# The shared worktree at the tested series commit; prints its path.
series_worktree() {
	worktree_at "$BUILD/worktrees/series" "$SERIES_REV"
	echo "$BUILD/worktrees/series"
}

# kunit/*.kunitconfig files meant for ARCH (um, arm64). A file restricts
# itself with a line '# arch: arm64 ...'; without one it runs everywhere.
# With KUNIT_NAMED_ARCH=1, only the files whose '# arch:' line names ARCH
# (e.g. the suites that cannot run on UML, when UML ran the others).
kunit_configs() {
	local arch=$1 f archs
	for f in "$KUNITCONFIGS"/*.kunitconfig; do
		[ -f "$f" ] || continue
		archs=$(sed -n 's/^#[[:space:]]*arch:[[:space:]]*//p' "$f" | head -n1)
		[ -n "$archs" ] || [ "${KUNIT_NAMED_ARCH:-0}" = 0 ] || continue
		[ -z "$archs" ] || [[ " $archs " == *" $arch "* ]] || continue
		echo "$f"
	done
}

# Kernel log lines that mean something went wrong even if every test passed.
KLOG_SPLAT_RE='WARNING:|BUG:|KASAN:|UBSAN:|KFENCE:|Oops|Kernel panic|kernel BUG at|general protection fault|Unable to handle kernel|Internal error:|possible circular locking|possible recursive locking|inconsistent lock state|INFO: lockdep|suspicious RCU usage|lock held when returning|DEBUG_LOCKS_WARN_ON|kmemleak: .*suspected memory leak|unreferenced object 0x|Call [Tt]race:|INFO: task .* blocked for more than|rcu: INFO:|detected stalls? on|soft lockup|hard LOCKUP'
# Extended regex of splat lines to tolerate (empty: none), e.g. set by a stage.
KLOG_ALLOW_RE=${KLOG_ALLOW_RE:-}

# Scan kernel log FILE for splats; print each with context and return 1 if
# any was found. Use on full console logs (kunit.py's test.log, QEMU boots).
scan_kernel_log() {
	local file=$1 hits
	[ -s "$file" ] || die "kernel log $file is missing or empty: did the kernel run?"
	hits=$(grep -nE "$KLOG_SPLAT_RE" "$file" |
		{ if [ -n "$KLOG_ALLOW_RE" ]; then grep -vE "$KLOG_ALLOW_RE"; else cat; fi; } || true)
	[ -z "$hits" ] && return 0
	log "kernel log $file has $(wc -l <<<"$hits") splat line(s):"
	local n
	for n in $(cut -d: -f1 <<<"$hits" | head -n 5); do
		log "---- $file:$n"
		sed -n "$((n > 3 ? n - 3 : 1)),$((n + 25))p" "$file" >&2
	done
	log "---- first splat lines:"
	head -n 20 <<<"$hits" >&2
	return 1
}

# kunit_differ EXPECTED_OUT [LOG...]: one line naming the cases
# ci/kunit-expected found different (its output EXPECTED_OUT) and the first
# failed expectations in the KTAP logs LOG, so that a CI summary that only
# keeps the tail of the output still says what failed.
kunit_differ() {
	local out=$1 names why
	shift
	names=$(grep -E '^  (MISSING|UNLISTED|UNEXPECTED) ' "$out" | head -n 5 |
		sed 's/^ *//; s/  */ /g; s/: not in .*//; s/: the case did not run//' | paste -sd ';' || true)
	[ $# = 0 ] || why=$(grep -h -m 2 -A 1 -E '(EXPECTATION|ASSERTION) FAILED' "$@" 2>/dev/null |
		grep -v '^--$' | sed 's/^\[ *[0-9.]*\] //; s/^[[:space:]#]*//' | head -n 4 | paste -sd ' ' | cut -c1-300 || true)
	echo "${names:-none named}${why:+; first failure: $why}"
}

# Print kunit.py's closing counts from its output FILE as
# 'passed failed skipped crashed' (zeros if there is no result line).
kunit_counts() {
	local line
	line=$(grep -E 'Testing complete\. Ran [0-9]+ tests' "$1" | tail -n1 || true)
	awk -v l="$line" 'BEGIN {
		p = f = s = c = 0
		if (match(l, /passed: [0-9]+/)) p = substr(l, RSTART + 8, RLENGTH - 8)
		if (match(l, /failed: [0-9]+/)) f = substr(l, RSTART + 8, RLENGTH - 8)
		if (match(l, /skipped: [0-9]+/)) s = substr(l, RSTART + 9, RLENGTH - 9)
		if (match(l, /crashed: [0-9]+/)) c = substr(l, RSTART + 9, RLENGTH - 9)
		print p, f, s, c }'
}

# kconfig_missing SRC FILE: the CONFIG_ symbols set in the fragment FILE
# that no Kconfig file of the tree SRC defines, one a line (none: all exist).
kconfig_missing() {
	local src=$1 file=$2 defs
	defs=$BUILD/kconfig-symbols.$(git -C "$src" rev-parse HEAD 2>/dev/null || echo x)
	if [ ! -s "$defs" ]; then
		find "$src" -name 'Kconfig*' -not -path '*/Documentation/*' -print0 |
			xargs -0 sed -n 's/^[[:space:]]*\(menu\)\{0,1\}config[[:space:]]\{1,\}\([A-Za-z0-9_]*\).*/\2/p' |
			sort -u >"$defs.tmp" && mv "$defs.tmp" "$defs"
	fi
	sed -nE 's/^(# )?CONFIG_([A-Za-z0-9_]+)[= ].*/\2/p' "$file" | sort -u | comm -23 - "$defs"
}

# Run the KUnit suites of kunit/*.kunitconfig meant for ARCH (um, arm64) in
# the series worktree: one kernel is configured and built in BUILD_DIR from
# all those files together (so the suites share one build), then booted
# once per file with the suites the file names in a line '# suites: GLOB'
# (kunit.py's filter_glob): a test option may build more suites than the
# file is about, and some DRM suites WARN on purpose. In check mode the
# slow (benchmark) cases run in the same boot, with the kernel arguments of
# the file's line '# slow: ARGS', which make them small (module parameters
# of the suite, e.g. 'drm_gem_shmem_sparse_bench.size_mb=4'). A file naming a
# CONFIG_ symbol the tree does not define (a suite whose patch is not in the
# tested series yet) is left out, and said so. Callers: ci/stage-kunit-uml
# (check) and scripts/bench (--bench, UML and arm64); the arm64 check runs
# the suites as modules of the arm64 debug tree (ci/stage-kunit-arm64).
#
#   kunit_stage ARCH BUILD_DIR --expected=FILE [kunit.py options]
#       every case normal and slow (small); the results (kunit.py --json)
#       must be those of FILE (ci/kunit-expected)
#   kunit_stage ARCH BUILD_DIR --bench [kunit.py options]
#       only the slow cases, full size
#   kunit_stage ... --build-only
#       either of the above up to the kernel build only: nothing runs
#       (ci/stage-bisect builds the UML tree this way while its walk
#       leaves a core idle; the stage's own build is then incremental)
#
# --filter_action, --timeout and --kernel_args go to the runs, --jobs only to
# the build, the rest to both. Scans each console log for splats and prints
# one 'summary: ...' for all runs. Non-zero on failure.
kunit_stage() {
	local arch=$1 bdir=$2 src f name glob rc=0 splat=0 p fl s c a mode='' expected=''
	local tp=0 tf=0 ts=0 runs=0 failed=() files=() kcs=() left=() jsons=() miss pass slow build_only=0
	local common=() bopts=(--jobs="$JOBS") eopts=(--timeout=1800) cross='' me=kunit-${arch/#um/uml}
	shift 2
	src=$(series_worktree)
	case $arch in
	um) common+=(--kunitconfig="$CONFIGS/kunit-uml.config") ;;
	arm64) cross=aarch64-linux-gnu-
	       common+=(--arch="$arch" --cross_compile="$cross") ;;
	*) die "kunit_stage: unsupported arch $arch" ;;
	esac
	common+=(--build_dir="$bdir"
		 --make_options="CC=ccache ${cross}gcc" --make_options="HOSTCC=ccache gcc")
	for a in "$@"; do
		case $a in
		--expected=*) mode=check expected=${a#--expected=} ;;
		--bench) mode=bench ;;
		--build-only) build_only=1 ;;
		--filter_action=*|--timeout=*|--kernel_args=*) eopts+=("$a") ;;
		--jobs=*) bopts=("$a") ;;
		*) common+=("$a") ;;
		esac
	done
	[ -n "$mode" ] || die "kunit_stage: give --expected=FILE or --bench"
	[ "$mode" = bench ] || [ -f "$expected" ] ||
		die "no expected results $(relpath "$expected"): write it (ci/kunit-expected --print)"
	mapfile -t files < <(kunit_configs "$arch")
	[ ${#files[@]} -gt 0 ] || die "no kunit/*.kunitconfig for $arch in $KUNITCONFIGS"
	for f in "${files[@]}"; do
		grep -qE '^#[[:space:]]*suites:[[:space:]]*[^[:space:]]' "$f" ||
			die "$(relpath "$f") has no '# suites: GLOB' line"
	done
	for f in "${files[@]}"; do
		miss=$(kconfig_missing "$src" "$f" | sed 's/^/CONFIG_/' | paste -sd' ' -)
		if [ -n "$miss" ]; then
			log "$me: left out $(relpath "$f"): the tree defines no $miss (its patch is not in the series yet?)"
			left+=("$(basename "$f" .kunitconfig)")
			continue
		fi
		kcs+=(--kunitconfig="$f")
	done
	[ ${#kcs[@]} -gt 0 ] || die "every kunitconfig for $arch was left out (above)"
	log "$me: $(git -C "$src" log -1 --format='%h %s')"
	log "$me: one build of ${#kcs[@]} kunitconfig(s) in $(relpath "$bdir")"
	mkdir -p "$bdir/runs"
	rm -f "$bdir"/runs/*
	python3 "$src/tools/testing/kunit/kunit.py" build "${common[@]}" "${kcs[@]}" \
		"${bopts[@]}" >"$bdir/runs/build.out" 2>&1 || {
		tail -n 40 "$bdir/runs/build.out" >&2
		die "kunit.py build failed for $arch: see $(relpath "$bdir")/runs/build.out"
	}
	[ "$build_only" = 0 ] || return 0
	for f in "${kcs[@]}"; do
		f=${f#--kunitconfig=}
		name=$(basename "$f" .kunitconfig)
		glob=$(sed -n 's/^#[[:space:]]*suites:[[:space:]]*//p' "$f" | head -n1)
		slow=$(grep -E '^#[[:space:]]*slow:' "$f" | head -n1 || true)
		# One boot per file: in check mode every case, the slow ones
		# made small by the kernel arguments of the '# slow:' line
		# (module parameters that only the slow cases read); in bench
		# mode only the slow cases, full size.
		local pass=all tag=$name popts=()
		if [ "$mode" = bench ]; then
			pass=slow tag=$name.slow popts=(--filter="speed<=slow")
			# scripts/bench --suites: those suites only, in one
			# boot (every kunitconfig's suites are in the build).
			if [ -n "${BENCH_SUITES:-}" ]; then
				[ "$runs" = 0 ] || continue
				glob=$BENCH_SUITES tag=suites.slow
			fi
		else
			for a in $(sed 's/^#[[:space:]]*slow:[[:space:]]*//' <<<"$slow"); do
				popts+=(--kernel_args="$a")
			done
		fi
		log "$me: $name, $pass cases (suites $glob${popts[0]:+, ${popts[*]}})"
		rm -f "$bdir/test.log"
		rc=0
		if [ "$arch:$mode" = um:bench ]; then
			# kunit.py puts mem=1G after any --kernel_args
			# and UML keeps the last mem=: a full-size
			# benchmark (1 GiB objects) needs more, so boot
			# the UML kernel here and let kunit.py parse.
			timeout 1800 "$bdir/linux" "kunit.filter_glob=$glob" \
				"kunit.filter=${popts[0]#--filter=}" kunit.enable=1 \
				"mem=${KUNIT_UML_BENCH_MEM:-4G}" console=tty \
				kunit_shutdown=halt </dev/null >"$bdir/test.log" 2>&1 || rc=$?
			python3 "$src/tools/testing/kunit/kunit.py" parse \
				--json="$bdir/runs/$tag.json" "$bdir/test.log" \
				>"$bdir/runs/$tag.out" 2>&1 || rc=$?
			cat "$bdir/runs/$tag.out"
		else
			python3 "$src/tools/testing/kunit/kunit.py" exec "${common[@]}" "${kcs[@]}" \
				"${eopts[@]}" "${popts[@]}" --json="$bdir/runs/$tag.json" "$glob" 2>&1 |
				tee "$bdir/runs/$tag.out" || rc=$?
		fi
		[ -f "$bdir/test.log" ] && mv "$bdir/test.log" "$bdir/runs/$tag.log"
		read -r p fl s c < <(kunit_counts "$bdir/runs/$tag.out")
		tp=$((tp + p)) tf=$((tf + fl + c)) ts=$((ts + s)) runs=$((runs + 1))
		[ -s "$bdir/runs/$tag.log" ] && ! scan_kernel_log "$bdir/runs/$tag.log" && splat=1
		[ -s "$bdir/runs/$tag.json" ] && jsons+=("$bdir/runs/$tag.json")
		# A suite without slow cases has no results in the slow
		# pass; in check mode the expected list judges.
		[ "$rc" = 0 ] || [ "$mode" = check ] || [ $((p + fl + s + c)) = 0 ] || failed+=("$tag")
		[ -s "$bdir/runs/$tag.json" ] || [ "$pass" = slow ] || failed+=("$tag (no results)")
	done
	local expect_ok=1 expect_note=
	if [ "$mode" = check ]; then
		/usr/bin/python3 "$TOP/ci/kunit-expected" "$expected" "${jsons[@]}" | tee "$bdir/runs/expected.out" ||
			expect_ok=0
		expect_note="; $(sed -n 's/^kunit-expected: .*: \([0-9]*\) differ$/\1/p' "$bdir/runs/expected.out") differ from $(relpath "$expected")"
	fi
	echo "summary: $tp tests passed, $tf failed, $ts skipped (${arch/#um/uml}, $runs runs, 1 build)$expect_note${left[*]:+; left out: ${left[*]}}"
	[ ${#failed[@]} = 0 ] || die "kunit.py failed or gave no results for: ${failed[*]} (see $(relpath "$bdir")/runs/NAME.out and NAME.log)"
	[ "$expect_ok" = 1 ] || die "the results differ from $(relpath "$expected"): $(kunit_differ "$bdir/runs/expected.out" "$bdir"/runs/*.log) (above)"
	[ "$splat" = 0 ] || die "tests passed but a kernel log has splats (above); full logs: $(relpath "$bdir")/runs/*.log"
}

# get_maintainer DIR FILE [OPTION...]: the addresses get_maintainer.pl of
# the tree DIR finds for the patch or mail FILE, one a line: MAINTAINERS
# entries only (no persons from git history), and in a fixed order
# (get_maintainer.pl orders equal-ranked addresses by Perl's randomised hash
# order otherwise). OPTIONs go to get_maintainer.pl (e.g. --nol, --nom).
get_maintainer() {
	local dir=$1 file=$2
	shift 2
	(cd "$dir" && HOME=/nonexistent PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0 \
		perl scripts/get_maintainer.pl --no-rolestats --no-git \
		--no-git-fallback --no-fixes "$@" "$file")
}

# sendable_check FILE...: refuse mail that must not be sent. FILEs are
# mails or mboxes (a line 'From ADDR DAY MON ...' starts a mail). Prints
# a line for each address of a From:, To: or Cc: header, or of a From:,
# Cc: or Signed-off-by: line of a body (git send-email mails those too),
# that ends in .invalid (a role or placeholder address: no one reads it),
# and for each mail without a From: or a To: header; returns 1 if it
# printed any, 0 if every mail can be sent.
sendable_check() {
	awk '
	function addrs(what, v,   a) {
		while (match(v, /[^<>@ \t,;"()]+@[^<>@ \t,;"()]+/)) {
			a = substr(v, RSTART, RLENGTH); v = substr(v, RSTART + RLENGTH)
			sub(/[.]+$/, "", a)
			if (tolower(a) ~ /[.]invalid$/) why[nwhy++] = what " " a " ends in .invalid"
		}
	}
	function header_done() {
		if (hname == "from") { from = 1; addrs("From:", hval) }
		if (hname == "to") { to = 1; addrs("To:", hval) }
		if (hname == "cc") addrs("Cc:", hval)
		if (hname == "subject") subj = substr(hval, 2)
		hname = ""
	}
	function mail_done(   i) {
		if (!mail) return
		if (!from) why[nwhy++] = "no From: header"
		if (!to) why[nwhy++] = "no To: header"
		for (i = 0; i < nwhy; i++) printf "%s: mail %d (%s): %s\n", fname, mail, subj, why[i]
		bad += nwhy
	}
	FNR == 1 || (!inhdr && /^From [^ ]+ +(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z][a-z] /) {
		header_done()
		mail_done()
		mail = (FNR == 1) ? 1 : mail + 1
		inhdr = 1; from = to = nwhy = 0; subj = "?"; hname = ""; fname = FILENAME
		if (/^From /) next
	}
	inhdr && /^[ \t]/ { l = $0; sub(/^[ \t]+/, "", l); hval = hval " " l; next }
	inhdr && /^$/ { header_done(); inhdr = 0; next }
	inhdr {
		header_done()
		if (match($0, /^[A-Za-z0-9-]+:/)) {
			hname = tolower(substr($0, 1, RLENGTH - 1)); hval = substr($0, RLENGTH + 1)
		}
		next
	}
	tolower($0) ~ /^(from|cc|signed-off-by): / {
		w = $0; sub(/:.*/, ":", w); addrs("body " w, substr($0, length(w) + 1))
	}
	END { header_done(); mail_done(); exit (bad > 0) }' "$@"
}

# Make git deterministic: ignore the user's and the system's git config and
# commit as the series identity.
series_git_env() {
	export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
	export GIT_COMMITTER_NAME="$SERIES_IDENT" GIT_COMMITTER_EMAIL="$SERIES_EMAIL"
	unset GIT_COMMITTER_DATE GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_AUTHOR_DATE
}

# Print a path relative to the repository top when it is inside it.
relpath() {
	case $1 in "$TOP"/*) printf '%s\n' "${1#"$TOP"/}" ;; *) printf '%s\n' "$1" ;; esac
}

# ---- LAVA (ci/stage-board-jobs, ci/lava-local) ----
# A job id for lava-run unique to this run (concurrent runs on one host do
# not share /var/lib/lava/dispatcher/tmp/ID).
lava_job_id() {
	printf '%s%05d\n' "$(date +%s)" "$(($$ % 100000))"
}

# Remove lava-run's work directory of job ID, and only that one.
lava_job_cleanup() {
	[[ $1 =~ ^[0-9]+$ ]] || die "lava_job_cleanup: bad job id '$1'"
	rm -rf "/var/lib/lava/dispatcher/tmp/$1"
}

# The amd64 kernel libguestfs boots its appliance with (LAVA's qemu deploy,
# ci/lava-local): Debian's linux-image for this host's release, downloaded
# with a private apt configuration and unpacked under build/supermin, not
# installed. Exports SUPERMIN_KERNEL, SUPERMIN_MODULES and
# SUPERMIN_KERNEL_VERSION, which libguestfs' supermin reads.
supermin_kernel() {
	local dir=$BUILD/supermin codename pkg ver deb apt_opts k
	if [ ! -f "$dir/ready" ]; then
		codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
		[ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release: which Debian release is this?"
		base_versions linux-image-amd64 "$codename" >/dev/null
		base_apt_opts "$BUILD/apt-base/$codename" "$codename"
		pkg=$(apt-cache "${apt_opts[@]}" depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
		[ -n "$pkg" ] || die "cannot tell which kernel package linux-image-amd64 of $codename is"
		ver=$(apt_versions "$pkg" | sed -n 1p)
		deb=$(fetch_deb "$BUILD/debs" "$pkg" "$ver" "$codename" amd64)
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg-deb -x "$deb" "$dir" || die "cannot unpack $(relpath "$deb")"
		touch "$dir/ready"
	fi
	k=$(find "$dir/boot" -name 'vmlinuz-*' | head -n1)
	[ -n "$k" ] || die "no vmlinuz in $(relpath "$dir"): remove it and retry"
	export SUPERMIN_KERNEL=$k SUPERMIN_KERNEL_VERSION=${k##*/vmlinuz-}
	export SUPERMIN_MODULES=$dir/lib/modules/$SUPERMIN_KERNEL_VERSION
}

# ---- the arm64 debug tree (ci/stage-bisect, ci/stage-kunit-arm64) ----
# One arm64 kernel tree serves two stages: ci/stage-bisect builds it whole
# (W=1, modpost) at the tip, and ci/stage-kunit-arm64 boots it under QEMU
# with the series' test modules. Its configuration is that of a kernel to
# boot (arm64_frag), so that the check compiles one arm64 kernel, not two.
# Its source is the series' worktree (series_worktree), at the tip: the
# bisect stage's walk through the prefixes, in build/bisect/src, leaves its
# files alone, so that it builds while the walk runs.
# shellcheck disable=SC2034 # used by the stages that source this file
ARM64_SRC=$BUILD/worktrees/series ARM64_OUT=$BUILD/bisect/arm64-kunit

# arm64_frag SRC: the configuration of the arm64 debug tree for the source
# tree SRC: kunit.py's arm64 QEMU options (PL011 console),
# configs/kunit-arm64.config, configs/debug.config, configs/qemu-arm64.config
# (modules, initramfs, virtio console, swap on zram, kmemleak), then every
# test and benchmark option (CONFIG_*_TEST, CONFIG_*_BENCH) of the arm64
# kunitconfigs as a module, those the tree defines (a suite whose patch is
# not applied yet is left out). Later lines win.
arm64_frag() {
	local src=$1 f sym
	grep -o "CONFIG_[A-Za-z0-9_]*=[^'\" ]*" "$src/tools/testing/kunit/qemu_configs/arm64.py"
	cat "$CONFIGS/kunit-arm64.config" "$CONFIGS/debug.config" "$CONFIGS/qemu-arm64.config"
	while read -r f; do
		for sym in $(sed -n 's/^CONFIG_\([A-Za-z0-9_]*_\(TEST\|BENCH\)\)=y$/\1/p' "$f"); do
			[ -z "$(kconfig_missing "$src" <(echo "CONFIG_$sym=y"))" ] || continue
			# A bool option (a benchmark built into its driver's
			# module) cannot be m.
			if kconfig_is_bool "$src" "$sym"; then
				echo "CONFIG_$sym=y"
			else
				echo "CONFIG_$sym=m"
			fi
		done
	done < <(kunit_configs arm64)
}

# kconfig_is_bool SRC SYM: true if SRC's Kconfig files declare SYM bool.
kconfig_is_bool() {
	local src=$1 sym=$2 decl
	decl=$(grep -rh -A3 --include='Kconfig*' -E "^[[:space:]]*config[[:space:]]+${sym}[[:space:]]*\$" \
		"$src" 2>/dev/null || true)
	printf '%s\n' "$decl" | sed -n '2,4p' | grep -E '^[[:space:]]*(bool|def_bool)([[:space:]]|$)' >/dev/null
}

# arm64_make SRC OUT ARGS...: make in the arm64 debug tree OUT of SRC, with
# the flags of every build of it (W=1, as ci/stage-bisect builds it: other
# flags would compile every object again).
arm64_make() {
	local src=$1 out=$2
	shift 2
	CROSS_COMPILE=aarch64-linux-gnu- KTREE=$src kmake ARCH=arm64 \
		CROSS_COMPILE=aarch64-linux-gnu- O="$out" W=1 KERNELDOC=/dev/null "$@"
}

# arm64_configure SRC OUT: write OUT/.config from arm64_frag SRC (make
# olddefconfig). Fails when an option of configs/qemu-arm64.config or a test
# option did not survive olddefconfig (a dependency missing), or when
# configs/qemu-arm64.config names a symbol SRC does not define.
# OUT/.config.frag, which says the tree is configured, is written last.
arm64_configure() {
	local src=$1 out=$2 sym val miss
	mkdir -p "$out"
	rm -f "$out/.config.frag"
	arm64_frag "$src" >"$out/.config.frag.new"
	cp "$out/.config.frag.new" "$out/.config"
	arm64_make "$src" "$out" olddefconfig >"$out/olddefconfig.log" 2>&1 || {
		cat "$out/olddefconfig.log" >&2
		die "arm64 tree: make olddefconfig failed"
	}
	miss=$(kconfig_missing "$src" "$CONFIGS/qemu-arm64.config" | paste -sd' ' -)
	[ -z "$miss" ] || die "configs/qemu-arm64.config: symbols not in this tree: $miss"
	while IFS='=' read -r sym val; do
		grep -qxF "$sym=$val" "$out/.config" ||
			die "arm64 tree: $sym=$val did not survive olddefconfig (dependencies?)"
	done < <(grep -E '^CONFIG_[A-Za-z0-9_]+=' "$CONFIGS/qemu-arm64.config";
		grep -E '^CONFIG_[A-Za-z0-9_]+_(TEST|BENCH)=[my]$' "$out/.config.frag.new")
	mv "$out/.config.frag.new" "$out/.config.frag"
}

# ---- arm64 busybox initramfs (ci/stage-kunit-arm64, ci/lava-local) ----
# Debian's arm64 busybox-static package, the version and sha256 pinned in
# ci/guest.conf, in build/debs (scripts/deps fetches it; fetched here if it
# is missing): print its path, or fail saying why.
busybox_deb() {
	(fetch_deb "$BUILD/debs" "$BUSYBOX_DEB_PKG" "$BUSYBOX_DEB_VERSION" \
		"$BUSYBOX_DEB_SUITE" arm64 "$BUSYBOX_DEB_SHA256") ||
		die "no arm64 $BUSYBOX_DEB_PKG $BUSYBOX_DEB_VERSION as pinned in ci/guest.conf (above)"
}

# gen_init_cpio lines for a busybox initramfs: /dev/console, and /bin/busybox
# from busybox_deb (unpacked into DIR/bb) with /bin/sh linked to it.
initramfs_busybox() {
	local dir=$1 deb
	deb=$(busybox_deb) || exit 1
	rm -rf "${dir:?}/bb"
	mkdir -p "$dir/bb"
	dpkg-deb -x "$deb" "$dir/bb"
	printf '%s\n' 'dir /dev 755 0 0' 'nod /dev/console 600 0 0 c 5 1' \
		'dir /bin 755 0 0' "file /bin/busybox $dir/bb/bin/busybox 755 0 0" \
		'slink /bin/sh busybox 777 0 0'
}

# gen_init_cpio lines for ci/qemu/init-common.sh, which the QEMU inits
# (ci/qemu/init, ci/qemu/bench-init) source as /lib/ci/init-common.sh.
initramfs_init_common() {
	printf '%s\n' 'dir /lib/ci 755 0 0' \
		"file /lib/ci/init-common.sh $TOP/ci/qemu/init-common.sh 644 0 0"
}

# gen_init_cpio lines for the tree ROOT/SUB, installed as /SUB, modes kept.
initramfs_tree() {
	(cd "$1" && find "$2" -type d -printf 'dir /%p %m 0 0\n' \
		-o -type f -printf "file /%p $1/%p %m 0 0\n" \
		-o -type l -printf 'slink /%p %l 777 0 0\n' | sort)
}

# Pack the gen_init_cpio list LIST into the gzip'd cpio OUT with GEN, the
# kernel's usr/gen_init_cpio; OUT is replaced only by a complete archive.
initramfs_pack() {
	local list=$1 out=$2 gen=$3
	"$gen" "$list" >"$out.cpio" || { rm -f "$out.cpio"; die "gen_init_cpio failed on $list"; }
	gzip -n -1 <"$out.cpio" >"$out.tmp" && rm -f "$out.cpio" && mv "$out.tmp" "$out" ||
		die "cannot write $out"
}

# The CPU of the tooling's arm64 QEMU boots (qemu_arm64_boot, scripts/bench;
# the LAVA qemu job keeps the device dictionary's -cpu max). -cpu max alone
# has pointer authentication computed with the architected QARMA5 cipher, which TCG
# emulates in software at every kernel function entry and return: a call
# then costs several times what it costs otherwise (ktime_get_ns() 2571
# against 326 ns, an xarray store 2729 against 170 ns, measured under TCG
# on this project's machine), which weighs down call-heavy code in the
# benchmarks. pauth-impdef uses QEMU's own cheap hash instead and keeps
# pointer authentication on for the kernel under test. Set in the
# environment to measure on another CPU model, e.g. QEMU_ARM64_CPU=cortex-a76
# (RK3588's big core; neither Mali board's CPU has pointer authentication).
QEMU_ARM64_CPU=${QEMU_ARM64_CPU:-max,pauth-impdef=on}

# qemu_arm64_boot TIMEOUT MEM IMAGE INITRD DIR APPEND: boot IMAGE with
# INITRD under QEMU (arm64 virt, -cpu $QEMU_ARM64_CPU, 2 vCPUs, MEM), the kernel's
# serial console in DIR/serial.log, the init's virtio console (/dev/hvc0)
# in DIR/ci.log, both without carriage returns; APPEND is added to the
# kernel command line. Returns what timeout(1) returned (124: timed out).
qemu_arm64_boot() {
	local timeout=$1 mem=$2 image=$3 initrd=$4 dir=$5 append=$6 rc=0
	rm -f "$dir/ci.log"
	timeout "$timeout" qemu-system-aarch64 -M virt -cpu "$QEMU_ARM64_CPU" -smp 2 -m "$mem" \
		-display none -monitor none -serial stdio -no-reboot \
		-device virtio-serial-device -chardev file,id=ci,path="$dir/ci.log" \
		-device virtconsole,chardev=ci \
		-kernel "$image" -initrd "$initrd" \
		-append "console=ttyAMA0 panic=-1${append:+ $append}" </dev/null |
		tr -d '\r' >"$dir/serial.log" || rc=$?
	touch "$dir/ci.log"
	tr -d '\r' <"$dir/ci.log" >"$dir/ci.log.tmp" && mv "$dir/ci.log.tmp" "$dir/ci.log"
	return "$rc"
}

# Fail, naming scripts/deps, unless every command given is installed.
require_cmds() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || die "$c missing: run scripts/deps"
	done
}

# ---- the base: Debian's linux-source package (ci/base.conf) ----

# apt options for a private apt state in DIR that reads only the suite SUITE
# of $BASE_MIRROR: the machine's sources, lists and cache are not touched.
# With ARCH, the packages of that architecture only (e.g. arm64 on an amd64
# host; the machine's dpkg architectures are not changed).
base_apt_opts() {
	local dir=$1 suite=$2 kind=${3:-deb} arch=${4:-}
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	printf '%s [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
		"$kind" "$BASE_MIRROR" "$suite" >"$dir/sources.list"
	apt_opts=(-o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
		  -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache"
		  -o Dir::State::status=/dev/null -o Debug::NoLocking=1
		  -o APT::Get::List-Cleanup=0)
	[ -z "$arch" ] || apt_opts+=(-o APT::Architecture="$arch" -o APT::Architectures::="$arch")
	[ "$(id -u)" != 0 ] || apt_opts+=(-o APT::Sandbox::User=root)
}

# apt_update WHAT: 'apt-get update' with the apt_opts set by base_apt_opts,
# quiet unless it fails (then again, its errors shown); dies naming WHAT.
apt_update() {
	apt-get "${apt_opts[@]}" update -qq >/dev/null 2>&1 ||
		apt-get "${apt_opts[@]}" update -qq >&2 ||
		die "apt-get update of $1 from $BASE_MIRROR failed (output above)"
}

# apt_versions PKG: the versions of PKG that the lists of the private apt
# configuration in apt_opts (base_apt_opts) offer, newest first.
apt_versions() {
	apt-cache "${apt_opts[@]}" madison "$1" 2>/dev/null | awk -F' *[|] *' '{ print $2 }'
}

# The versions of package PKG that SUITE offers, newest first (apt updates
# the private lists in build/apt-base/SUITE first).
base_versions() {
	local pkg=$1 suite=$2 apt_opts
	base_apt_opts "$BUILD/apt-base/$suite" "$suite"
	apt_update "suite $suite"
	apt_versions "$pkg"
}

# deb_path DIR PKG VERSION ARCH: where fetch_deb keeps that .deb (apt-get
# download writes an epoch's colon as %3a).
deb_path() {
	printf '%s\n' "$1/${2}_${3/:/%3a}_$4.deb"
}

# fetch_deb DIR PKG VERSION SUITE ARCH [SHA256]: print the path of the .deb
# of PKG VERSION (architecture ARCH) in DIR, downloading it from SUITE
# (private apt configuration, base_apt_opts; build/apt-base/SUITE-ARCH for
# an architecture not the host's) unless a copy is there; fails, saying
# so, when SUITE no longer offers that version. With SHA256, a file whose
# hash differs is refused (and removed). apt checks the download against
# the suite's signed index either way.
fetch_deb() {
	local dir=$1 pkg=$2 ver=$3 suite=$4 arch=$5 sha=${6:-} apt_opts deb have adir offered updated=0
	deb=$(deb_path "$dir" "$pkg" "$ver" "$arch")
	if [ ! -f "$deb" ]; then
		adir=$BUILD/apt-base/$suite
		if [ "$arch" = all ] || [ "$arch" = "$(dpkg --print-architecture)" ]; then
			base_apt_opts "$adir" "$suite"
		else
			adir+=-$arch
			base_apt_opts "$adir" "$suite" deb "$arch"
		fi
		# A fresh clone has no lists for SUITE yet (base_versions
		# updates only the base's suite).
		if ! compgen -G "$adir/lists/*_Packages*" >/dev/null; then
			apt_update "suite $suite"
			updated=1
		fi
		offered=$(apt_versions "$pkg")
		if ! grep -qxF -- "$ver" <<<"$offered"; then
			# Lists older than the pin? Update them once (not again if
			# they were just made).
			[ "$updated" = 1 ] || apt_update "suite $suite"
			offered=$(apt_versions "$pkg")
			grep -qxF -- "$ver" <<<"$offered" ||
				die "$pkg $ver ($arch) is gone from the archive: $suite ($BASE_MIRROR) offers $(paste -sd' ' - <<<"${offered:-none}"); move the pin to one of these (version and sha256)"
		fi
		mkdir -p "$dir"
		log "downloading $pkg $ver ($arch) from $suite"
		(cd "$dir" && apt-get "${apt_opts[@]}" download -q=2 "$pkg=$ver" >&2) ||
			die "cannot download $pkg=$ver from $suite ($BASE_MIRROR)"
		[ -f "$deb" ] || die "apt-get download of $pkg=$ver wrote no $(relpath "$deb")"
	fi
	if [ -n "$sha" ]; then
		have=$(sha256sum "$deb" | cut -d' ' -f1)
		if [ "$have" != "$sha" ]; then
			rm -f "$deb"
			die "$pkg $ver: sha256 $have does not match the pinned $sha: stopping; the file was removed"
		fi
	fi
	printf '%s\n' "$deb"
}

# fetch_base_deb PKG VERSION SUITE [SHA256]: fetch_deb of a linux-source
# package (architecture all) into build/base.
fetch_base_deb() {
	fetch_deb "$BUILD/base" "$1" "$2" "$3" all "${4:-}"
}

# The Debian version the base commit of $KTREE was made from (its subject).
base_used_version() {
	kgit log -1 --format=%s "$BASE_TAG" 2>/dev/null |
		sed -n 's/^Linux [^ ]* \(.*\) (Debian)$/\1/p'
}

# True if the base tree is the pinned version (the checks that compare with
# ci/base.conf's BASE_COMMIT or with committed patch files need it).
base_is_pinned() {
	[ "$(base_used_version)" = "$BASE_VERSION" ]
}

# sparse_tool KTREE: the path of a sparse that KTREE's
# scripts/checker-valid.sh accepts for arm64, built from the pinned Debian
# source package (ci/sparse.conf) under build/tools on first use. Dies when
# it cannot be fetched, built or accepted: a C=2 build with a checker the
# kernel refuses checks nothing and says so only in a warning.
sparse_tool() {
	local tree=$1 ver=$SPARSE_DEB_VERSION dir apt_opts orig have up
	up=${ver%-*}
	dir=$BUILD/tools/sparse-$ver
	if [ ! -x "$dir/sparse" ]; then
		base_apt_opts "$BUILD/apt-base/$SPARSE_SUITE-src" "$SPARSE_SUITE" deb-src
		apt_update "the $SPARSE_SUITE sources"
		rm -rf "$dir" "$dir.src"
		mkdir -p "$dir.src"
		(cd "$dir.src" && apt-get "${apt_opts[@]}" source --download-only -q=2 "sparse=$ver" >&2) ||
			die "cannot download the source of sparse $ver from $SPARSE_SUITE: update ci/sparse.conf"
		orig=$dir.src/sparse_$up.orig.tar.gz
		[ -f "$orig" ] || die "the source of sparse $ver has no $(relpath "$orig")"
		have=$(sha256sum "$orig" | cut -d' ' -f1)
		[ "$have" = "$SPARSE_ORIG_SHA256" ] ||
			die "sparse $ver: $(relpath "$orig") has sha256 $have, not the pinned $SPARSE_ORIG_SHA256"
		mkdir -p "$dir.src/tree"
		tar -xzf "$orig" -C "$dir.src/tree" --strip-components=1 ||
			die "cannot unpack $(relpath "$orig")"
		make -C "$dir.src/tree" -s -j"$JOBS" sparse >"$dir.src/build.log" 2>&1 ||
			die "building sparse $ver failed: see $(relpath "$dir.src")/build.log"
		mkdir -p "$dir"
		cp "$dir.src/tree/sparse" "$dir/sparse"
		rm -rf "$dir.src/tree"
	fi
	[ "$(cd "$tree" && sh scripts/checker-valid.sh "$dir/sparse" --arch=arm64 -mlittle-endian -m64)" = 1 ] ||
		die "sparse $ver ($(relpath "$dir")/sparse): $(relpath "$tree")/scripts/checker-valid.sh refuses it"
	printf '%s\n' "$dir/sparse"
}
