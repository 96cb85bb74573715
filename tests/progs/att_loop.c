/* SPDX-License-Identifier: MIT */
/*
 * Test program for `ctrace attach` in a loop: threads that never stop waiting (two mutex
 * contenders, a condition-variable ping-pong, a semaphore ping-pong, an epoll reader fed
 * through a pipe every millisecond, by a feeder that also sends the process a signal it
 * ignores each time: SIGURG (ignored by default) or SIGPIPE (SIG_IGN); a thread stopped
 * by a tracer gets even those queued) until DIR/end exists; DIR/ready once they run. Then
 * it checks its own books and prints them (stdout, the same whatever the tracer did):
 * the mutex counter against the contenders' own counts, pings against pongs, bytes
 * written against bytes read, how many calls failed with EINTR (a stop by the tracer
 * must not show), and whether every thread's errno stayed as it left it (each sets it to
 * ERRNO_MINE and checks it at every turn of its loop: the calls that succeed leave it
 * alone, a failed one sets it back; the call an attach makes on a stopped thread must
 * not change it), and the number its next open gets (an attach must leave no fd at the
 * program's numbers). Exits 5. With "tail", one more thread, made last, only sleeps: the
 * newest thread, which another tracer can hold while the others come before it.
 *
 * usage: att_loop DIR [tail]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static const char *dir;
static atomic_int stop, qstop, eintr;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long counter, mine[2];
static pthread_mutex_t cmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int turn;
static long pings, pongs, sem_pings, sem_pongs, written, got;
static sem_t sa, sb;
static int ep, pfd[2];
static atomic_int errno_lost;

#define ERRNO_MINE 4242

/* A turn of a thread's loop: errno as the thread set it, else counted. */
static void errno_book(void)
{
	if (errno != ERRNO_MINE)
		atomic_fetch_add(&errno_lost, 1);
	errno = ERRNO_MINE;
}

static void usleep_(long us)
{
	struct timespec ts = { 0, us * 1000 };
	while (nanosleep(&ts, &ts) != 0) {
		atomic_fetch_add(&eintr, 1);
		errno = ERRNO_MINE;
	}
}

static void *contender(void *arg)
{
	long *m = arg;
	errno = ERRNO_MINE;
	while (!atomic_load(&stop)) {
		errno_book();
		pthread_mutex_lock(&mu);
		counter++;
		(*m)++;
		usleep_(50);
		pthread_mutex_unlock(&mu);
		usleep_(50);
	}
	return NULL;
}

static void *pinger(void *arg)
{
	(void)arg;
	errno = ERRNO_MINE;
	while (!atomic_load(&stop)) {
		errno_book();
		pthread_mutex_lock(&cmu);
		while (turn != 0)
			pthread_cond_wait(&cv, &cmu);
		turn = 1;
		pings++;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&cmu);
		usleep_(200);
	}
	return NULL;
}

static void *ponger(void *arg)
{
	(void)arg;
	errno = ERRNO_MINE;
	pthread_mutex_lock(&cmu);
	for (;;) {
		errno_book();
		while (turn != 1 && !atomic_load(&qstop))
			pthread_cond_wait(&cv, &cmu);
		if (turn != 1)
			break;
		turn = 0;
		pongs++;
		pthread_cond_signal(&cv);
	}
	pthread_mutex_unlock(&cmu);
	return NULL;
}

static void sem_wait_(sem_t *s)
{
	while (sem_wait(s) != 0) {
		if (errno == EINTR)
			atomic_fetch_add(&eintr, 1);
		errno = ERRNO_MINE;
	}
}

static void *sem_pinger(void *arg)
{
	(void)arg;
	errno = ERRNO_MINE;
	while (!atomic_load(&stop)) {
		errno_book();
		sem_post(&sa);
		sem_wait_(&sb);
		sem_pings++;
		usleep_(200);
	}
	return NULL;
}

static void *sem_ponger(void *arg)
{
	(void)arg;
	errno = ERRNO_MINE;
	for (;;) {
		errno_book();
		sem_wait_(&sa);
		if (atomic_load(&qstop))
			break;
		sem_pongs++;
		sem_post(&sb);
	}
	return NULL;
}

