// SPDX-License-Identifier: GPL-2.0
/*
 * uapi-test: exercise what the Mali sparse series adds to the panfrost and
 * panthor uAPI, from userspace, with raw ioctls on the kernel's installed
 * uAPI headers (no libdrm). Output is TAP: one "ok"/"not ok" line per
 * check, diagnostics after '#'.
 *
 *   uapi-test [-v]
 *
 * Every /dev/dri/renderD* node whose driver (DRM_IOCTL_VERSION) is panthor
 * or panfrost is tested:
 *   panthor:  (driver 1.9 or later, else skipped) DEV_QUERY MMU_INFO
 *             (4 KiB pages listed); a one-op MAP_SPARSE of 100e6 bytes (page
 *             aligned up) on a new VM; a partial unmap; the bad-input table
 *             (each case must fail with EINVAL); fdinfo drm-resident.
 *             (driver 1.10 or later, else the probe must say it is not
 *             there) BO_MADVISE: DONTNEED then WILLNEED on a resident BO
 *             (retained, content kept, fdinfo drm-purgeable), export of a
 *             DONTNEED BO refused, bad input (EINVAL, ENOENT).
 *   panfrost: heap BO create; MMAP_BO of it refused (EINVAL); madvise
 *             DONTNEED then WILLNEED (retained); fdinfo drm-resident and
 *             drm-purgeable of a regular BO.
 *
 * Exit status: 0 all passed, 1 a check failed, 77 no such device (skip).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm/drm.h>
#include <drm/panfrost_drm.h>
#include <drm/panthor_drm.h>

/*
 * Built against the kernel's installed uAPI headers of Linux 7.3 or later:
 * panthor's DEV_QUERY MMU_INFO (query type 4, struct drm_panthor_mmu_info)
 * and DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE are mainline's, used as they are.
 * Whether the running driver has them is told by its version: panthor 1.9
 * added both (the version history in panthor_drv.c).
 */
#define PANTHOR_SPARSE_MAJOR 1
#define PANTHOR_SPARSE_MINOR 9

/*
 * DRM_IOCTL_PANTHOR_BO_MADVISE is the series' (patch "drm/panthor: Add a
 * BO_MADVISE ioctl to purge BOs nobody needs"): driver 1.10, a number that
 * holds until the patch is merged; the probe (handle 0: ENOENT if there,
 * EINVAL if not) does not depend on it.
 */
#define PANTHOR_MADVISE_MINOR 10

#define SPARSE_BYTES 100000000ull	/* 100e6: not a multiple of any page size */
#define SZ_4K 0x1000ull
#define SZ_2M 0x200000ull
#define SZ_1G 0x40000000ull

static int verbose;
static int test_num;
static int failures;

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/*
 * Print one TAP result line. A trailing "(details)" of the message (return
 * values, sizes) goes after a '#', so that the test name before it stays
 * the same from run to run (LAVA makes test cases of the names).
 */
static int check(int cond, const char *fmt, ...)
{
	char msg[256], *paren;
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	len = strlen(msg);
	paren = strrchr(msg, '(');
	if (len && msg[len - 1] == ')' && paren && paren > msg && paren[-1] == ' ') {
		msg[len - 1] = '\0';
		paren[-1] = '\0';
		printf("%sok %d - %s # %s\n", cond ? "" : "not ", ++test_num, msg, paren + 1);
	} else {
		printf("%sok %d - %s\n", cond ? "" : "not ", ++test_num, msg);
	}
	fflush(stdout);
	if (!cond)
		failures++;
	return cond;
}

/* ioctl() restarted on EINTR/EAGAIN; returns 0 or -errno. */
static int xioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret == -1 && (errno == EINTR || errno == EAGAIN));
	return ret ? -errno : 0;
}

static int gem_close(int fd, __u32 handle)
{
	struct drm_gem_close c = { .handle = handle };

	return xioctl(fd, DRM_IOCTL_GEM_CLOSE, &c);
}

/* ---- fdinfo ---- */

/*
 * Sum the drm-<key>-<region> lines of this process' fdinfo for fd, in
 * bytes (values carry an optional KiB/MiB unit). Returns -1 if no such line.
 */
