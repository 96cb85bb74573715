/* SPDX-License-Identifier: MIT */
/*
 * The trace-file source of `ctrace top` (top_source.h): a file followed as its writer
 * appends to it (ct_model_follow_*), the writer being the process its header names; and
 * finding the trace a process writes through /proc/PID/fd. Reading is all it does: the
 * traced process never waits for it.
 */
#include "top_source.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

struct file_source {
	struct ct_top_source s;
	struct ct_model_follow *f;
	dev_t dev;
	ino_t ino;
	uint32_t pid;         /* the writer: the header's pid */
};

static int fs_poll(struct ct_top_source *s, char *err, size_t errlen)
{
	return ct_model_follow_read(((struct file_source *)s)->f, err, errlen);
}

static const struct ct_model *fs_model(const struct ct_top_source *s)
{
	return ct_model_follow_model(((const struct file_source *)s)->f);
}

static uint64_t fs_now(const struct ct_top_source *s)
{
	return ct_model_follow_now(((const struct file_source *)s)->f);
}

/* Does process pid have the file open? 1 yes, 0 no (or gone), -1 cannot tell. */
static int has_open(uint32_t pid, dev_t dev, ino_t ino)
{
	char dir[64];
	DIR *d;
	struct dirent *de;
	int found = 0;

	snprintf(dir, sizeof(dir), "/proc/%u/fd", pid);
	if (!(d = opendir(dir)))
		return errno == ENOENT || errno == ESRCH ? 0 : -1;
	while ((de = readdir(d))) {
		char p[320];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &st) == 0 && st.st_dev == dev && st.st_ino == ino) {
			found = 1;
			break;
		}
	}
	closedir(d);
	return found;
}

/* The writer is done when its process is gone, or no longer has the file open (the
 * tracing was detached, or a zombie). */
static int fs_finished(struct ct_top_source *s)
{
	struct file_source *fs = (struct file_source *)s;
	int open;

	if (!fs->pid || (kill((pid_t)fs->pid, 0) < 0 && errno == ESRCH))
		return 1;
	open = has_open(fs->pid, fs->dev, fs->ino);
	return open == 0;
}

static void fs_close(struct ct_top_source *s, struct ct_model **m, uint32_t **k2t,
		     size_t *nk)
{
	struct file_source *fs = (struct file_source *)s;

	ct_model_follow_end(fs->f, m, k2t, nk);
	free(fs);
}

struct ct_top_source *ct_top_file_source(const char *path, ct_top_feed feed, void *ctx,
					 char *err, size_t errlen)
{
	struct file_source *fs;
	struct ct_model_follow *f;
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	if (ct_model_follow_open(path, feed, ctx, &f, err, errlen) < 0)
		return NULL;
	fs = ct_xcalloc(1, sizeof(*fs));
	fs->f = f;
	fs->dev = st.st_dev;
	fs->ino = st.st_ino;
	fs->pid = ct_model_follow_model(f)->hdr.pid;
	fs->s.poll = fs_poll;
	fs->s.model = fs_model;
	fs->s.now = fs_now;
	fs->s.finished = fs_finished;
	fs->s.close = fs_close;
	snprintf(fs->s.name, sizeof(fs->s.name), "%s", path);
	return &fs->s;
}

int ct_top_find_trace(pid_t pid, char *path, size_t cap, char *shown, size_t scap, char *err,
		      size_t errlen)
{
	char dir[64];
	DIR *d;
	struct dirent *de;
	int found = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH)) {
		snprintf(err, errlen, "no process %d", (int)pid);
		return -1;
	}
	if (!(d = opendir(dir))) {
		int e = errno;

		if (e == ENOENT)
			snprintf(err, errlen, "no process %d", (int)pid);
		else
			snprintf(err, errlen, "cannot read %s: %s%s", dir, strerror(e),
				 e == EACCES || e == EPERM ? " (the process of another user?)" : "");
		return -1;
	}
	while (!found && (de = readdir(d))) {
		char p[320];
		struct stat st;
		struct ct_reader *r;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (ct_reader_open(p, &r) < 0)
			continue;
		if (ct_reader_header(r)->pid == (uint32_t)pid) {
			ssize_t n;

			found = 1;
			snprintf(path, cap, "%s", p);
			n = readlink(p, shown, scap - 1);
			shown[n > 0 ? (size_t)n : 0] = 0;
			if (n <= 0)
				snprintf(shown, scap, "%s", p);
		}
		ct_reader_close(r);
	}
	closedir(d);
	if (!found)
		snprintf(err, errlen, "process %d is not traced (none of its open files is a ctrace "
			 "trace of it)", (int)pid);
	return found ? 0 : -1;
}
