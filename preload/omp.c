/* SPDX-License-Identifier: MIT */
/*
 * OpenMP (libgomp) synchronization, profile sync: barriers (kind omp_barrier), critical
 * sections (omp_critical) and OpenMP locks (omp_lock).
 *
 * libgomp makes its futex calls with inline syscall instructions, so none of its waits
 * reaches a libc wrapper; its exported entry points are interposed instead. Programs call
 * them directly (gcc lowers `#pragma omp barrier` to GOMP_barrier, `critical` to
 * GOMP_critical_start/end or GOMP_critical_name_start/end), and libgomp's own internal
 * calls go through hidden aliases, so each program-level operation is seen once.
 *
 * libgomp is often not loaded when libctrace starts (a plugin may bring it in later), and
 * libctrace never loads it: its functions are resolved when the first call arrives, with
 * the version a compiler binds today (dlvsym, RTLD_NEXT, else the loaded libgomp.so.1 by
 * name). The nest locks have two ABIs (OMP_1.0: {owner tid, count}; OMP_3.0: {lock,
 * count, owner task}): both are exported under their version, each forwarded to its own.
 *
 * Barriers: every arrival is recorded as a wait on its team (the object is libctrace's
 * record of the team, see below); the last arrival of a round does not wait: its pair
 * says so (result released) and it records the release, at its arrival, before the real
 * barrier lets the others go, so each waiter's end names exactly that release. The last
 * arrival is known by counting arrivals against omp_get_num_threads(), which needs the
 * team: GOMP_parallel, GOMP_parallel_loop_* and GOMP_parallel_sections are interposed to
 * run each thread's part of the region through ct_omp_region, which keeps the team in a
 * thread-local pointer. A barrier in a region started another way (GOMP_parallel_start
 * of pre-4.9 compilers, GOMP_parallel_reductions, GOMP_teams, ...) is recorded as a wait
 * on one per-process object with no release. What a barrier wait
 * covers: from the arrival to the release, including the explicit tasks the thread ran
 * while it waited there. Barriers inside libgomp (the one ending a parallel region, the
 * workers' idle wait for the next region) are not reachable and not recorded.
 * GOMP_loop_end and GOMP_sections_end (the barrier ending a worksharing loop or sections
 * without nowait) are barriers of the team too.
 *
 * Critical sections and locks are mutex-like: a call that finds the lock free goes
 * straight to libgomp (the lock word is peeked, as libgomp's first compare-and-swap would
 * see it; the unnamed critical section's lock is private to libgomp, so libctrace keeps
 * its own busy flag for it); a held one is a recorded wait. Releases made while someone
 * waits are recorded, with a sequence number, as for mutexes.
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdlib.h>

#include "wait.h"

/* ---- the real libgomp functions, resolved at the first call ---- */

/* GOMP_parallel_loop_{static,dynamic,guided}: fn, data, num_threads, start, end, incr,
 * chunk_size, flags; the _runtime ones have no chunk_size. */
#define LOOP_PARAMS (void (*)(void *), void *, unsigned, long, long, long, long, unsigned)
#define RUNTIME_PARAMS (void (*)(void *), void *, unsigned, long, long, long, unsigned)

