/* SPDX-License-Identifier: MIT */
/*
 * Generation building: the writer closes a generation about every CTRACE_GENERATION_MS
 * (1 s). Each generation is written as
 *   GEN_BEGIN, MODULES, THREADS, then per buffer drained: STACKS (stacks first used in
 *   this generation) and EVENTS, and finally GEN_END with the lost-event counts,
 * so it decodes alone (format/FORMAT.md). One write(2) per chunk (tracefile.c). Every
 * function here runs with the flush lock held, on the writer thread or the flush stack.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctrace.h"
#include "flush.h"
#include "../format/events.h"
#include "../format/writer.h"
#include "../unwind/capture.h"

#define MAX_MODULES 1024
#define STACKS_PER_CHUNK 256
#define STACK_IDS (1u << 16) /* bitmap of ids already written in this generation */
#define RAW_CAP (8u << 20)

static uint8_t *stack_written;       /* bitmap, STACK_IDS bits */
/* Large tables are mapped at start, not static: a large .bss in the preloaded object was
 * measured to slow every wrapped call of the program by about 1.5 ns (a memory-layout
 * effect: the same code with a 320 KiB .bss ran an uncontended lock/unlock pair at 8 ns
 * instead of 3.3 ns). */
#define MOD_STR_CAP (256u << 10)
static struct ct_module *mods;
static char *mod_str;
static size_t nmods;
static struct ct_stack *pending;
static size_t npending;
static struct ct_thread_state *tstates; /* max_threads entries */

/* Parses the first two numbers of a schedstat file (on-CPU ns, run-queue ns). Read with
 * cancellation disabled: it runs on program threads (at their exit, at a seccomp filter),
 * and a cancellation they left pending must not act in its open, read or close. */
int ct_schedstat_read(const char *path, uint64_t *cpu_ns, uint64_t *runq_ns)
{
	char buf[128];
	int cs;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0) {
		int e = errno;
		pthread_setcancelstate(cs, NULL);
		return -e;
	}
	ssize_t n = read(f, buf, sizeof(buf) - 1);
	close(f);
	pthread_setcancelstate(cs, NULL);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	uint64_t v[2] = { 0, 0 };
	const char *p = buf;
	for (int i = 0; i < 2; i++) {
		while (*p == ' ')
			p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9')
			v[i] = v[i] * 10 + (uint64_t)(*p++ - '0');
	}
	*cpu_ns = v[0];
	*runq_ns = v[1];
	return 0;
}

/* /proc/self/task/TID/{schedstat,comm}; best effort. */
static void read_task(pid_t tid, struct ct_thread_state *ts)
{
	char path[64], buf[128];
	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)tid);
	uint64_t cpu, rq;
	if (ct_schedstat_read(path, &cpu, &rq) == 0) {
		ts->cpu_ns = cpu;
		ts->runq_ns = rq;
	}
	if (ts->name[0])
		return;
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)tid);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f >= 0) {
		ssize_t n = read(f, buf, CT_NAME_LEN);
		close(f);
		if (n > 0) {
			if (buf[n - 1] == '\n')
				n--;
			memcpy(ts->name, buf, (size_t)n);
			ts->name[n] = 0;
		}
	}
}

static void write_threads(void)
{
	size_t n = 0;
	struct ct_thread *t;
	for (unsigned i = 0; (t = ct_threads_next(&i));) {
		if (atomic_load_explicit(&t->state, memory_order_acquire) != CT_TH_LIVE)
			continue;
		uint32_t serial = __atomic_load_n(&t->serial, __ATOMIC_ACQUIRE);
		struct ct_thread_state *ts = &tstates[n];
		memset(ts, 0, sizeof(*ts));
		ts->tid = (uint32_t)t->tid;
		ts->parent_tid = (uint32_t)t->parent;
		ts->start_func = t->start_func;
		memcpy(ts->name, t->name, CT_NAME_LEN);
		ts->name[CT_NAME_LEN] = 0;
		unsigned kind = atomic_load_explicit(&t->wait_kind, memory_order_acquire);
		if (kind) {
			ts->blocked = 1;
			ts->kind = (uint8_t)kind;
			ts->obj = atomic_load_explicit(&t->wait_obj, memory_order_relaxed);
			ts->since = atomic_load_explicit(&t->wait_since, memory_order_relaxed);
		}
		/* the thread may have exited and its slot been claimed again while its fields
		 * were read: then they may be two threads' (write_sites) */
		atomic_thread_fence(memory_order_acquire);
		if (ts->tid == 0 || __atomic_load_n(&t->serial, __ATOMIC_RELAXED) != serial)
			continue;
		read_task(ts->tid, ts);
		n++;
	}
	for (size_t i = 0; i < n; i += 4096)
		ct_trace_put(ct_w_threads(&ct_fl.wb, ct_fl.gen, tstates + i, n - i < 4096 ? n - i : 4096));
}