static long long fdinfo_bytes(int fd, const char *key)
{
	char path[64], line[256];
	long long total = -1;
	size_t klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		char unit[8] = "";
		char *colon;

		if (strncmp(line, key, klen) || line[klen] != '-')
			continue;
		colon = strchr(line, ':');
		if (!colon || sscanf(colon + 1, "%llu %7s", &v, unit) < 1)
			continue;
		if (!strcmp(unit, "KiB"))
			v <<= 10;
		else if (!strcmp(unit, "MiB"))
			v <<= 20;
		else if (!strcmp(unit, "GiB"))
			v <<= 30;
		if (verbose)
			diag("fdinfo: %.*s", (int)strcspn(line, "\n"), line);
		total = (total < 0 ? 0 : total) + (long long)v;
	}
	fclose(f);
	return total;
}

/* ---- panthor ---- */

static int panthor_query(int fd, __u32 type, void *data, __u32 *size)
{
	struct drm_panthor_dev_query q = {
		.type = type,
		.size = *size,
		.pointer = (__u64)(uintptr_t)data,
	};
	int ret = xioctl(fd, DRM_IOCTL_PANTHOR_DEV_QUERY, &q);

	*size = q.size;
	return ret;
}

static int panthor_bind(int fd, __u32 vm_id, __u32 flags, __u32 bo, __u64 offset,
			__u64 va, __u64 size)
{
	struct drm_panthor_vm_bind_op op = {
		.flags = flags,
		.bo_handle = bo,
		.bo_offset = offset,
		.va = va,
		.size = size,
	};
	struct drm_panthor_vm_bind b = {
		.vm_id = vm_id,
		.ops = DRM_PANTHOR_OBJ_ARRAY(1, &op),
	};

	return xioctl(fd, DRM_IOCTL_PANTHOR_VM_BIND, &b);
}

