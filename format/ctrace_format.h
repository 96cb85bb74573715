/* SPDX-License-Identifier: MIT */
/*
 * The libctrace event model and trace-file constants: the contract between the recorder
 * (preload/, which fills fixed-size struct ct_event records on the hot path) and the
 * reader (analyze/, through format/reader.h). FORMAT.md is the byte-level specification.
 *
 * Everything here is plain data: no allocation, safe to include in the preload library.
 */
#ifndef CTRACE_FORMAT_H
#define CTRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define CT_MAGIC "\x89" "CTRACE\n" /* 8 bytes, the PNG trick */
#define CT_MAGIC_LEN 8
#define CT_VERSION_MAJOR 2
#define CT_VERSION_MINOR 1
/* Format 1 (1.0 .. 1.2) is still read: its EVENTS entries have the 1.x layout. */
#define CT_VERSION_1_MINOR 2
#define CT_HEADER_LEN 128
#define CT_CHUNK_MAGIC 0x4b435443u /* "CTCK" little-endian */
#define CT_MAX_FRAMES 128          /* hard cap on captured stack depth */
#define CT_NAME_LEN 16             /* thread names, as the kernel's comm */

/* Event types. One fixed-size record each on the record path (struct ct_event); what
 * each field means per type, with the constructors and accessors, is in events.h. */
enum ct_event_type {
	CT_EV_NONE = 0,
	CT_EV_WAIT_BEGIN = 1,   /* a thread is about to block */
	CT_EV_WAIT_END = 2,     /* the wait ended (pairs with the thread's last WAIT_BEGIN) */
	CT_EV_RELEASE = 3,      /* a release made while someone waited */
	CT_EV_THREAD_START = 4, /* first event of a thread made by pthread_create */
	CT_EV_THREAD_NAME = 5,  /* pthread_setname_np */
	CT_EV_THREAD_END = 6,   /* the thread exits */
	CT_EV_SYSCALL = 7,      /* a system call of at least the stack threshold */
	CT_EV_SITE = 8,         /* per-call-site system call counters of a thread */
	CT_EV_HOLD = 9,         /* a lock the thread holds, just before it blocks */
	CT_EV_LOCK_ORDER = 10,  /* a lock taken while holding another, once per thread and pair */
	CT_EV_TASK_BEGIN = 11,  /* ctrace_task_begin (ctrace_annotate.h) */
	CT_EV_TASK_END = 12,    /* ctrace_task_end */
	CT_EV_REGION_BEGIN = 13,/* ctrace_region_begin */
	CT_EV_REGION_END = 14,  /* ctrace_region_end */
	CT_EV_LOG = 15,         /* ctrace_log */
	CT_EV_LABEL = 16,       /* ctrace_label */
	CT_EV_TEXT = 17,        /* the rest of the previous event's text */
	CT_EV_TRIGGER = 18,     /* 2.0: what made a flight-mode snapshot (its last generation) */
	CT_EV_MAX
};

/* Event flags (struct ct_event.flags). */
#define CT_EVF_BROADCAST 0x0001u /* RELEASE by pthread_cond_broadcast */
#define CT_EVF_TIMED     0x0002u /* WAIT_BEGIN of a timed call (with a deadline) */
#define CT_EVF_CLOCK_RT  0x0004u /* ... whose deadline is on CLOCK_REALTIME */
#define CT_EVF_OLD_ABI   0x0008u /* cond call bound to pthread_cond_*@GLIBC_2.2.5 */
#define CT_EVF_SECCOMP   0x0020u /* THREAD_END (1.2): not the thread's exit, the end of its
				  * recording: a seccomp filter on it allows no system call of
				  * the recorder's from here on */
#define CT_EVF_HANDOFF   0x0010u /* RELEASE of a mutex by a thread that did not own it
				  * (legal for normal and adaptive glibc mutexes): the hold
				  * it ends began with another thread's acquisition (1.2) */
#define CT_EVF_LO_FULL   0x0040u /* LOCK_ORDER (2.1): the recording thread's edge table is
				  * full; this is the last edge it records */

/* What was waited on. Names (ct_kind_name) are the JSON "kind" values. */
enum ct_kind { /* values are the file's: append only */
	CT_K_NONE = 0,
	CT_K_MUTEX, CT_K_COND, CT_K_RWLOCK_RD, CT_K_RWLOCK_WR, CT_K_SEM, CT_K_BARRIER,
	CT_K_JOIN, CT_K_SPIN, CT_K_FUTEX,
	CT_K_EPOLL, CT_K_POLL, CT_K_SELECT, CT_K_ACCEPT, CT_K_CONNECT, CT_K_RECV, CT_K_SEND,
	CT_K_READ, CT_K_WRITE, CT_K_FSYNC, CT_K_WAIT, CT_K_FLOCK, CT_K_SIGWAIT, CT_K_OPEN,
	CT_K_NANOSLEEP,
	/* format 1.2: OpenMP (libgomp) synchronization, profile sync */
	CT_K_OMP_BARRIER, CT_K_OMP_CRITICAL, CT_K_OMP_LOCK,
	CT_K_MAX
};

