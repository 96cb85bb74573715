/* SPDX-License-Identifier: MIT */
/*
 * The clock of the system-call wrappers' fast path: ticks (the TSC where the kernel keeps
 * time with it, else CLOCK_MONOTONIC ns), their calibration against CLOCK_MONOTONIC and
 * the slow-call threshold in ticks. Contracts in io.h.
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
	if (!tsc_is_clocksource())
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
