// SPDX-License-Identifier: GPL-2.0
/*
 * memhog: memory pressure for the arm64 KUnit stage (ci/qemu/init), held while
 * the series' KUnit test modules run, so that reclaim meets the objects
 * their tests hold.
 *
 *   memhog PERCENT
 *
 * Allocates anonymous memory in 8 MiB chunks and writes every page, until
 * PERCENT of MemTotal is touched or MemAvailable falls to a floor (10% of
 * MemTotal, at least 128 MiB), then holds it: every 100 ms it writes one
 * chunk again (the pages stay in use, reclaim keeps working), frees a chunk
 * when MemAvailable is below the floor (the tests allocate too: back off,
 * keep the OOM killer away) and takes one again when there is room. Stops
 * on SIGTERM or SIGINT and prints one line: the most it held, how often it
 * backed off, the lowest MemAvailable seen. Exits 1 if it never held half
 * of PERCENT of MemTotal. Built static for the guest by ci/stage-kunit-arm64.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (8UL << 20)
#define MAX_CHUNKS 4096

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

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

static void touch(char *p, unsigned long page, unsigned long salt)
{
	unsigned long i;

	for (i = 0; i < CHUNK; i += page)
		p[i] = (char)(i / page + salt);
}

int main(int argc, char **argv)
{
	static char *chunks[MAX_CHUNKS];
	unsigned long total, target, floor_kib, avail, min_avail, page = sysconf(_SC_PAGESIZE);
	unsigned long n = 0, most = 0, backoffs = 0, ticks = 0;
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	int pct = argc > 1 ? atoi(argv[1]) : 80;

	total = meminfo_kib("MemTotal");
	if (!total || pct <= 0 || pct > 100) {
		fprintf(stderr, "usage: memhog PERCENT (and a mounted /proc)\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	target = total / 100 * pct;
	floor_kib = total / 10 > (128UL << 10) ? total / 10 : 128UL << 10;
	min_avail = meminfo_kib("MemAvailable");

	while (!stop) {
		avail = meminfo_kib("MemAvailable");
		if (avail < min_avail)
			min_avail = avail;
		if (avail < floor_kib && n) {
			munmap(chunks[--n], CHUNK);
			backoffs++;
		} else if (avail > floor_kib + 2 * (CHUNK >> 10) && n * (CHUNK >> 10) < target &&
			   n < MAX_CHUNKS) {
			char *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p != MAP_FAILED) {
				touch(p, page, n);
				chunks[n++] = p;
				if (n > most)
					most = n;
				continue;	/* fill up without waiting */
			}
		}
		if (n)
			touch(chunks[ticks % n], page, ticks);
		ticks++;
		nanosleep(&tick, NULL);
	}
	printf("memhog: held up to %lu MiB of %lu MiB (%d%% of MemTotal %lu MiB), %lu back-offs, MemAvailable down to %lu MiB, %lu.%lu s\n",
	       most * (CHUNK >> 20), target >> 10, pct, total >> 10, backoffs,
	       min_avail >> 10, ticks / 10, ticks % 10);
	fflush(stdout);
	if (most * (CHUNK >> 10) < target / 2) {
		fprintf(stderr, "memhog: held less than half of %lu MiB\n", target >> 10);
		return 1;
	}
	return 0;
}
