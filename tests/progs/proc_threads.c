/* SPDX-License-Identifier: MIT */
/*
 * Test program for thread churn: WAVES waves of PER_WAVE short-lived threads, each wave
 * created, then released together (every thread waits on a semaphore main posts
 * PER_WAVE times once the wave is created), then joined. Prints "threads=N" (created) and
 * "vmhwm_kb=K" (peak resident memory, /proc/self/status VmHWM).
 *
 * usage: proc_threads [WAVES [PER_WAVE]]    defaults: 100 1000
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sem_t go;

static void *worker(void *arg)
{
	(void)arg;
	sem_wait(&go);
	return NULL;
}

static long vmhwm_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	int waves = argc > 1 ? atoi(argv[1]) : 100, per = argc > 2 ? atoi(argv[2]) : 1000;
	pthread_t *t = calloc((size_t)per, sizeof(*t));
	pthread_attr_t attr;
	long created = 0;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	sem_init(&go, 0, 0);
	for (int w = 0; w < waves; w++) {
		int n = 0;
		for (; n < per; n++) {
			if (pthread_create(&t[n], &attr, worker, NULL) != 0)
				break;
		}
		created += n;
		for (int i = 0; i < n; i++)
			sem_post(&go);
		for (int i = 0; i < n; i++)
			pthread_join(t[i], NULL);
	}
	printf("threads=%ld vmhwm_kb=%ld\n", created, vmhwm_kb());
	return 0;
}