#define OMP_FUNCS(X) \
	X(void, barrier, "GOMP_barrier", "GOMP_1.0", (void)) \
	X(bool, barrier_cancel, "GOMP_barrier_cancel", "GOMP_4.0", (void)) \
	X(void, loop_end, "GOMP_loop_end", "GOMP_1.0", (void)) \
	X(bool, loop_end_cancel, "GOMP_loop_end_cancel", "GOMP_4.0", (void)) \
	X(void, sections_end, "GOMP_sections_end", "GOMP_1.0", (void)) \
	X(bool, sections_end_cancel, "GOMP_sections_end_cancel", "GOMP_4.0", (void)) \
	X(void, parallel, "GOMP_parallel", "GOMP_4.0", \
	  (void (*)(void *), void *, unsigned, unsigned)) \
	X(void, loop_static, "GOMP_parallel_loop_static", "GOMP_4.0", LOOP_PARAMS) \
	X(void, loop_dynamic, "GOMP_parallel_loop_dynamic", "GOMP_4.0", LOOP_PARAMS) \
	X(void, loop_guided, "GOMP_parallel_loop_guided", "GOMP_4.0", LOOP_PARAMS) \
	X(void, loop_nm_dynamic, "GOMP_parallel_loop_nonmonotonic_dynamic", "GOMP_4.5", \
	  LOOP_PARAMS) \
	X(void, loop_nm_guided, "GOMP_parallel_loop_nonmonotonic_guided", "GOMP_4.5", \
	  LOOP_PARAMS) \
	X(void, loop_runtime, "GOMP_parallel_loop_runtime", "GOMP_4.0", RUNTIME_PARAMS) \
	X(void, loop_nm_runtime, "GOMP_parallel_loop_nonmonotonic_runtime", "GOMP_5.0", \
	  RUNTIME_PARAMS) \
	X(void, loop_mnm_runtime, "GOMP_parallel_loop_maybe_nonmonotonic_runtime", "GOMP_5.0", \
	  RUNTIME_PARAMS) \
	X(void, par_sections, "GOMP_parallel_sections", "GOMP_4.0", \
	  (void (*)(void *), void *, unsigned, unsigned, unsigned)) \
	X(void, critical_start, "GOMP_critical_start", "GOMP_1.0", (void)) \
	X(void, critical_end, "GOMP_critical_end", "GOMP_1.0", (void)) \
	X(void, critical_name_start, "GOMP_critical_name_start", "GOMP_1.0", (void **)) \
	X(void, critical_name_end, "GOMP_critical_name_end", "GOMP_1.0", (void **)) \
	X(void, set_lock, "omp_set_lock", "OMP_3.0", (void *)) \
	X(void, unset_lock, "omp_unset_lock", "OMP_3.0", (void *)) \
	X(void, set_nest_lock_30, "omp_set_nest_lock", "OMP_3.0", (void *)) \
	X(void, unset_nest_lock_30, "omp_unset_nest_lock", "OMP_3.0", (void *)) \
	X(void, set_nest_lock_10, "omp_set_nest_lock", "OMP_1.0", (void *)) \
	X(void, unset_nest_lock_10, "omp_unset_nest_lock", "OMP_1.0", (void *)) \
	X(int, num_threads, "omp_get_num_threads", "OMP_1.0", (void)) \
	X(int, level, "omp_get_level", "OMP_3.0", (void))

static struct {
#define X(ret, field, name, version, params) ret(*field) params;
	OMP_FUNCS(X)
#undef X
} omp;

static void *omp_lookup(const char *name, const char *version)
{
	void *p = dlvsym(RTLD_NEXT, name, version);
	if (!p) {
		/* loaded RTLD_LOCAL by a plugin: not in the global scope */
		void *h = dlopen("libgomp.so.1", RTLD_LAZY | RTLD_NOLOAD);
		if (h) {
			p = dlvsym(h, name, version);
			REAL(dlclose)(h);
		}
	}
	return p;
}

/* The real function of field; every one of them on the first call. Outside libgomp's
 * presence (a program defining GOMP_* itself without libgomp) there is nothing to call:
 * say so and abort, as the dynamic linker would have. */
static __attribute__((noinline, cold)) void omp_resolve(void)
{
#define X(ret, field, name, version, params) \
	if (!omp.field) \
		__atomic_store_n(&omp.field, (ret(*) params)omp_lookup(name, version), \
				 __ATOMIC_RELEASE);
	OMP_FUNCS(X)
#undef X
}

static __attribute__((noreturn, cold)) void omp_missing(const char *name)
{
	ct_warn("libgomp's ", name, " cannot be found; aborting");
	abort();
}

#define OMP(field, name) \
	(likely(__atomic_load_n(&omp.field, __ATOMIC_ACQUIRE) != NULL) ? omp.field \
	 : (omp_resolve(), omp.field ? omp.field : (omp_missing(name), omp.field)))

/* The interposed entry points (libgomp's own header is not needed to build libctrace). */
CT_EXPORT void GOMP_parallel(void (*fn)(void *), void *data, unsigned nthreads,
			     unsigned flags);
CT_EXPORT void GOMP_barrier(void);
CT_EXPORT bool GOMP_barrier_cancel(void);
CT_EXPORT void GOMP_loop_end(void);
CT_EXPORT bool GOMP_loop_end_cancel(void);
CT_EXPORT void GOMP_sections_end(void);
CT_EXPORT bool GOMP_sections_end_cancel(void);
CT_EXPORT void GOMP_critical_start(void);
CT_EXPORT void GOMP_critical_end(void);
CT_EXPORT void GOMP_critical_name_start(void **pptr);
CT_EXPORT void GOMP_critical_name_end(void **pptr);
CT_EXPORT void omp_set_lock(void *l);
CT_EXPORT void omp_unset_lock(void *l);

/* ---- teams ---- */

struct omp_team {
	void (*fn)(void *);
	void *data;
	int level;              /* omp_get_level() inside the region */
	atomic_uint arrived;    /* barrier arrivals so far, all rounds */
};

