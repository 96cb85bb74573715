/* SPDX-License-Identifier: MIT */
/*
 * Test program for lock-order inversions: the orders are taken by threads one after the
 * other (each joined before the next starts), so no run ever deadlocks; only the order
 * graph can tell. Each lock call that makes an edge carries a marker comment that the
 * test finds the line of.
 *
 *   inversion   thread "ab" takes lock_a then lock_b; thread "ba" lock_b then lock_a
 *   consistent  both threads take lock_a then lock_b
 *   three       "t1" a then b, "t2" b then c, "t3" c then a (a cycle of three)
 *   retaken     a then b, then b released and a released; later b alone, then a
 *               alone, a and b out of order (a released first) and so on: every time
 *               a lock is held, the order is a before b
 *   rwlock      "wr" write-locks rw then takes lock_a; "rd" takes lock_a then
 *               read-locks rw
 *   spin        "sp" takes spin then lock_a; "as" lock_a then spin
 *   trylock     "ab" a then b; "ba" holds b and only trylocks a (no edge)
 *   readers     "r1" read-locks rw then takes lock_a; "r2" takes lock_a then read-locks
 *               rw: readers do not wait for each other, so no cycle
 *   wide        "wide" holds lock_a and takes each of the NWIDE locks of an array in turn
 *               (NWIDE distinct edges: more than the recorder keeps per thread); then
 *               "back" takes the array's first lock, then lock_a
 *
 * usage: lo_order MODE
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_c = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t spin;
#define NWIDE 4000
static pthread_mutex_t wide[NWIDE]; /* all zero: default mutexes */

static void *take_a_then_b(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock_a); /* ab-holds-a */
	pthread_mutex_lock(&lock_b); /* ab-takes-b */
	pthread_mutex_unlock(&lock_b);
	pthread_mutex_unlock(&lock_a);
	return NULL;
}

static void *take_b_then_a(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock_b); /* ba-holds-b */
	pthread_mutex_lock(&lock_a); /* ba-takes-a */
	pthread_mutex_unlock(&lock_a);
	pthread_mutex_unlock(&lock_b);
	return NULL;
}

static void *take_b_then_c(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock_b); /* t2-holds-b */
	pthread_mutex_lock(&lock_c); /* t2-takes-c */
	pthread_mutex_unlock(&lock_c);
	pthread_mutex_unlock(&lock_b);
	return NULL;
}

static void *take_c_then_a(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock_c); /* t3-holds-c */
	pthread_mutex_lock(&lock_a); /* t3-takes-a */
	pthread_mutex_unlock(&lock_a);
	pthread_mutex_unlock(&lock_c);
	return NULL;
}

static void *retaken(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++) {
		pthread_mutex_lock(&lock_a);
		pthread_mutex_lock(&lock_b);
		pthread_mutex_unlock(&lock_b);
		pthread_mutex_unlock(&lock_a);
		/* b alone, released, then a alone: no b -> a */
		pthread_mutex_lock(&lock_b);
		pthread_mutex_unlock(&lock_b);
		pthread_mutex_lock(&lock_a);
		pthread_mutex_unlock(&lock_a);
		/* a and b released out of order (a first), then c taken while b is held, and
		 * a taken again after b's release */
		pthread_mutex_lock(&lock_a);
		pthread_mutex_lock(&lock_b);
		pthread_mutex_unlock(&lock_a);
		pthread_mutex_lock(&lock_c);
		pthread_mutex_unlock(&lock_c);
		pthread_mutex_unlock(&lock_b);
		pthread_mutex_lock(&lock_a);
		pthread_mutex_unlock(&lock_a);
	}
	return NULL;
}

static void *rw_then_a(void *arg)
{
	(void)arg;
	pthread_rwlock_wrlock(&rw); /* wr-holds-rw */
	pthread_mutex_lock(&lock_a); /* wr-takes-a */
	pthread_mutex_unlock(&lock_a);
	pthread_rwlock_unlock(&rw);
	return NULL;
}