static void test_panthor(int fd, const char *node, int major, int minor)
{
	const __u32 map = DRM_PANTHOR_VM_BIND_OP_TYPE_MAP;
	const __u32 unmap = DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP;
	const __u32 sparse = DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE;
	const __u32 noexec = DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC;
	struct drm_panthor_mmu_info info;
	struct drm_panthor_vm_create vc = { 0 };
	struct drm_panthor_vm_destroy vd = { 0 };
	struct drm_panthor_bo_create bc = { .size = SZ_2M };
	__u64 pgsz, size, va, user_va;
	long long res0, res1;
	__u32 qsize = 0;
	unsigned int i;
	int ret;

	diag("panthor: %s, driver %d.%d", node, major, minor);
	if (major != PANTHOR_SPARSE_MAJOR || minor < PANTHOR_SPARSE_MINOR) {
		printf("ok %d - panthor: MMU_INFO and MAP_SPARSE # SKIP driver %d.%d, they came with %d.%d\n",
		       ++test_num, major, minor, PANTHOR_SPARSE_MAJOR, PANTHOR_SPARSE_MINOR);
		return;
	}

	/* MMU_INFO: size probe with a NULL pointer, then the structure. */
	ret = panthor_query(fd, DRM_PANTHOR_DEV_QUERY_MMU_INFO, NULL, &qsize);
	if (!check(!ret && qsize >= sizeof(info),
		   "panthor: DEV_QUERY MMU_INFO size probe (ret %d, size %u)", ret, qsize))
		return;
	memset(&info, 0xa5, sizeof(info));
	qsize = sizeof(info);
	ret = panthor_query(fd, DRM_PANTHOR_DEV_QUERY_MMU_INFO, &info, &qsize);
	check(!ret && qsize == sizeof(info),
	      "panthor: DEV_QUERY MMU_INFO (ret %d, page sizes 0x%llx)",
	      ret, (unsigned long long)info.page_size_bitmap);
	if (!check(info.page_size_bitmap & SZ_4K, "panthor: MMU_INFO lists 4 KiB pages"))
		return;
	pgsz = info.page_size_bitmap & -info.page_size_bitmap;	/* smallest */
	if (pgsz < SZ_4K)
		pgsz = SZ_4K;

	/* An unknown query type still fails the old way. */
	qsize = 0;
	ret = panthor_query(fd, 0x7fff, NULL, &qsize);
	check(ret == -EINVAL, "panthor: DEV_QUERY of an unknown type fails with EINVAL (%d)", ret);

	ret = xioctl(fd, DRM_IOCTL_PANTHOR_VM_CREATE, &vc);
	if (!check(!ret, "panthor: VM_CREATE (ret %d, user VA range 0x%llx)", ret,
		   (unsigned long long)vc.user_va_range))
		return;
	user_va = vc.user_va_range;
	vd.id = vc.id;

	/* A BO to put in the bad-input table's bo_handle. */
	ret = xioctl(fd, DRM_IOCTL_PANTHOR_BO_CREATE, &bc);
	check(!ret, "panthor: BO_CREATE 2 MiB (ret %d)", ret);

	/* One-op sparse map of 100e6 bytes, rounded up to the page size, at a VA
	 * that is not 2 MiB aligned.
	 */
	size = (SPARSE_BYTES + pgsz - 1) & ~(pgsz - 1);
	va = SZ_1G + 16 * pgsz;
	res0 = fdinfo_bytes(fd, "drm-resident");
	ret = panthor_bind(fd, vc.id, map | sparse | noexec, 0, 0, va, size);
	check(!ret, "panthor: sparse map of %llu bytes at 0x%llx (ret %d)",
	      (unsigned long long)size, (unsigned long long)va, ret);
	res1 = fdinfo_bytes(fd, "drm-resident");
	check(res0 >= 0 && res1 >= 0, "panthor: fdinfo drm-resident lines (%lld -> %lld bytes)",
	      res0, res1);
	check(res1 - res0 < (long long)(size / 2),
	      "panthor: the sparse map does not make 100e6 bytes resident (+%lld bytes)",
	      res1 - res0);

	/* Partial unmap: a hole in the middle, then the rest. */
	ret = panthor_bind(fd, vc.id, unmap, 0, 0, va + SZ_2M + pgsz, 4 * SZ_2M);
	check(!ret, "panthor: partial unmap of a sparse mapping (ret %d)", ret);
	ret = panthor_bind(fd, vc.id, unmap, 0, 0, va, size);
	check(!ret, "panthor: unmap of the rest of the sparse range (ret %d)", ret);

	/* The bad-input table: every entry must fail with EINVAL. */
	{
		const struct {
			const char *what;
			__u32 flags;
			int use_bo;
			__u64 offset, va, size;
		} bad[] = {
			{ "without MAP_NOEXEC", map | sparse, 0, 0, va, size },
			{ "with a BO handle", map | sparse | noexec, 1, 0, va, SZ_2M },
			{ "with a BO offset", map | sparse | noexec, 0, pgsz, va, size },
			{ "with an unaligned VA", map | sparse | noexec, 0, 0, va + 1, size },
			{ "with an unaligned size (100e6)", map | sparse | noexec, 0, 0, va,
			  SPARSE_BYTES },
			{ "past the user VA range", map | sparse | noexec, 0, 0,
			  user_va - pgsz, 2 * pgsz },
			{ "wrapping around the VA space", map | sparse | noexec, 0, 0,
			  ~0ull & ~(pgsz - 1), 2 * pgsz },
			{ "with an unknown flag", map | sparse | noexec | (1u << 4), 0, 0, va, size },
			{ "on an UNMAP op", unmap | sparse, 0, 0, va, size },
			{ "on a SYNC_ONLY op", DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY | sparse,
			  0, 0, 0, 0 },
		};

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			ret = panthor_bind(fd, vc.id, bad[i].flags,
					   bad[i].use_bo ? bc.handle : 0, bad[i].offset,
					   bad[i].va, bad[i].size);
			check(ret == -EINVAL, "panthor: bad input: MAP_SPARSE %s: EINVAL (%d)",
			      bad[i].what, ret);
			if (!ret)	/* do not leave a wrongly accepted mapping */
				panthor_bind(fd, vc.id, unmap, 0, 0, bad[i].va, bad[i].size);
		}
	}

	if (bc.handle)
		gem_close(fd, bc.handle);
	ret = xioctl(fd, DRM_IOCTL_PANTHOR_VM_DESTROY, &vd);
	check(!ret, "panthor: VM_DESTROY (ret %d)", ret);
}

static int panthor_madvise(int fd, __u32 handle, __u32 madv, __u32 pad, __u32 *retained)
{
	struct drm_panthor_bo_madvise m = { .handle = handle, .madv = madv, .pad = pad };
	int ret = xioctl(fd, DRM_IOCTL_PANTHOR_BO_MADVISE, &m);

	if (retained)
		*retained = m.retained;
	return ret;
}