static CT_TLS struct omp_team *cur_team;
static struct omp_team omp_unknown_team; /* the object of barriers in regions not seen start */

/* Each thread's part of a region started by GOMP_parallel. */
static void ct_omp_region(void *p)
{
	struct omp_team *t = p, *prev = cur_team;
	if (t->level == 0)
		__atomic_store_n(&t->level, OMP(level, "omp_get_level")(), __ATOMIC_RELAXED);
	cur_team = t;
	t->fn(t->data);
	cur_team = prev;
}

CT_EXPORT void GOMP_parallel(void (*fn)(void *), void *data, unsigned nthreads, unsigned flags)
{
	void (*real)(void (*)(void *), void *, unsigned, unsigned) =
		OMP(parallel, "GOMP_parallel");
	if (!atomic_load_explicit(&ct_active, memory_order_relaxed))
		return real(fn, data, nthreads, flags);
	/* every thread of the team returns from its part before the real call returns */
	struct omp_team t = { .fn = fn, .data = data };
	real(ct_omp_region, &t, nthreads, flags);
}

/* The combined constructs (`parallel for`, `parallel sections`) start their teams with
 * entries of their own: the same substitution. */
#define PARALLEL_LOOP(name, field) \
	CT_EXPORT void name(void (*fn)(void *), void *data, unsigned nthreads, long start, \
			    long end, long incr, long chunk, unsigned flags); \
	void name(void (*fn)(void *), void *data, unsigned nthreads, long start, long end, \
		  long incr, long chunk, unsigned flags) \
	{ \
		void (*real) LOOP_PARAMS = OMP(field, #name); \
		if (!atomic_load_explicit(&ct_active, memory_order_relaxed)) \
			return real(fn, data, nthreads, start, end, incr, chunk, flags); \
		struct omp_team t = { .fn = fn, .data = data }; \
		real(ct_omp_region, &t, nthreads, start, end, incr, chunk, flags); \
	}
PARALLEL_LOOP(GOMP_parallel_loop_static, loop_static)
PARALLEL_LOOP(GOMP_parallel_loop_dynamic, loop_dynamic)
PARALLEL_LOOP(GOMP_parallel_loop_guided, loop_guided)
PARALLEL_LOOP(GOMP_parallel_loop_nonmonotonic_dynamic, loop_nm_dynamic)
PARALLEL_LOOP(GOMP_parallel_loop_nonmonotonic_guided, loop_nm_guided)

#define PARALLEL_RUNTIME(name, field) \
	CT_EXPORT void name(void (*fn)(void *), void *data, unsigned nthreads, long start, \
			    long end, long incr, unsigned flags); \
	void name(void (*fn)(void *), void *data, unsigned nthreads, long start, long end, \
		  long incr, unsigned flags) \
	{ \
		void (*real) RUNTIME_PARAMS = OMP(field, #name); \
		if (!atomic_load_explicit(&ct_active, memory_order_relaxed)) \
			return real(fn, data, nthreads, start, end, incr, flags); \
		struct omp_team t = { .fn = fn, .data = data }; \
		real(ct_omp_region, &t, nthreads, start, end, incr, flags); \
	}
PARALLEL_RUNTIME(GOMP_parallel_loop_runtime, loop_runtime)
PARALLEL_RUNTIME(GOMP_parallel_loop_nonmonotonic_runtime, loop_nm_runtime)
PARALLEL_RUNTIME(GOMP_parallel_loop_maybe_nonmonotonic_runtime, loop_mnm_runtime)

CT_EXPORT void GOMP_parallel_sections(void (*fn)(void *), void *data, unsigned nthreads,
				      unsigned count, unsigned flags);
void GOMP_parallel_sections(void (*fn)(void *), void *data, unsigned nthreads, unsigned count,
			    unsigned flags)
{
	void (*real)(void (*)(void *), void *, unsigned, unsigned, unsigned) =
		OMP(par_sections, "GOMP_parallel_sections");
	if (!atomic_load_explicit(&ct_active, memory_order_relaxed))
		return real(fn, data, nthreads, count, flags);
	struct omp_team t = { .fn = fn, .data = data };
	real(ct_omp_region, &t, nthreads, count, flags);
}

/* The team a barrier of this thread belongs to, if known (NULL: not known). */
static struct omp_team *team_here(void)
{
	struct omp_team *t = cur_team;
	if (t && t->level != OMP(level, "omp_get_level")())
		return NULL; /* a nested region started another way */
	return t;
}

/* A barrier: ret is the real call's result (the cancel variants return whether the
 * region was cancelled). */
static __attribute__((noinline)) bool traced_barrier(int which)
{
	int n = OMP(num_threads, "omp_get_num_threads")();
	bool r = false;
	if (n <= 1)
		goto untraced;
	struct omp_team *t = team_here();
	if (!ct_on()) {
		/* still counted: the rounds of the team stay aligned */
		if (t)
			atomic_fetch_add(&t->arrived, 1);
		goto untraced;
	}
	struct ct_wait w;
	struct ct_release rel = { 0 };
	ct_wait_register(&w, CT_K_OMP_BARRIER, t ? (void *)t : (void *)&omp_unknown_team);
	/* counted after registering: when the last arrival counts, every other arrival of the
	 * round has read the sequence number its wait began with */
	int last = t && (atomic_fetch_add(&t->arrived, 1) + 1) % (unsigned)n == 0;
	if (last && w.sh) {
		rel.sh = w.sh;
		rel.obj = w.obj;
		rel.kind = CT_K_OMP_BARRIER;
		rel.waiters = atomic_load(&w.sh->waiters) - 1;
		rel.seq = atomic_fetch_add(&w.sh->seq, 1) + 1;
	}
	ct_wait_record(&w, 0, 0, 0);
	if (last && w.sh)
		ct_release_emit(&rel, w.stack, w.t0, 0);
	switch (which) {
	case 0: OMP(barrier, "GOMP_barrier")(); break;
	case 1: r = OMP(barrier_cancel, "GOMP_barrier_cancel")(); break;
	case 2: OMP(loop_end, "GOMP_loop_end")(); break;
	case 3: r = OMP(loop_end_cancel, "GOMP_loop_end_cancel")(); break;
	case 4: OMP(sections_end, "GOMP_sections_end")(); break;
	default: r = OMP(sections_end_cancel, "GOMP_sections_end_cancel")(); break;
	}
	ct_wait_end_result(&w, r, last ? CT_R_RELEASED : CT_R_ACQUIRED);
	return r;
untraced:
	switch (which) {
	case 0: OMP(barrier, "GOMP_barrier")(); return false;
	case 1: return OMP(barrier_cancel, "GOMP_barrier_cancel")();
	case 2: OMP(loop_end, "GOMP_loop_end")(); return false;
	case 3: return OMP(loop_end_cancel, "GOMP_loop_end_cancel")();
	case 4: OMP(sections_end, "GOMP_sections_end")(); return false;
	default: return OMP(sections_end_cancel, "GOMP_sections_end_cancel")();
	}
}

CT_EXPORT void GOMP_barrier(void) { traced_barrier(0); }
CT_EXPORT bool GOMP_barrier_cancel(void) { return traced_barrier(1); }
CT_EXPORT void GOMP_loop_end(void) { traced_barrier(2); }
CT_EXPORT bool GOMP_loop_end_cancel(void) { return traced_barrier(3); }
CT_EXPORT void GOMP_sections_end(void) { traced_barrier(4); }
CT_EXPORT bool GOMP_sections_end_cancel(void) { return traced_barrier(5); }

/* ---- critical sections and locks ---- */

/* libgomp's lock word (gomp_mutex_t on Linux): 0 free, else held. */
static inline int word_held(const void *p)
{
	return __atomic_load_n((const int *)p, __ATOMIC_RELAXED) != 0;
}

/* A lock acquisition that may block: held() says whether it would. */
#define ACQUIRE(kind, obj, held, call) do { \
	if (!(held) || !ct_on()) { \
		call; \
		break; \
	} \
	struct ct_wait w_; \
	ct_wait_register(&w_, (kind), (obj)); \
	if (!(held)) { /* released in between: the caller would not block */ \
		ct_wait_withdraw(&w_); \
		call; \
		break; \
	} \
	ct_wait_record(&w_, 0, 0, 0); \
	call; \
	ct_wait_end(&w_, 0); \
} while (0)

/* A release: recorded while someone waits. */
#define RELEASE(kind, obj, call) do { \
	struct ct_release r_; \
	int rec_ = ct_release_begin(&r_, (kind), (obj)); \
	call; \
	if (rec_) \
		ct_release_end(&r_, 0); \
} while (0)