static void *feeder(void *arg)
{
	(void)arg;
	errno = ERRNO_MINE;
	while (!atomic_load(&stop)) {
		errno_book();
		if (write(pfd[1], "x", 1) == 1)
			written++;
		else
			errno = ERRNO_MINE;
		kill(getpid(), written % 2 ? SIGURG : SIGPIPE);
		usleep_(1000);
	}
	return NULL;
}

static void *tail(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		usleep_(20000);
	return NULL;
}

static void *reader(void *arg)
{
	(void)arg;
	errno = ERRNO_MINE;
	for (;;) {
		struct epoll_event ev;
		errno_book();
		int n = epoll_wait(ep, &ev, 1, -1);
		if (n < 0) {
			if (errno == EINTR)
				atomic_fetch_add(&eintr, 1);
			errno = ERRNO_MINE;
			continue;
		}
		char c;
		ssize_t r;
		while ((r = read(pfd[0], &c, 1)) < 0 && errno == EINTR)
			atomic_fetch_add(&eintr, 1);
		if (r < 0)
			errno = ERRNO_MINE;
		if (r == 1 && c == 'q')
			break;
		if (r == 1)
			got++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: att_loop DIR [tail]\n");
		return 2;
	}
	dir = argv[1];
	signal(SIGPIPE, SIG_IGN);
	sem_init(&sa, 0, 0);
	sem_init(&sb, 0, 0);
	if (pipe(pfd) != 0 || (ep = epoll_create1(0)) < 0)
		return 2;
	struct epoll_event ev = { .events = EPOLLIN };
	epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev);
	pthread_t t[8];
	pthread_create(&t[0], NULL, contender, &mine[0]);
	pthread_create(&t[1], NULL, contender, &mine[1]);
	pthread_create(&t[2], NULL, pinger, NULL);
	pthread_create(&t[3], NULL, ponger, NULL);
	pthread_create(&t[4], NULL, sem_pinger, NULL);
	pthread_create(&t[5], NULL, sem_ponger, NULL);
	pthread_create(&t[6], NULL, feeder, NULL);
	pthread_create(&t[7], NULL, reader, NULL);
	pthread_t tl;
	int with_tail = argc > 2 && !strcmp(argv[2], "tail");
	if (with_tail)
		pthread_create(&tl, NULL, tail, NULL);
	char p[4096];
	snprintf(p, sizeof(p), "%s/ready", dir);
	close(open(p, O_WRONLY | O_CREAT, 0644));
	snprintf(p, sizeof(p), "%s/end", dir);
	while (access(p, F_OK) != 0) { /* ENOENT: errno set again for the sleep */
		errno = ERRNO_MINE;
		usleep_(5000);
		errno_book();
	}
	atomic_store(&stop, 1);
	/* the threads that watch stop, then the ones woken by qstop */
	static const int first[] = { 0, 1, 2, 4, 6 };
	for (int i = 0; i < 5; i++)
		pthread_join(t[first[i]], NULL);
	if (with_tail)
		pthread_join(tl, NULL);
	atomic_store(&qstop, 1);
	pthread_mutex_lock(&cmu);
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&cmu);
	sem_post(&sa);
	if (write(pfd[1], "q", 1) != 1)
		return 2;
	pthread_join(t[3], NULL);
	pthread_join(t[5], NULL);
	pthread_join(t[7], NULL);
	fprintf(stderr, "counter=%ld pings=%ld sem_pings=%ld bytes=%ld\n", counter, pings,
		sem_pings, written);
	int next_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	printf("mutex_ok=%d cond_ok=%d sem_ok=%d epoll_ok=%d eintr=%d errno_lost=%d next_fd=%d\n",
	       counter == mine[0] + mine[1] && counter > 0, pings == pongs && pings > 0,
	       sem_pings == sem_pongs && sem_pings > 0, written == got && got > 0,
	       atomic_load(&eintr), atomic_load(&errno_lost), next_fd);
	return 5;
}