static void test_panthor_madvise(int fd, int minor)
{
	struct drm_panthor_bo_create bc = { .size = 0x10000 };
	struct drm_panthor_bo_mmap_offset mo = { 0 };
	struct drm_prime_handle ph = { .flags = DRM_CLOEXEC };
	__u32 retained = ~0u;
	long long purgeable;
	unsigned char *p;
	int ret, probe;
	size_t i, bad;

	probe = panthor_madvise(fd, 0, DRM_PANTHOR_BO_MADV_WILLNEED, 0, NULL);
	if (minor < PANTHOR_MADVISE_MINOR) {
		check(probe == -EINVAL,
		      "panthor: driver 1.%d has no BO_MADVISE, and the probe says so (%d)",
		      minor, probe);
		return;
	}
	check(probe == -ENOENT, "panthor: BO_MADVISE probe with handle 0: ENOENT (%d)", probe);

	ret = xioctl(fd, DRM_IOCTL_PANTHOR_BO_CREATE, &bc);
	if (!check(!ret, "panthor: BO_CREATE 64 KiB for madvise (ret %d)", ret))
		return;
	mo.handle = bc.handle;
	ret = xioctl(fd, DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &mo);
	p = ret ? MAP_FAILED : mmap(NULL, bc.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
				    mo.offset);
	if (!check(p != MAP_FAILED, "panthor: mmap of the BO (ret %d)", ret)) {
		gem_close(fd, bc.handle);
		return;
	}
	for (i = 0; i < bc.size; i++)
		p[i] = (unsigned char)(i * 7);

	ret = panthor_madvise(fd, bc.handle, DRM_PANTHOR_BO_MADV_DONTNEED, 0, &retained);
	check(!ret && retained == 1, "panthor: BO_MADVISE DONTNEED (ret %d, retained %u)",
	      ret, retained);
	purgeable = fdinfo_bytes(fd, "drm-purgeable");
	check(purgeable >= (long long)bc.size,
	      "panthor: fdinfo drm-purgeable counts the DONTNEED BO (%lld bytes)", purgeable);
	ph.handle = bc.handle;
	ret = xioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &ph);
	check(ret == -EINVAL, "panthor: export of a DONTNEED BO: EINVAL (%d)", ret);
	if (!ret)
		close(ph.fd);

	ret = panthor_madvise(fd, bc.handle, DRM_PANTHOR_BO_MADV_WILLNEED, 0, &retained);
	/* Nothing purges a BO this program keeps resident, but memory pressure. */
	check(!ret, "panthor: BO_MADVISE WILLNEED (ret %d, retained %u)", ret, retained);
	if (retained == 1) {
		for (bad = 0, i = 0; i < bc.size; i++)
			bad += p[i] != (unsigned char)(i * 7);
		check(!bad, "panthor: a retained BO kept its content (%zu bytes differ)", bad);
	}

	ret = panthor_madvise(fd, bc.handle, 2, 0, NULL);
	check(ret == -EINVAL, "panthor: bad input: BO_MADVISE advice 2: EINVAL (%d)", ret);
	ret = panthor_madvise(fd, bc.handle, DRM_PANTHOR_BO_MADV_WILLNEED, 1, NULL);
	check(ret == -EINVAL, "panthor: bad input: BO_MADVISE pad 1: EINVAL (%d)", ret);
	ret = panthor_madvise(fd, bc.handle + 1000, DRM_PANTHOR_BO_MADV_DONTNEED, 0, NULL);
	check(ret == -ENOENT, "panthor: bad input: BO_MADVISE unknown handle: ENOENT (%d)", ret);

	munmap(p, bc.size);
	gem_close(fd, bc.handle);
}

/* ---- panfrost ---- */