/* What an fd is, classified on the recording path (a type-only statx per fd number). Sockets
 * put reads and writes in the net profile; everything else is syscall. */
enum ct_fd_class {
	CT_FD_UNKNOWN = 0, CT_FD_SOCKET, CT_FD_PIPE, CT_FD_FILE, CT_FD_EVENT /* eventfd,
	timerfd, signalfd, epoll, inotify */, CT_FD_TTY, CT_FD_CHAR, CT_FD_DIR, CT_FD_NONE
	/* the call has no fd */, CT_FD_MAX
};

/* The four waiter profiles (analyze/README.md, "Definitions"). */
enum ct_profile { CT_P_NONE = 0, CT_P_SYNC, CT_P_NET, CT_P_SYSCALL, CT_P_SLEEP, CT_P_MAX };

/* How a wait ended (WAIT_END's result, events.h). */
enum ct_result {
	CT_R_ACQUIRED = 0,  /* got the object / was woken */
	CT_R_TIMEDOUT = 1,  /* ETIMEDOUT */
	CT_R_ERROR = 2,     /* any other error; the value is in c */
	CT_R_OWNERDEAD = 3, /* robust mutex acquired with EOWNERDEAD */
	CT_R_RELEASED = 4,  /* the call did not wait: its arrival released the others (the
			     * barrier's serial thread); the pair is not a wait (format 1.1) */
	CT_R_MAX
};

/* Causes of lost events, counted by the recorder and written in every GEN_END. */
enum ct_lost_cause {
	CT_L_NOBUF = 0,   /* no free buffer: the writer fell behind */
	CT_L_NOSLOT,      /* thread table full */
	CT_L_NOSTACK,     /* stack table full: event kept, its stack dropped (stack id 0) */
	CT_L_MAX
};
/* GEN_END's counter after the lost-event causes: the threads that ran untraced (the
 * thread table was full when they first needed a slot; their events count in
 * CT_L_NOSLOT). Files whose GEN_END has CT_L_MAX counters do not say. */
#define CT_GEN_UNTRACED CT_L_MAX

/*
 * The fixed-size record of the record path, 48 bytes. The thread id is not in the record:
 * buffers are per thread and the writer puts the tid in the chunk header. The payload
 * slots a, b, c are named per event type in events.h: build and read events through it.
 */
struct ct_event {
	uint64_t ts;    /* CLOCK_MONOTONIC, ns */
	uint8_t type;   /* enum ct_event_type */
	uint8_t kind;   /* enum ct_kind */
	uint16_t flags; /* CT_EVF_* */
	uint32_t stack; /* stack id, 0 = none */
	uint64_t obj;
	uint64_t a, b, c; /* the payload: see events.h */
};

/* The EVENTS encoding of format 2 (FORMAT.md section 5.2): each event's fields that differ
 * from the previous event of the same type class (type % CT_EV_PRED_SLOTS) in the chunk
 * are written, marked in a mask byte; the others are predicted. Both the writer and the
 * reader keep this state per chunk, starting from all zero. */
#define CT_EVM_KIND  0x01u
#define CT_EVM_FLAGS 0x02u
#define CT_EVM_STACK 0x04u
#define CT_EVM_OBJ   0x08u
#define CT_EVM_A     0x10u
#define CT_EVM_B     0x20u
#define CT_EVM_C     0x40u
#define CT_EVM_ALL   0x7fu /* bit 7 is reserved: corrupt when set */
#define CT_EV_PRED_SLOTS 16
struct ct_ev_pred {
	uint64_t obj, a, b, c;
	uint32_t stack;
	uint16_t flags;
	uint8_t kind;
};

/* A stack: raw return addresses, pcs[0] the caller of the interposed function. */
#define CT_STACKF_TRUNCATED 0x1u /* the capture hit the depth limit */
#define CT_STACKF_SITE 0x2u      /* one frame only: a call site, not an unwound stack */
struct ct_stack {
	uint32_t id;
	uint16_t nframes;
	uint16_t flags;
	const uint64_t *pcs;
};

/* A loaded object, from dl_iterate_phdr. */
#define CT_BUILD_ID_MAX 20
struct ct_module {
	uint64_t bias;      /* dlpi_addr: load bias (0 for non-PIE executables) */
	uint64_t lo, hi;    /* [lo, hi) covered by its PT_LOAD segments, runtime addresses */
	uint8_t build_id_len;
	uint8_t build_id[CT_BUILD_ID_MAX];
	uint8_t is_main;    /* the main executable */
	const char *path;
};

