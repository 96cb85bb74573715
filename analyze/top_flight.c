/* SPDX-License-Identifier: MIT */
/*
 * The flight-mode source of `ctrace top` (top_source.h): a process under
 * CTRACE_MODE=flight writes no trace file, so every poll asks it (the control channel of
 * `ctrace snapshot`, ct_ctl_request) for a snapshot into a private temporary directory
 * (mkdtemp under $TMPDIR, else /tmp) of the generations after the last one it read
 * ("live G": ct_model_follow_last_gen), reads it (ct_model_follow_next, which skips any
 * generation read before) and deletes it. The request is marked "live": the snapshot
 * gets no TRIGGER record, leaves the count of triggers suppressed by
 * CTRACE_TRIGGER_LIMIT to the next real snapshot, and, as every request, is not counted
 * against that limit; nothing is written next to CTRACE_OUT.
 *
 * What it costs the process: at its next period (100 ms at most) its writer thread,
 * with the flush lock held, closes the open generation (as it does every
 * CTRACE_GENERATION_MS anyway) and writes the generations closed since the previous
 * request, already encoded and compressed in its ring: one interval's worth, the bytes
 * streaming mode would have written meanwhile (the first request: the whole ring).
 * Nothing runs on the application's threads; they go on recording into their buffers,
 * which the writer drains again once the write is done. Generations are then one interval
 * long at most. The channel takes one request at a time: a request that crosses another
 * client's (`ctrace snapshot`, a second top) may go unanswered (ct_ctl_request gives up
 * after a minute); the next interval asks again (three failures in a row: an error).
 */
#include "top_source.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "util.h"

struct flight_source {
	struct ct_top_source s;
	struct ct_model_follow *f;
	int pid;
	int unread;           /* the first snapshot (opened by the constructor) not read yet */
	int failed;           /* requests without a snapshot in a row */
	char dir[4096];       /* the private directory of the snapshots */
	char pattern[4200];   /* the name asked for in it */
};

/* A snapshot of the process into fs->dir: 0 with its path, or -1 with err. */
static int take(struct flight_source *fs, char *path, size_t cap, char *err, size_t errlen)
{
	char req[4400];

	snprintf(req, sizeof(req), "snapshot\n%s\nlive %u\n", fs->pattern,
		 fs->f ? (unsigned)ct_model_follow_last_gen(fs->f) : 0u);
	if (ct_ctl_request(fs->pid, req, path, cap, 1) != 0) {
		snprintf(err, errlen, "process %d gave no snapshot%s", fs->pid,
			 kill(fs->pid, 0) < 0 && errno == ESRCH ? " (it ended)" : "");
		return -1;
	}
	/* the channel takes one request at a time: a reply to another client's request that
	 * crossed ours (`ctrace snapshot -o FILE`) names that client's file, which is neither
	 * read nor deleted here */
	size_t dl = strlen(fs->dir);
	if (strncmp(path, fs->dir, dl) != 0 || path[dl] != '/' || strchr(path + dl + 1, '/')) {
		snprintf(err, errlen, "process %d answered another client's request", fs->pid);
		return -1;
	}
	return 0;
}

static int fl_poll(struct ct_top_source *s, char *err, size_t errlen)
{
	struct flight_source *fs = (struct flight_source *)s;
	char path[4200];
	int r;

	if (fs->unread) {
		fs->unread = 0;
		return ct_model_follow_read(fs->f, err, errlen);
	}
	if (take(fs, path, sizeof(path), err, errlen) < 0) {
		if (kill(fs->pid, 0) < 0 && errno == ESRCH)
			return 0; /* gone: finished says so */
		/* another client's request crossed ours (the channel takes one at a time):
		 * nothing new this time; three in a row is an error */
		return ++fs->failed >= 3 ? -1 : 0;
	}
	fs->failed = 0;
	r = ct_model_follow_next(fs->f, path, err, errlen);
	unlink(path);
	return r;
}

static const struct ct_model *fl_model(const struct ct_top_source *s)
{
	return ct_model_follow_model(((const struct flight_source *)s)->f);
}

static uint64_t fl_now(const struct ct_top_source *s)
{
	return ct_model_follow_now(((const struct flight_source *)s)->f);
}

/* Gone, or a zombie (it can answer no more). */
static int fl_finished(struct ct_top_source *s)
{
	struct flight_source *fs = (struct flight_source *)s;
	char p[64], st[512];
	FILE *f;
	int zombie = 0;

	if (kill(fs->pid, 0) < 0 && errno == ESRCH)
		return 1;
	snprintf(p, sizeof(p), "/proc/%d/stat", fs->pid);
	if ((f = fopen(p, "r"))) {
		if (fgets(st, sizeof(st), f)) {
			const char *c = strrchr(st, ')');

			zombie = c && (c[2] == 'Z' || c[2] == 'X');
		}
		fclose(f);
	}
	return zombie;
}

static void fl_close(struct ct_top_source *s, struct ct_model **m, uint32_t **k2t, size_t *nk)
{
	struct flight_source *fs = (struct flight_source *)s;

	ct_model_follow_end(fs->f, m, k2t, nk);
	rmdir(fs->dir); /* empty: each snapshot is deleted once read */
	free(fs);
}

struct ct_top_source *ct_top_flight_source(pid_t pid, ct_top_feed feed, void *ctx, char *err,
					   size_t errlen)
{
	struct flight_source *fs = ct_xcalloc(1, sizeof(*fs));
	const char *tmp = getenv("TMPDIR");
	char path[4200];

	fs->pid = (int)pid;
	snprintf(fs->dir, sizeof(fs->dir), "%s/ctrace-top.XXXXXX",
		 tmp && tmp[0] == '/' && strlen(tmp) < 3000 ? tmp : "/tmp");
	if (!mkdtemp(fs->dir)) {
		snprintf(err, errlen, "cannot make a directory for the snapshots (%s): %s",
			 fs->dir, strerror(errno));
		free(fs);
		return NULL;
	}
	snprintf(fs->pattern, sizeof(fs->pattern), "%s/snapshot.ctr", fs->dir);
	if (take(fs, path, sizeof(path), err, errlen) < 0) {
		rmdir(fs->dir);
		free(fs);
		return NULL;
	}
	if (ct_model_follow_open(path, feed, ctx, &fs->f, err, errlen) < 0) {
		unlink(path);
		rmdir(fs->dir);
		free(fs);
		return NULL;
	}
	unlink(path); /* open: read by the first poll */
	fs->unread = 1;
	fs->s.poll = fl_poll;
	fs->s.model = fl_model;
	fs->s.now = fl_now;
	fs->s.finished = fl_finished;
	fs->s.close = fl_close;
	snprintf(fs->s.name, sizeof(fs->s.name), "flight-mode snapshots of %d", (int)pid);
	return &fs->s;
}