static void test_panfrost(int fd, const char *node)
{
	struct drm_panfrost_create_bo heap = {
		.size = 16 << 20,
		.flags = PANFROST_BO_HEAP | PANFROST_BO_NOEXEC,
	};
	struct drm_panfrost_create_bo bo = { .size = 4 << 20 };
	struct drm_panfrost_mmap_bo mm = { 0 };
	struct drm_panfrost_madvise madv = { 0 };
	long long res0, res1, purg0, purg1;
	int ret;

	diag("panfrost: %s", node);

	res0 = fdinfo_bytes(fd, "drm-resident");
	ret = xioctl(fd, DRM_IOCTL_PANFROST_CREATE_BO, &heap);
	if (!check(!ret && heap.handle, "panfrost: CREATE_BO heap 16 MiB (ret %d, GPU VA 0x%llx)",
		   ret, (unsigned long long)heap.offset))
		return;
	res1 = fdinfo_bytes(fd, "drm-resident");
	check(res0 >= 0 && res1 >= 0, "panfrost: fdinfo drm-resident lines (%lld -> %lld bytes)",
	      res0, res1);
	check(res1 - res0 < heap.size,
	      "panfrost: a new heap BO is not fully resident (+%lld bytes)", res1 - res0);

	mm.handle = heap.handle;
	ret = xioctl(fd, DRM_IOCTL_PANFROST_MMAP_BO, &mm);
	check(ret == -EINVAL, "panfrost: MMAP_BO of a heap BO fails with EINVAL (%d)", ret);

	madv.handle = heap.handle;
	madv.madv = PANFROST_MADV_DONTNEED;
	ret = xioctl(fd, DRM_IOCTL_PANFROST_MADVISE, &madv);
	check(!ret, "panfrost: MADVISE DONTNEED on a heap BO (ret %d, retained %u)",
	      ret, madv.retained);
	madv.madv = PANFROST_MADV_WILLNEED;
	madv.retained = 0;
	ret = xioctl(fd, DRM_IOCTL_PANFROST_MADVISE, &madv);
	check(!ret && madv.retained,
	      "panfrost: MADVISE WILLNEED on a heap BO: retained (ret %d, retained %u)",
	      ret, madv.retained);

	/* A regular BO is resident once mapped on the GPU: DONTNEED makes it
	 * purgeable in fdinfo, WILLNEED takes it back.
	 */
	ret = xioctl(fd, DRM_IOCTL_PANFROST_CREATE_BO, &bo);
	if (check(!ret && bo.handle, "panfrost: CREATE_BO 4 MiB (ret %d)", ret)) {
		purg0 = fdinfo_bytes(fd, "drm-purgeable");
		madv.handle = bo.handle;
		madv.madv = PANFROST_MADV_DONTNEED;
		ret = xioctl(fd, DRM_IOCTL_PANFROST_MADVISE, &madv);
		purg1 = fdinfo_bytes(fd, "drm-purgeable");
		check(!ret && purg0 >= 0 && purg1 - purg0 >= bo.size,
		      "panfrost: DONTNEED BO counted in fdinfo drm-purgeable (%lld -> %lld bytes)",
		      purg0, purg1);
		madv.madv = PANFROST_MADV_WILLNEED;
		madv.retained = 0;
		ret = xioctl(fd, DRM_IOCTL_PANFROST_MADVISE, &madv);
		check(!ret && madv.retained, "panfrost: WILLNEED BO retained (ret %d, retained %u)",
		      ret, madv.retained);
		gem_close(fd, bo.handle);
	}
	ret = gem_close(fd, heap.handle);
	check(!ret, "panfrost: GEM_CLOSE of the heap BO (ret %d)", ret);
}

/* ---- device discovery ---- */

/* The driver's name and version (DRM_IOCTL_VERSION). */
static int driver_version(int fd, char *name, size_t len, int *major, int *minor)
{
	struct drm_version v = { 0 };
	int ret;

	v.name = name;
	v.name_len = len - 1;
	memset(name, 0, len);
	ret = xioctl(fd, DRM_IOCTL_VERSION, &v);
	*major = v.version_major;
	*minor = v.version_minor;
	return ret;
}

int main(int argc, char **argv)
{
	struct dirent *de;
	int tested = 0;
	DIR *dir;

	if (argc > 1 && !strcmp(argv[1], "-v"))
		verbose = 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");

	dir = opendir("/dev/dri");
	while (dir && (de = readdir(dir))) {
		char node[PATH_MAX], name[64];
		int fd, major, minor;

		if (strncmp(de->d_name, "renderD", 7))
			continue;
		snprintf(node, sizeof(node), "/dev/dri/%s", de->d_name);
		fd = open(node, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			diag("%s: %s", node, strerror(errno));
			continue;
		}
		if (driver_version(fd, name, sizeof(name), &major, &minor)) {
			diag("%s: DRM_IOCTL_VERSION: %s", node, strerror(errno));
		} else if (!strcmp(name, "panthor")) {
			test_panthor(fd, node, major, minor);
			test_panthor_madvise(fd, minor);
			tested++;
		} else if (!strcmp(name, "panfrost")) {
			test_panfrost(fd, node);
			tested++;
		} else {
			diag("%s: driver %s, not tested", node, name);
		}
		close(fd);
	}
	if (dir)
		closedir(dir);

	if (!tested) {
		printf("1..0 # SKIP no panfrost or panthor render node in /dev/dri\n");
		fprintf(stderr, "uapi-test: no panfrost or panthor device found, nothing tested (exit 77)\n");
		return 77;
	}
	printf("1..%d\n", test_num);
	printf("# %d passed, %d failed\n", test_num - failures, failures);
	return failures ? 1 : 0;
}