/* A thread's state at the start of a generation (THREADS chunk). */
struct ct_thread_state {
	uint32_t tid;
	uint32_t parent_tid;
	uint64_t start_func;   /* start routine address, 0 for main / unknown */
	char name[CT_NAME_LEN + 1];
	uint8_t blocked;       /* 1 if inside a traced wait at the generation start */
	uint8_t kind;          /* enum ct_kind when blocked */
	uint64_t obj;          /* object when blocked */
	uint64_t since;        /* wait begin ts when blocked */
	uint64_t cpu_ns;       /* kernel schedstat: on-CPU time so far (0 = not sampled) */
	uint64_t runq_ns;      /* kernel schedstat: run-queue wait so far */
};

/* File header flags (struct ct_file_header.flags). */
#define CT_HF_SPARE 0x1u /* a spare file a process made before switching user, for a
			  * descendant that may not create its own; never taken if this is
			  * still set (the header is then the whole file) */
#define CT_HF_FSIZE 0x2u /* (1.2) the trace stopped at the process's file-size limit
			  * (RLIMIT_FSIZE): the events up to there are in the file, the last
			  * generation has no end */
#define CT_HF_SECCOMP 0x4u /* (1.2) the program put itself under a seccomp filter that
			    * covers every thread: the trace ends there (complete) */
#define CT_HF_ATTACHED 0x8u /* 1.2: the process was started without libctrace and attached
			     * (`ctrace attach`); start_mono_ns/start_real_ns are the attach */

/* Fixed file header fields (the encoded header is CT_HEADER_LEN bytes, see FORMAT.md). */
struct ct_file_header {
	uint16_t version_major, version_minor;
	uint32_t pid;
	uint32_t ppid;
	uint64_t start_mono_ns;
	uint64_t start_real_ns;
	uint32_t flags;
	char exe[64];          /* basename-or-tail of /proc/self/exe, NUL-terminated */
};

/* Names shared by recorder, reader and reports; never NULL ("?" when out of range). */
const char *ct_kind_name(unsigned kind);
enum ct_profile ct_kind_profile(unsigned kind);
/* Why a flight-mode snapshot was written (a TRIGGER event's reason): the trigger signal, a
 * fatal signal, the process's exit, a wait longer than CTRACE_TRIGGER's threshold (ended
 * or still in progress), a `ctrace snapshot` request. */
enum ct_trigger_reason { CT_TR_NONE = 0, CT_TR_SIGNAL, CT_TR_CRASH, CT_TR_EXIT, CT_TR_WAIT,
			 CT_TR_REQUEST, CT_TR_MAX };
/* "signal", "crash", "exit", "wait", "request"; "unknown" out of range. */
const char *ct_trigger_name(unsigned reason);
const char *ct_profile_name(unsigned profile);
const char *ct_result_name(unsigned result);
const char *ct_event_name(unsigned type);
const char *ct_lost_name(unsigned cause);
const char *ct_fd_class_name(unsigned cls); /* "socket", "pipe", "file", "event", "tty", ... */
/* The profile of a syscall event: net for socket fds and for accept, connect, recv, send,
 * epoll, poll and select; otherwise ct_kind_profile(kind). */
enum ct_profile ct_syscall_profile(unsigned kind, unsigned fd_class);

/* ---- Added by format/ (FORMAT.md): chunk layout constants shared by writer and reader. */

/* Chunk kinds (chunk header byte 4). Readers skip unknown kinds whose checksum is good. */
enum ct_chunk_kind {
	CT_CH_GEN_BEGIN = 1, /* opens a generation: clocks at its start */
	CT_CH_EVENTS = 2,    /* one thread's events (tid, seq in the chunk header) */
	CT_CH_STACKS = 3,    /* stack table entries of the generation */
	CT_CH_MODULES = 4,   /* module map of the generation */
	CT_CH_THREADS = 5,   /* every known thread's state at the generation start */
	CT_CH_GEN_END = 6,   /* closes the generation: end time, cumulative lost counts */
	CT_CH_MAX
};

/* Payload codecs (chunk header byte 5). */
enum ct_codec { CT_CODEC_RAW = 0, CT_CODEC_LZ4 = 1, CT_CODEC_MAX };

#define CT_CHUNK_HDR_LEN 36            /* uncompressed chunk header, see FORMAT.md */
#define CT_CHUNK_MAX_RAW (16u << 20)   /* hard cap on a chunk's uncompressed payload */
#define CT_HEADER_MAX_LEN 4096         /* readers refuse a longer file header */
#define CT_PATH_MAX 4096               /* module paths are at most this many bytes */

/* CRC-32 as zlib's crc32() computes it (reflected polynomial 0xEDB88320, initial and final
 * XOR 0xffffffff): ct_crc32(0, buf, len) is the CRC of buf, and ct_crc32(ct_crc32(0, a, n),
 * b, m) is the CRC of a followed by b. Pure computation: safe anywhere, signal handlers too. */
uint32_t ct_crc32(uint32_t crc, const void *buf, size_t len);

#endif