/* in_signal: from a fatal signal's handler, where the loader lock (dl_iterate_phdr) may
 * be held by the interrupted thread: the last module map is written again. */
void ct_gen_open(int in_signal)
{
	ct_fl.gen++;
	struct timespec real;
	clock_gettime(CLOCK_REALTIME, &real);
	ct_fl.gen_start = ct_now();
	ct_fl.gen_events = 0;
	if (ct_fl.fd == CT_FLIGHT_FD)
		ct_flight_gen_begin(ct_fl.gen, ct_fl.gen_start,
				    (uint64_t)real.tv_sec * 1000000000u + (uint64_t)real.tv_nsec);
	ct_trace_put(ct_w_gen_begin(&ct_fl.wb, ct_fl.gen, ct_fl.gen_start,
			   (uint64_t)real.tv_sec * 1000000000u + (uint64_t)real.tv_nsec));
	if (!in_signal && (nmods == 0 || ct_modules_changed()))
		nmods = ct_modules_snapshot(mods, MAX_MODULES, mod_str, MOD_STR_CAP);
	ct_trace_put(ct_w_modules(&ct_fl.wb, ct_fl.gen, mods, nmods));
	write_threads();
	memset(stack_written, 0, STACK_IDS / 8);
}

/* Every live thread's cumulative call-site counters, as SITE records in chunks of their
 * own (the threads' buffers belong to the threads), and those of exited threads whose
 * buffer had no room for them, whose slots are freed then. */
static void write_sites(void)
{
	struct ct_event ev[CT_SITES + 1];
	uint64_t now = ct_now();
	struct ct_thread *t;
	for (unsigned i = 0; (t = ct_threads_next(&i));) {
		int st = atomic_load_explicit(&t->state, memory_order_acquire);
		uint32_t serial = __atomic_load_n(&t->serial, __ATOMIC_ACQUIRE);
		uint32_t tid = (uint32_t)t->tid;
		if ((st != CT_TH_LIVE && st != CT_TH_EXITED) || !tid)
			continue;
		unsigned pos = 0;
		size_t n;
		while ((n = ct_sites_next(t, &pos, ev, CT_SITES + 1,
					  st == CT_TH_EXITED ? t->exit_ts : now))) {
			/* a live thread may exit meanwhile, its slot claimed again and its
			 * table reset: what was read is then not all its (the thread wrote its
			 * own final counts at its exit), and is dropped */
			atomic_thread_fence(memory_order_acquire);
			if (__atomic_load_n(&t->serial, __ATOMIC_RELAXED) != serial)
				break;
			ct_trace_put(ct_w_events(&ct_fl.wb, ct_fl.gen, tid, ct_fl.site_seq++, ev, n));
			ct_fl.wrote_events = 1;
		}
		if (st == CT_TH_EXITED)
			ct_thread_reap(t);
	}
}

void ct_gen_close(void)
{
	write_sites();
	uint64_t lost[CT_L_MAX];
	for (int i = 0; i < CT_L_MAX; i++)
		lost[i] = atomic_load(&ct_lost[i]);
	uint64_t end = ct_now();
	ct_trace_put(ct_w_gen_end_untraced(&ct_fl.wb, ct_fl.gen, end, lost,
					   atomic_load(&ct_untraced)));
	if (ct_fl.fd == CT_FLIGHT_FD)
		ct_flight_gen_end(end);
}

static void flush_pending(void)
{
	if (npending)
		ct_trace_put(ct_w_stacks(&ct_fl.wb, ct_fl.gen, pending, npending));
	npending = 0;
}

/* Queues stack id for this generation's STACKS unless already written. */
static void want_stack(uint32_t id)
{
	if (id == 0)
		return;
	if (id < STACK_IDS) {
		if (stack_written[id / 8] & (1u << (id % 8)))
			return;
		stack_written[id / 8] |= (uint8_t)(1u << (id % 8));
	}
	if (ct_stack_get(id, &pending[npending]) < 0)
		return;
	if (++npending == STACKS_PER_CHUNK)
		flush_pending();
}

