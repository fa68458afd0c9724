// SPDX-License-Identifier: GPL-2.0
/*
 * memhog: memory pressure for the QEMU boot test (ci/qemu/init).
 *
 *   memhog PERCENT ROUNDS
 *
 * Each round allocates anonymous memory in 8 MiB chunks and writes every
 * page, until PERCENT of MemTotal is touched or MemAvailable falls to a
 * floor (5% of MemTotal, at least 64 MiB) that keeps the OOM killer away
 * (there is no swap), then frees it all. Prints one line per round, and
 * exits 1 if a round touched less than half of PERCENT of MemTotal.
 * Built static for the guest by ci/stage-qemu.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHUNK (8UL << 20)
#define MAX_CHUNKS 4096

static unsigned long meminfo_kib(const char *key)
{
	char line[128];
	unsigned long v = 0;
	size_t len = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) && line[len] == ':') {
			v = strtoul(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	static void *chunks[MAX_CHUNKS];
	unsigned long total, target, floor_kib, page = sysconf(_SC_PAGESIZE);
	int pct = argc > 1 ? atoi(argv[1]) : 90;
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	int r, short_rounds = 0;

	total = meminfo_kib("MemTotal");
	if (!total || pct <= 0 || pct > 100 || rounds <= 0) {
		fprintf(stderr, "usage: memhog PERCENT ROUNDS (and a mounted /proc)\n");
		return 2;
	}
	target = total / 100 * pct;
	floor_kib = total / 20 > (64UL << 10) ? total / 20 : 64UL << 10;

	for (r = 1; r <= rounds; r++) {
		unsigned long n = 0, done = 0, i, avail0 = meminfo_kib("MemAvailable");

		while (done < target && n < MAX_CHUNKS &&
		       meminfo_kib("MemAvailable") > floor_kib + (CHUNK >> 10)) {
			char *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED)
				break;
			for (i = 0; i < CHUNK; i += page)
				p[i] = (char)(i / page + r);
			chunks[n++] = p;
			done += CHUNK >> 10;
		}
		printf("memhog: round %d/%d: touched %lu MiB of %lu MiB (%d%% of MemTotal %lu MiB), MemAvailable %lu -> %lu MiB\n",
		       r, rounds, done >> 10, target >> 10, pct, total >> 10,
		       avail0 >> 10, meminfo_kib("MemAvailable") >> 10);
		fflush(stdout);
		/* Pressure is the point: a round that got half of it failed. */
		if (done < target / 2)
			short_rounds++;
		while (n)
			munmap(chunks[--n], CHUNK);
	}
	if (short_rounds)
		fprintf(stderr, "memhog: %d round(s) touched less than half of %lu MiB\n",
			short_rounds, target >> 10);
	return short_rounds ? 1 : 0;
}