/* The unnamed critical section: libgomp's lock is private, this flag follows it (set
 * once the lock is taken, cleared just before it is released). */
static atomic_int critical_busy;
static char omp_unnamed_critical; /* its object address */

CT_EXPORT void GOMP_critical_start(void)
{
	void (*real)(void) = OMP(critical_start, "GOMP_critical_start");
	ACQUIRE(CT_K_OMP_CRITICAL, &omp_unnamed_critical,
		atomic_load_explicit(&critical_busy, memory_order_relaxed), real());
	atomic_store_explicit(&critical_busy, 1, memory_order_relaxed);
}

CT_EXPORT void GOMP_critical_end(void)
{
	void (*real)(void) = OMP(critical_end, "GOMP_critical_end");
	atomic_store_explicit(&critical_busy, 0, memory_order_relaxed);
	RELEASE(CT_K_OMP_CRITICAL, &omp_unnamed_critical, real());
}

/* A named critical section: the program's pointer-sized variable is the lock itself. */
CT_EXPORT void GOMP_critical_name_start(void **pptr)
{
	void (*real)(void **) = OMP(critical_name_start, "GOMP_critical_name_start");
	ACQUIRE(CT_K_OMP_CRITICAL, pptr, word_held(pptr), real(pptr));
}

CT_EXPORT void GOMP_critical_name_end(void **pptr)
{
	void (*real)(void **) = OMP(critical_name_end, "GOMP_critical_name_end");
	RELEASE(CT_K_OMP_CRITICAL, pptr, real(pptr));
}

