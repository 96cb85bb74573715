/* SPDX-License-Identifier: MIT */
/*
 * Test program for `ctrace attach`: four threads block in a mutex, a condition variable,
 * a semaphore and epoll_wait; the process is started without the tracer and waits for
 * the test through files in DIR:
 *   writes DIR/ready once the four threads are blocked (the test attaches then),
 *   waits for DIR/go, then runs ROUNDS rounds in which each thread waits about 20 ms in
 *   its function (mutex_waiter, cond_waiter, sem_waiter, epoll_waiter), measuring the
 *   waits itself (<kind>_ns=N, <kind>_waits=N on stderr: they depend on scheduling),
 *   writes DIR/waited and waits for DIR/end (the test detaches first), then joins the
 *   threads and prints the same lines whatever the tracer did (stdout), exits 3.
 * Every call that may fail with EINTR is counted: a stop by the tracer must not show.
 *
 * usage: att_waits DIR [ROUNDS]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static const char *dir;
static int rounds = 5;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int cond_gen;
static sem_t sem;
static int ep, pfd[2];
static atomic_int blocked, eintr, mdone, mround;
static long long wait_ns[4];
static int waits[4];

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void msleep(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static int exists(const char *name)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static void touch(const char *name)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int f = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (f >= 0)
		close(f);
}

static void await(const char *name)
{
	while (!exists(name))
		msleep(5);
}

/* round 0 is the wait in progress at the attach */
static void *mutex_waiter(void *arg)
{
	(void)arg;
	for (int r = 0; r <= rounds; r++) {
		atomic_fetch_add(&blocked, 1);
		long long t0 = now_ns();
		pthread_mutex_lock(&mu); /* att mutex */
		if (r) {
			wait_ns[0] += now_ns() - t0;
			waits[0]++;
		}
		pthread_mutex_unlock(&mu);
		atomic_store(&mdone, r + 1);
		while (atomic_load(&mround) <= r && r < rounds) /* main takes the lock again */
			msleep(1);
	}
	return NULL;
}

static void *cond_waiter(void *arg)
{
	(void)arg;
	for (int r = 0; r <= rounds; r++) {
		pthread_mutex_lock(&cmu);
		int g = cond_gen;
		atomic_fetch_add(&blocked, 1);
		long long t0 = now_ns();
		while (cond_gen == g)
			pthread_cond_wait(&cv, &cmu); /* att cond */
		if (r) {
			wait_ns[1] += now_ns() - t0;
			waits[1]++;
		}
		pthread_mutex_unlock(&cmu);
	}
	return NULL;
}

static void *sem_waiter(void *arg)
{
	(void)arg;
	for (int r = 0; r <= rounds; r++) {
		atomic_fetch_add(&blocked, 1);
		long long t0 = now_ns();
		while (sem_wait(&sem) != 0) /* att sem */
			if (errno == EINTR)
				atomic_fetch_add(&eintr, 1);
		if (r) {
			wait_ns[2] += now_ns() - t0;
			waits[2]++;
		}
	}
	return NULL;
}

static void *epoll_waiter(void *arg)
{
	(void)arg;
	for (int r = 0; r <= rounds; r++) {
		struct epoll_event ev;
		atomic_fetch_add(&blocked, 1);
		long long t0 = now_ns();
		int n;
		while ((n = epoll_wait(ep, &ev, 1, -1)) < 0) /* att epoll */
			if (errno == EINTR)
				atomic_fetch_add(&eintr, 1);
		char c;
		if (read(pfd[0], &c, 1) != 1)
			abort();
		if (r) {
			wait_ns[3] += now_ns() - t0;
			waits[3]++;
		}
	}
	return NULL;
}

/* One round: every waiter is blocked, then released after about 20 ms. */
static void release_round(int holding)
{
	msleep(20);
	if (holding)
		pthread_mutex_unlock(&mu);
	pthread_mutex_lock(&cmu);
	cond_gen++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&cmu);
	sem_post(&sem);
	if (write(pfd[1], "x", 1) != 1)
		abort();
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: att_waits DIR [ROUNDS]\n");
		return 2;
	}
	dir = argv[1];
	if (argc > 2)
		rounds = atoi(argv[2]);
	sem_init(&sem, 0, 0);
	if (pipe(pfd) != 0 || (ep = epoll_create1(0)) < 0)
		return 2;
	struct epoll_event ev = { .events = EPOLLIN };
	epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev);
	pthread_t t[4];
	void *(*fn[4])(void *) = { mutex_waiter, cond_waiter, sem_waiter, epoll_waiter };
	pthread_mutex_lock(&mu);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, fn[i], NULL);
	for (int r = 0; r <= rounds; r++) {
		while (atomic_load(&blocked) < 4 * (r + 1))
			msleep(1);
		msleep(5); /* into the blocking calls */
		if (r == 0) {
			touch("ready");
			await("go");
		}
		release_round(1);
		if (r < rounds) {
			/* the lock back for the next round, once the mutex waiter dropped it */
			while (atomic_load(&mdone) < r + 1)
				msleep(1);
			pthread_mutex_lock(&mu);
			atomic_store(&mround, r + 1);
		}
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	touch("waited");
	await("end");
	static const char *names[4] = { "mutex", "cond", "sem", "epoll" };
	for (int i = 0; i < 4; i++)
		fprintf(stderr, "%s_ns=%lld %s_waits=%d\n", names[i], wait_ns[i], names[i], waits[i]);
	printf("rounds=%d mutex=%d cond=%d sem=%d epoll=%d eintr=%d\n", rounds, waits[0],
	       waits[1], waits[2], waits[3], atomic_load(&eintr));
	return 3;
}
