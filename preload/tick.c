/* SPDX-License-Identifier: MIT */
/*
 * The record path's clocks: ticks (the TSC where the kernel keeps time with it and the CPU
 * says it is invariant, else CLOCK_MONOTONIC ns), their calibration against
 * CLOCK_MONOTONIC and the slow-call threshold in ticks, for the system-call wrappers'
 * durations; and ct_tick_now_ns, CLOCK_MONOTONIC ns converted from the TSC, the
 * timestamps of the annotation events. Contracts in io.h and wait.h.
 */
#include <string.h>
#include <unistd.h>

#include "io.h"

/*
 * A call reads its clock twice. Where the kernel itself keeps time with the TSC
 * (clocksource "tsc": invariant, synchronized across CPUs and watched by the kernel),
 * durations are taken with rdtsc, 7 ns against 16 ns for the vDSO's clock_gettime on the
 * 2-core VM; elsewhere "ticks" are CLOCK_MONOTONIC ns and nothing below converts. The
 * site counters hold ticks; they become ns with tick_mult (ns per tick, 32.32 fixed
 * point) when they are written out. tick_mult is estimated at load over ~20 us (within
 * 0.2%) and refined against CLOCK_MONOTONIC from the same base at every slow call and
 * every snapshot (after one second, within 1e-7). A slow call's begin is its end
 * (CLOCK_MONOTONIC, read then) minus its duration.
 */
int ct_tick_tsc;
static uint64_t tick_mult = UINT64_C(1) << 32; /* atomic: ns per tick << 32 */
uint64_t ct_tick_threshold;                     /* atomic: the threshold in ticks */
static uint64_t base_tick, base_ns;             /* the calibration base (load time) */
static atomic_uint anchor_seq;                  /* ct_tick_now_ns's anchor (below) */
static uint64_t anchor_tick, anchor_ns;         /* __atomic builtins, under anchor_seq */

static void set_mult(uint64_t mult)
{
	__atomic_store_n(&tick_mult, mult, __ATOMIC_RELAXED);
	unsigned __int128 thr = ((unsigned __int128)ct_cfg.sc_threshold_ns << 32) / mult;
	__atomic_store_n(&ct_tick_threshold, thr > UINT64_MAX ? UINT64_MAX : (uint64_t)thr,
			 __ATOMIC_RELAXED);
}

#if defined(__x86_64__)
/* A (tick, ns) pair read together: rdtsc, clock_gettime, rdtsc; the ticks' midpoint.
 * Returns the spread in ticks (large when the thread was preempted in between). */
static uint64_t tick_pair(uint64_t *tick, uint64_t *ns)
{
	uint64_t a = __rdtsc();
	*ns = ct_now();
	uint64_t b = __rdtsc();
	*tick = a + (b - a) / 2;
	return b - a;
}

/* Is the kernel's clocksource the TSC? Constructor only (open, read, close). */
static int tsc_is_clocksource(void)
{
	char buf[16] = { 0 };
	int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		      O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n == 4 && !memcmp(buf, "tsc\n", 4);
}

/* Does the first CPU's "flags" line in /proc/cpuinfo have word w? */
static int has_flag(const char *flags, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = flags; (p = strstr(p, w)) != NULL; p += n)
		if (p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n' || p[n] == 0))
			return 1;
	return 0;
}

/* Is the TSC invariant: constant rate (constant_tsc) and running in every C-state
 * (nonstop_tsc)? The kernel's choice of it as clocksource already says it is stable and
 * synchronized across CPUs; the flags say its rate does not follow the CPU's frequency.
 * Constructor only, called once (open, read of the first CPU's lines, close; its buffer
 * static: the stack budget of the record path's files). */
static int tsc_is_invariant(void)
{
	static char buf[4096];
	int fd = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = 0;
	char *f = strstr(buf, "\nflags");
	if (!f)
		return 0;
	char *eol = strchr(f + 1, '\n');
	if (!eol)
		return 0; /* the line did not fit: not judged */
	*eol = 0;
	return has_flag(f, "constant_tsc") && has_flag(f, "nonstop_tsc");
}
#endif

/* Refines tick_mult with a pair read now, when the base is at least 1 ms old. An
 * estimate more than 1% away from the current one is not taken: the two clocks came
 * apart (a suspend stops CLOCK_MONOTONIC, not necessarily the TSC). Record path (no
 * system call: the vDSO). */
void ct_tick_refine(uint64_t tick, uint64_t ns)
{
	if (!ct_tick_tsc || tick <= base_tick || ns < base_ns + 1000000)
		return;
	uint64_t m = (uint64_t)(((unsigned __int128)(ns - base_ns) << 32) / (tick - base_tick));
	uint64_t cur = __atomic_load_n(&tick_mult, __ATOMIC_RELAXED);
	if (m > cur + cur / 100 || m < cur - cur / 100)
		return;
	set_mult(m);
}

void ct_tick_init(void)
{
	set_mult(UINT64_C(1) << 32);
#if defined(__x86_64__)
	if (!tsc_is_clocksource() || !tsc_is_invariant())
		return;
	/* Pairs whose reads are more than ~1 us apart (preempted) are not used. */
	uint64_t t0, n0, t, n;
	for (int i = 0; i < 8 && tick_pair(&t0, &n0) > 2000; i++)
		;
	uint64_t t1 = t0, n1 = n0;
	do {
		if (tick_pair(&t, &n) <= 2000)
			t1 = t, n1 = n;
	} while (n1 < n0 + 20000 && n < n0 + 1000000);
	if (t1 <= t0 || n1 < n0 + 10000)
		return;
	base_tick = t0;
	base_ns = n0;
	set_mult((uint64_t)(((unsigned __int128)(n1 - n0) << 32) / (t1 - t0)));
	anchor_tick = t1;
	anchor_ns = n1;
	ct_tick_tsc = 1;
#endif
}

