/* SPDX-License-Identifier: MIT */
/*
 * Test program for `ctrace attach` on a program whose threads turn over: 15 threads sleep
 * 1 ms at a time (nanosleep) until DIR/go exists, so that an attach made before adopts
 * them at their next sleep; then they return, and main makes threads one at a time, each
 * sleeping 1 ms three times before it returns, joined before the next, until DIR/end
 * exists. Once it has made 200 of them it writes the last one's tid to DIR/last. With 16
 * thread slots (CTRACE_MAX_THREADS=16), main and the 15 fill the table: the later threads
 * get a slot only if the 15 ended ones' slots were freed. DIR/ready once the 15 run.
 * Prints its books (the same whatever the tracer did) and exits 10.
 *
 * usage: att_turnover DIR
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define EARLY 15

static const char *dir;
static pid_t last_tid;

static int exists(const char *name)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static void *early(void *arg)
{
	struct timespec ms = { 0, 1000000L };
	(void)arg;
	while (!exists("go"))
		nanosleep(&ms, NULL);
	return NULL;
}

static void *later(void *arg)
{
	struct timespec ms = { 0, 1000000L };
	(void)arg;
	last_tid = gettid();
	for (int i = 0; i < 3; i++)
		nanosleep(&ms, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: att_turnover DIR\n");
		return 2;
	}
	dir = argv[1];
	pthread_t t[EARLY];
	for (int i = 0; i < EARLY; i++)
		if (pthread_create(&t[i], NULL, early, NULL) != 0)
			return 3;
	char p[4096];
	snprintf(p, sizeof(p), "%s/ready", dir);
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	int bad = 0;
	for (int i = 0; i < EARLY; i++)
		bad += pthread_join(t[i], NULL) != 0;
	long made = 0;
	while (!exists("end")) {
		pthread_t l;
		if (pthread_create(&l, NULL, later, NULL) != 0 || pthread_join(l, NULL) != 0) {
			bad++;
			break;
		}
		if (++made == 200) {
			snprintf(p, sizeof(p), "%s/last.tmp", dir);
			FILE *f = fopen(p, "w");
			if (!f)
				return 3;
			fprintf(f, "%d\n", (int)last_tid);
			fclose(f);
			char q[4096];
			snprintf(q, sizeof(q), "%s/last", dir);
			rename(p, q);
		}
	}
	printf("made_200=%d bad=%d\n", made >= 200, bad);
	return 10;
}
