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
BASE_TAG=base
BASE_MIRROR=${BASE_MIRROR:-http://deb.debian.org/debian}
SERIES_BRANCH=series

# Identity used for the base commit and for every patch of the series.
SERIES_IDENT="Mali Sparse Series"
SERIES_EMAIL="series@mali-sparse.invalid"

export CCACHE_DIR=${CCACHE_DIR:-$BUILD/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
export CCACHE_COMPILERCHECK=content
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
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run git in the kernel tree with the series identity and fixed settings.
kgit() {
	git -C "$KTREE" -c user.name="$SERIES_IDENT" -c user.email="$SERIES_EMAIL" \
		-c core.abbrev=12 "$@"
}

# List the patch files of the series in order (without the cover letter).
series_patches() {
	[ -f "$SERIES" ] || return 0
	grep -vE '^[[:space:]]*(#|$)' "$SERIES" | grep -v '^0000-cover-letter' || true
}

require_base() {
	[ -d "$KTREE/.git" ] && kgit rev-parse -q --verify "$BASE_TAG" >/dev/null ||
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
worktree_at() {
	local dir=$1 rev=$2
	require_base
	kgit rev-parse -q --verify "$rev^{commit}" >/dev/null ||
		die "no '$rev' in $KTREE: run 'make apply' (scripts/apply) first"
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

# Run the KUnit suites of kunit/*.kunitconfig meant for ARCH (um, arm64) in
# the series worktree: one kernel is configured and built in BUILD_DIR from
# all those files together (so the suites share one build), then booted once
# per file with the suites the file names in a line '# suites: GLOB'
# (kunit.py's filter_glob): a test option may build more suites than the
# file is about, and some DRM suites WARN on purpose. Further arguments go to
# kunit.py; --filter, --filter_action, --timeout and --kernel_args only to
# the runs, --jobs only to the build. Scans each console log for splats and
# prints one 'summary: ...' for all runs. Non-zero on failure.
kunit_stage() {
	local arch=$1 bdir=$2 src f name glob rc=0 splat=0 p fl s c a
	local tp=0 tf=0 ts=0 runs=0 failed=() files=() kcs=()
	local common=() bopts=(--jobs="$JOBS") eopts=(--timeout=1800) cross=
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
		--filter=*|--filter_action=*|--timeout=*|--kernel_args=*) eopts+=("$a") ;;
		--jobs=*) bopts=("$a") ;;
		*) common+=("$a") ;;
		esac
	done
	mapfile -t files < <(kunit_configs "$arch")
	[ ${#files[@]} -gt 0 ] || die "no kunit/*.kunitconfig for $arch in $KUNITCONFIGS"
	for f in "${files[@]}"; do
		grep -qE '^#[[:space:]]*suites:[[:space:]]*[^[:space:]]' "$f" ||
			die "$(relpath "$f") has no '# suites: GLOB' line"
		kcs+=(--kunitconfig="$f")
	done
	log "kunit-$arch: $(git -C "$src" log -1 --format='%h %s')"
	log "kunit-$arch: one build of ${#files[@]} kunitconfig(s) in $(relpath "$bdir")"
	mkdir -p "$bdir/runs"
	rm -f "$bdir"/runs/*
	python3 "$src/tools/testing/kunit/kunit.py" build "${common[@]}" "${kcs[@]}" \
		"${bopts[@]}" >"$bdir/runs/build.out" 2>&1 || {
		tail -n 40 "$bdir/runs/build.out" >&2
		die "kunit.py build failed for $arch: see $(relpath "$bdir")/runs/build.out"
	}
	for f in "${files[@]}"; do
		name=$(basename "$f" .kunitconfig)
		glob=$(sed -n 's/^#[[:space:]]*suites:[[:space:]]*//p' "$f" | head -n1)
		log "kunit-$arch: $name (suites $glob)"
		rm -f "$bdir/test.log"
		rc=0
		python3 "$src/tools/testing/kunit/kunit.py" exec "${common[@]}" "${kcs[@]}" \
			"${eopts[@]}" "$glob" 2>&1 | tee "$bdir/runs/$name.out" || rc=$?
		[ -f "$bdir/test.log" ] && mv "$bdir/test.log" "$bdir/runs/$name.log"
		read -r p fl s c < <(kunit_counts "$bdir/runs/$name.out")
		tp=$((tp + p)) tf=$((tf + fl + c)) ts=$((ts + s)) runs=$((runs + 1))
		[ -s "$bdir/runs/$name.log" ] && ! scan_kernel_log "$bdir/runs/$name.log" && splat=1
		[ "$rc" = 0 ] && [ "$p" -gt 0 ] || failed+=("$name")
	done
	echo "summary: $tp tests passed, $tf failed, $ts skipped (${arch/#um/uml}, $runs runs, 1 build)"
	[ ${#failed[@]} = 0 ] || die "kunit.py failed or passed no test for: ${failed[*]} (see $(relpath "$bdir")/runs/NAME.out and NAME.log)"
	[ "$splat" = 0 ] || die "tests passed but a kernel log has splats (above); full logs: $(relpath "$bdir")/runs/*.log"
}

# get_maintainer DIR FILE: the addresses get_maintainer.pl of the tree DIR
# finds for the patch or mail FILE, one a line: MAINTAINERS entries only (no
# persons from git history), and in a fixed order (get_maintainer.pl orders
# equal-ranked addresses by Perl's randomised hash order otherwise).
get_maintainer() {
	(cd "$1" && HOME=/nonexistent PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0 \
		perl scripts/get_maintainer.pl --no-rolestats --no-git \
		--no-git-fallback --no-fixes "$2")
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

# ---- arm64 busybox initramfs (ci/stage-qemu, ci/lava-local) ----
# Debian's arm64 busybox-static package, fetched into build/debs by
# scripts/deps: print its path, or fail saying so.
busybox_deb() {
	local deb
	deb=$(find "$BUILD/debs" -name 'busybox-static_*_arm64.deb' 2>/dev/null | sort | tail -n1)
	[ -n "$deb" ] || die "no arm64 busybox-static package in $(relpath "$BUILD/debs"): run scripts/deps"
	printf '%s\n' "$deb"
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
base_apt_opts() {
	local dir=$1 suite=$2
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
		"$BASE_MIRROR" "$suite" >"$dir/sources.list"
	apt_opts=(-o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
		  -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache"
		  -o Dir::State::status=/dev/null -o Debug::NoLocking=1
		  -o APT::Get::List-Cleanup=0)
	[ "$(id -u)" != 0 ] || apt_opts+=(-o APT::Sandbox::User=root)
}

# The versions of package PKG that SUITE offers, newest first (apt updates
# the private lists in build/apt-base/SUITE first).
base_versions() {
	local pkg=$1 suite=$2 apt_opts
	base_apt_opts "$BUILD/apt-base/$suite" "$suite"
	apt-get "${apt_opts[@]}" update -qq >/dev/null 2>&1 ||
		apt-get "${apt_opts[@]}" update -qq >&2 ||
		die "apt-get update of suite $suite from $BASE_MIRROR failed (output above)"
	apt-cache "${apt_opts[@]}" madison "$pkg" 2>/dev/null | awk -F' *[|] *' '{ print $2 }'
}

# fetch_base_deb PKG VERSION SUITE [SHA256]: print the path of PKG_VERSION's
# .deb in build/base, downloading it from SUITE unless a copy is there; with
# SHA256, a file whose hash differs is refused (and removed). apt checks the
# download against the suite's signed index either way.
fetch_base_deb() {
	local pkg=$1 ver=$2 suite=$3 sha=${4:-} dir=$BUILD/base apt_opts deb have
	deb=$dir/${pkg}_${ver/#*:/}_all.deb
	if [ ! -f "$deb" ]; then
		base_apt_opts "$BUILD/apt-base/$suite" "$suite"
		mkdir -p "$dir"
		log "base: downloading $pkg $ver from $suite"
		(cd "$dir" && apt-get "${apt_opts[@]}" download -q=2 "$pkg=$ver" >&2) ||
			die "cannot download $pkg=$ver from $suite ($BASE_MIRROR)"
		[ -f "$deb" ] || die "apt-get download of $pkg=$ver wrote no $(relpath "$deb")"
	fi
	if [ -n "$sha" ]; then
		have=$(sha256sum "$deb" | cut -d' ' -f1)
		if [ "$have" != "$sha" ]; then
			rm -f "$deb"
			die "$pkg $ver: sha256 $have does not match the pinned $sha (ci/base.conf): stopping; the file was removed"
		fi
	fi
	printf '%s\n' "$deb"
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