static void *a_then_rd(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock_a); /* rd-holds-a */
	pthread_rwlock_rdlock(&rw); /* rd-takes-rw */
	pthread_rwlock_unlock(&rw);
	pthread_mutex_unlock(&lock_a);
	return NULL;
}

static void *spin_then_a(void *arg)
{
	(void)arg;
	pthread_spin_lock(&spin); /* sp-holds-spin */
	pthread_mutex_lock(&lock_a); /* sp-takes-a */
	pthread_mutex_unlock(&lock_a);
	pthread_spin_unlock(&spin);
	return NULL;
}

static void *a_then_spin(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock_a); /* as-holds-a */
	pthread_spin_lock(&spin); /* as-takes-spin */
	pthread_spin_unlock(&spin);
	pthread_mutex_unlock(&lock_a);
	return NULL;
}

static void *rd_then_a(void *arg)
{
	(void)arg;
	pthread_rwlock_rdlock(&rw);
	pthread_mutex_lock(&lock_a);
	pthread_mutex_unlock(&lock_a);
	pthread_rwlock_unlock(&rw);
	return NULL;
}

static void *b_then_try_a(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock_b);
	if (pthread_mutex_trylock(&lock_a) == 0)
		pthread_mutex_unlock(&lock_a);
	pthread_mutex_unlock(&lock_b);
	return NULL;
}

static void *a_then_wide(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock_a); /* wide-holds-a */
	for (int i = 0; i < NWIDE; i++) {
		pthread_mutex_lock(&wide[i]); /* wide-takes-i */
		pthread_mutex_unlock(&wide[i]);
	}
	pthread_mutex_unlock(&lock_a);
	return NULL;
}

static void *wide0_then_a(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&wide[0]); /* back-holds-0 */
	pthread_mutex_lock(&lock_a); /* back-takes-a */
	pthread_mutex_unlock(&lock_a);
	pthread_mutex_unlock(&wide[0]);
	return NULL;
}

struct job {
	const char *name;
	void *(*fn)(void *);
};

/* The thread names itself before it takes any lock. */
static void *start(void *arg)
{
	const struct job *j = arg;
	pthread_setname_np(pthread_self(), j->name);
	return j->fn(NULL);
}

/* Runs fn in a thread named name and joins it. */
static int run(const char *name, void *(*fn)(void *))
{
	struct job j = { name, fn };
	pthread_t t;
	if (pthread_create(&t, NULL, start, &j) != 0)
		return 1;
	return pthread_join(t, NULL) != 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int bad = 0;

	pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
	if (!strcmp(mode, "inversion")) {
		bad |= run("ab", take_a_then_b);
		bad |= run("ba", take_b_then_a);
	} else if (!strcmp(mode, "consistent")) {
		bad |= run("ab", take_a_then_b);
		bad |= run("ab2", take_a_then_b);
	} else if (!strcmp(mode, "three")) {
		bad |= run("t1", take_a_then_b);
		bad |= run("t2", take_b_then_c);
		bad |= run("t3", take_c_then_a);
	} else if (!strcmp(mode, "retaken")) {
		bad |= run("re1", retaken);
		bad |= run("re2", retaken);
	} else if (!strcmp(mode, "rwlock")) {
		bad |= run("wr", rw_then_a);
		bad |= run("rd", a_then_rd);
	} else if (!strcmp(mode, "spin")) {
		bad |= run("sp", spin_then_a);
		bad |= run("as", a_then_spin);
	} else if (!strcmp(mode, "readers")) {
		bad |= run("r1", rd_then_a);
		bad |= run("r2", a_then_rd);
	} else if (!strcmp(mode, "trylock")) {
		bad |= run("ab", take_a_then_b);
		bad |= run("ba", b_then_try_a);
	} else if (!strcmp(mode, "wide")) {
		bad |= run("wide", a_then_wide);
		bad |= run("back", wide0_then_a);
	} else {
		fprintf(stderr, "usage: lo_order inversion|consistent|three|retaken|rwlock|spin|trylock|readers|wide\n");
		return 2;
	}
	printf("done mode=%s\n", mode);
	return bad;
}