/* Contract in io.h. */
uint64_t ct_tick_to_ns(uint64_t t)
{
	if (!ct_tick_tsc)
		return t;
	return (uint64_t)(((unsigned __int128)t *
			   __atomic_load_n(&tick_mult, __ATOMIC_RELAXED)) >> 32);
}

/* Contract in io.h: a snapshot is a good moment (once per generation). */
void ct_tick_refine_now(void)
{
#if defined(__x86_64__)
	uint64_t tick, ns;
	if (ct_tick_tsc && tick_pair(&tick, &ns) <= 2000)
		ct_tick_refine(tick, ns);
#endif
}

/*
 * CLOCK_MONOTONIC ns for event timestamps (format/FORMAT.md: every event's ts is
 * CLOCK_MONOTONIC), without the vDSO's clock_gettime on most calls (on the 2-core VM
 * rdtsc costs 17 ns where clock_gettime costs 25-40). Where ticks are the TSC, a call
 * reads the TSC and converts it from an anchor, a (tick, CLOCK_MONOTONIC ns) pair read
 * together and shared by the process: ts = anchor ns + the ticks since the anchor at this
 * file's rate. A call more than ANCHOR_SPAN ticks past the anchor (about 25 us at 2.6 GHz),
 * before it (a newer anchor taken meanwhile), or that finds the anchor being replaced
 * reads CLOCK_MONOTONIC and takes that reading as its ts and as the new anchor, which also
 * refines the rate. So a converted ts is within the rate's error over at most ANCHOR_SPAN
 * ticks (0.2% of 25 us at load, under a nanosecond once the rate is refined a millisecond
 * later) plus half the anchor's read (ANCHOR_READ ticks at most, ~50 ns at 2.6 GHz; a
 * slower read is not taken) of what clock_gettime would have returned. Each thread's
 * timestamps never step back: a ts below the thread's previous one is raised to it (a
 * signal handler's event between the two reads of that bound can still be later than the
 * interrupted call's). Timestamps of different threads, and those of ct_now(), agree to
 * within that error, far below a futex hand-off's microseconds; the order of a release
 * and the wait it ends is given by the sequence numbers, not by the timestamps (wait.c).
 * (With a read of up to 2000 ticks allowed, region ends came up to 280 ns after the lock
 * release that followed them; with 256, no annotation was out of order with the
 * wrappers' events of its thread in 480k events.)
 *
 * The anchor is a sequence lock without waiting: its one writer at a time is whoever wins
 * a compare-and-swap of the sequence to odd; a reader that sees it odd or changed reads
 * the clock instead. Async-signal-safe (a handler that interrupts an update reads the
 * clock), no lock, no system call but the vDSO. A fork child whose parent had another
 * thread inside an update keeps an odd sequence: it reads the clock at every call.
 */
#define ANCHOR_SPAN (1u << 16)
#define ANCHOR_READ 256u
static CT_TLS uint64_t last_ns; /* the thread's latest ct_tick_now_ns */

#if defined(__x86_64__)
/* Reads CLOCK_MONOTONIC and makes it the anchor if the read was quick and no other
 * update is under way. Returns the reading. */
static __attribute__((noinline)) uint64_t anchor_take(void)
{
	uint64_t a = __rdtsc();
	uint64_t ns = ct_now();
	uint64_t b = __rdtsc();
	unsigned s = atomic_load_explicit(&anchor_seq, memory_order_relaxed);
	if (b - a > ANCHOR_READ || (s & 1) ||
	    !atomic_compare_exchange_strong(&anchor_seq, &s, s + 1))
		return ns;
	atomic_thread_fence(memory_order_release);
	__atomic_store_n(&anchor_tick, a + (b - a) / 2, __ATOMIC_RELAXED);
	__atomic_store_n(&anchor_ns, ns, __ATOMIC_RELAXED);
	atomic_store_explicit(&anchor_seq, s + 2, memory_order_release);
	ct_tick_refine(a + (b - a) / 2, ns);
	return ns;
}
#endif

/* Contract in io.h. */
uint64_t ct_tick_now_ns(void)
{
	uint64_t ns;
#if defined(__x86_64__)
	if (likely(ct_tick_tsc)) {
		unsigned s = atomic_load_explicit(&anchor_seq, memory_order_acquire);
		uint64_t at = __atomic_load_n(&anchor_tick, __ATOMIC_RELAXED);
		uint64_t an = __atomic_load_n(&anchor_ns, __ATOMIC_RELAXED);
		atomic_thread_fence(memory_order_acquire);
		uint64_t t = __rdtsc();
		if (likely(!(s & 1) && an &&
			   atomic_load_explicit(&anchor_seq, memory_order_relaxed) == s &&
			   t >= at && t - at < ANCHOR_SPAN))
			ns = an + ct_tick_to_ns(t - at);
		else
			ns = anchor_take();
	} else
#endif
		ns = ct_now();
	uint64_t prev = last_ns;
	if (unlikely(ns < prev))
		ns = prev;
	last_ns = ns;
	return ns;
}
