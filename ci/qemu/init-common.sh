# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# Shared by the /init scripts of the QEMU initramfs images (busybox sh):
# ci/qemu/init (the kunit-arm64 stage) and ci/qemu/bench-init ('scripts/bench
# arm64-swap'), which source it from /lib/ci/init-common.sh.
# MARK, set before sourcing, starts every marker line (mark()).

# The pseudo file systems; then everything goes to the init's own virtio
# console, /dev/hvc0, so that kernel messages on the serial console cannot
# tear its lines (the serial console if there is none, said by a marker).
init_setup() {
	export PATH=/bin:/sbin:/usr/bin:/usr/sbin
	/bin/busybox --install -s /bin
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mount -t debugfs debugfs /sys/kernel/debug
	mkdir -p /tmp && mount -t tmpfs tmpfs /tmp
	if [ -c /dev/hvc0 ]; then
		exec </dev/null >/dev/hvc0 2>&1
	else
		exec </dev/console >/dev/console 2>&1
		mark "no /dev/hvc0 (CONFIG_VIRTIO_CONSOLE?): markers on the serial console"
	fi
}

mark() { echo "$MARK $*"; }

# The KUnit suites (debugfs) there are now.
kunit_suites() { echo " $(cd /sys/kernel/debug/kunit && echo *) "; }

# ktap_new BEFORE MOD: print the KTAP of each suite not in BEFORE (what
# kunit_suites printed before MOD was loaded) between "MARK ktap-begin
# SUITE (MOD)" and "MARK ktap-end SUITE"; ktap_n is how many there were.
ktap_new() {
	ktap_n=0
	for d in /sys/kernel/debug/kunit/*/; do
		s=$(basename "$d")
		case $1 in *" $s "*) continue ;; esac
		mark "ktap-begin $s ($2)"
		cat "/sys/kernel/debug/kunit/$s/results"
		mark "ktap-end $s"
		ktap_n=$((ktap_n + 1))
	done
}