static void drain(struct ct_buf *b)
{
	unsigned st = atomic_load_explicit(&b->state, memory_order_acquire);
	if (st == CT_BUF_FREE)
		return;
	unsigned c = atomic_load_explicit(&b->committed, memory_order_acquire);
	const struct ct_event *ev = &b->ev[b->flushed];
	size_t n = c > b->flushed ? c - b->flushed : 0;
	/* attach mode: events a thread committed after the last session's final drain (a
	 * THREAD_END racing the detach) are no part of this session's trace */
	while (n && ev->ts < ct_attach_t0) {
		ev++;
		n--;
	}
	if (n) {
		for (size_t i = 0; i < n; i++) {
			want_stack(ev[i].stack);
			if (ev[i].type == CT_EV_LOCK_ORDER) /* its second site, in a payload slot */
				want_stack(ct_ev_lock_order_held_stack(&ev[i]));
		}
		if (ct_cfg.triggers & CT_TRIG_WAIT) /* the writer's work, not the program's */
			for (size_t i = 0; i < n; i++)
				ct_trigger_see(b->tid, &ev[i]);
		flush_pending();
		if (b->gen != ct_fl.gen) {
			b->gen = ct_fl.gen;
			b->seq = 0;
		}
		ct_trace_put(ct_w_events(&ct_fl.wb, ct_fl.gen, b->tid, b->seq++, ev, n));
		ct_fl.wrote_events = 1;
		ct_fl.gen_events += n;
	}
	if (c > b->flushed)
		b->flushed = c;
	if (st == CT_BUF_FULL) {
		b->flushed = 0;
		b->seq = 0;
		ct_buf_free(b);
	}
}

static void drain_one(struct ct_buf *b, void *arg)
{
	(void)arg;
	drain(b);
}

void ct_gen_put_event(uint32_t tid, const struct ct_event *ev)
{
	want_stack(ev->stack);
	flush_pending();
	ct_trace_put(ct_w_events(&ct_fl.wb, ct_fl.gen, tid, ct_fl.site_seq++, ev, 1));
	ct_fl.wrote_events = 1;
}

void ct_gen_drain_all(void)
{
	ct_bufs_each(drain_one, NULL);
}

/* After dlopen/dlclose: the new module map now, in the open generation, for the stacks
 * through the objects it adds. Takes the loader lock: not from a signal handler. */
void ct_gen_refresh_modules(void)
{
	if (ct_fl.fd >= 0 && ct_modules_changed()) {
		nmods = ct_modules_snapshot(mods, MAX_MODULES, mod_str, MOD_STR_CAP);
		ct_trace_put(ct_w_modules(&ct_fl.wb, ct_fl.gen, mods, nmods));
	}
}

/* Maps the writer's buffers and tables. 0 or -1. */
int ct_gen_init(void)
{
	size_t raw = ct_w_raw_bound(ct_buf_cap);
	if (raw < RAW_CAP)
		raw = RAW_CAP;
	ct_fl.wb.raw_cap = raw;
	ct_fl.wb.out_cap = ct_w_out_bound(raw);
	ct_fl.wb.raw = ct_map(1, ct_fl.wb.raw_cap, 0);
	ct_fl.wb.out = ct_map(1, ct_fl.wb.out_cap, 0);
	stack_written = ct_map(1, STACK_IDS / 8, 0);
	tstates = ct_map(ct_cfg.max_threads, sizeof(*tstates), 0);
	mods = ct_map(MAX_MODULES, sizeof(*mods), 0);
	mod_str = ct_map(1, MOD_STR_CAP, 0);
	pending = ct_map(STACKS_PER_CHUNK, sizeof(*pending), 0);
	ct_fl.wb.lz4_state = ct_map(1, ct_w_lz4_state_size(), 0);
	if (!ct_fl.wb.lz4_state ||
	    !ct_fl.wb.raw || !ct_fl.wb.out || !stack_written || !tstates || !mods || !mod_str || !pending)
		return -1;
	return 0;
}

int ct_gen_has_data(void)
{
	if (ct_buffers_pending())
		return 1;
	struct ct_thread *t;
	for (unsigned i = 0; (t = ct_threads_next(&i));) {
		int st = atomic_load(&t->state);
		if (st == CT_TH_EXITED)
			return 1;
		/* the table's header counts once the thread counted a call */
		if (st == CT_TH_LIVE && __atomic_load_n(&t->sites[0].count, __ATOMIC_RELAXED))
			return 1;
	}
	return 0;
}