/* omp_lock_t: the same word in both ABIs (OMP_1.0 and OMP_3.0 are one function). */
CT_EXPORT void omp_set_lock(void *l)
{
	void (*real)(void *) = OMP(set_lock, "omp_set_lock");
	ACQUIRE(CT_K_OMP_LOCK, l, word_held(l), real(l));
}

CT_EXPORT void omp_unset_lock(void *l)
{
	void (*real)(void *) = OMP(unset_lock, "omp_unset_lock");
	RELEASE(CT_K_OMP_LOCK, l, real(l));
}

/* Nest locks, OMP_3.0: { int lock; int count; void *owner } with the owning task's
 * pointer; the task of this thread is known from its own last acquisition. A lock held
 * by that task is taken again without blocking. */
struct nest30 { int lock, count; void *owner; };
static CT_TLS void *my_task;

CT_EXPORT void ct_omp_set_nest_lock_30(void *l);
CT_EXPORT void ct_omp_unset_nest_lock_30(void *l);
__asm__(".symver ct_omp_set_nest_lock_30, omp_set_nest_lock@@OMP_3.0");
__asm__(".symver ct_omp_unset_nest_lock_30, omp_unset_nest_lock@@OMP_3.0");

static int nest30_blocks(const struct nest30 *n)
{
	void *o = __atomic_load_n(&n->owner, __ATOMIC_RELAXED);
	return word_held(&n->lock) && !(o && o == my_task);
}

void ct_omp_set_nest_lock_30(void *l)
{
	void (*real)(void *) = OMP(set_nest_lock_30, "omp_set_nest_lock");
	struct nest30 *n = l;
	ACQUIRE(CT_K_OMP_LOCK, l, nest30_blocks(n), real(l));
	my_task = __atomic_load_n(&n->owner, __ATOMIC_RELAXED);
}

void ct_omp_unset_nest_lock_30(void *l)
{
	void (*real)(void *) = OMP(unset_nest_lock_30, "omp_unset_nest_lock");
	const struct nest30 *n = l;
	if (n->count != 1) /* an inner unset releases nothing */
		return real(l);
	RELEASE(CT_K_OMP_LOCK, l, real(l));
}

/* Nest locks, OMP_1.0: { int owner tid; int count }. */
struct nest10 { int owner, count; };

CT_EXPORT void ct_omp_set_nest_lock_10(void *l);
CT_EXPORT void ct_omp_unset_nest_lock_10(void *l);
__asm__(".symver ct_omp_set_nest_lock_10, omp_set_nest_lock@OMP_1.0");
__asm__(".symver ct_omp_unset_nest_lock_10, omp_unset_nest_lock@OMP_1.0");

static int nest10_blocks(const struct nest10 *n)
{
	int o = __atomic_load_n(&n->owner, __ATOMIC_RELAXED);
	return o != 0 && o != (ct_tls.tid ? ct_tls.tid : gettid());
}

void ct_omp_set_nest_lock_10(void *l)
{
	void (*real)(void *) = OMP(set_nest_lock_10, "omp_set_nest_lock");
	ACQUIRE(CT_K_OMP_LOCK, l, nest10_blocks(l), real(l));
}

void ct_omp_unset_nest_lock_10(void *l)
{
	void (*real)(void *) = OMP(unset_nest_lock_10, "omp_unset_nest_lock");
	const struct nest10 *n = l;
	if (n->count != 1)
		return real(l);
	RELEASE(CT_K_OMP_LOCK, l, real(l));
}
