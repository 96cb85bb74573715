/* SPDX-License-Identifier: MIT */
/*
 * The one list of real libc functions libctrace calls through (X-macro, no include guard).
 * CT_SYM(ret, name, params): resolved with dlsym(RTLD_NEXT, name).
 * CT_VSYM(ret, field, name, version, params): pinned with dlvsym(RTLD_NEXT, name, version),
 * for symbols with two ABIs (the pthread_cond_* functions on x86_64: GLIBC_2.2.5 is the
 * old LinuxThreads-era object layout, GLIBC_2.3.2 the current one; each of our exported
 * versions forwards to its own).
 */
CT_SYM(int, pthread_mutex_lock, (pthread_mutex_t *))
CT_SYM(int, pthread_mutex_trylock, (pthread_mutex_t *))
CT_SYM(int, pthread_mutex_timedlock, (pthread_mutex_t *, const struct timespec *))
CT_SYM(int, pthread_mutex_clocklock, (pthread_mutex_t *, clockid_t, const struct timespec *))
CT_SYM(int, pthread_mutex_unlock, (pthread_mutex_t *))
CT_VSYM(int, cond_wait_232, pthread_cond_wait, "GLIBC_2.3.2", (pthread_cond_t *, pthread_mutex_t *))
CT_VSYM(int, cond_timedwait_232, pthread_cond_timedwait, "GLIBC_2.3.2",
	(pthread_cond_t *, pthread_mutex_t *, const struct timespec *))
CT_VSYM(int, cond_signal_232, pthread_cond_signal, "GLIBC_2.3.2", (pthread_cond_t *))
CT_VSYM(int, cond_broadcast_232, pthread_cond_broadcast, "GLIBC_2.3.2", (pthread_cond_t *))
CT_VSYM(int, cond_wait_225, pthread_cond_wait, "GLIBC_2.2.5", (pthread_cond_t *, pthread_mutex_t *))
CT_VSYM(int, cond_timedwait_225, pthread_cond_timedwait, "GLIBC_2.2.5",
	(pthread_cond_t *, pthread_mutex_t *, const struct timespec *))
CT_VSYM(int, cond_signal_225, pthread_cond_signal, "GLIBC_2.2.5", (pthread_cond_t *))
CT_VSYM(int, cond_broadcast_225, pthread_cond_broadcast, "GLIBC_2.2.5", (pthread_cond_t *))
CT_SYM(int, pthread_cond_clockwait,
       (pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *))
CT_SYM(int, pthread_create, (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))
CT_SYM(int, pthread_join, (pthread_t, void **))
CT_SYM(int, pthread_setname_np, (pthread_t, const char *))
CT_SYM(int, sigaction, (int, const struct sigaction *, struct sigaction *))
CT_SYM(int, dlclose, (void *))
CT_SYM(void, _exit, (int))
CT_SYM(void, _Exit, (int))
CT_SYM(ssize_t, write, (int, const void *, size_t))
CT_SYM(int, nanosleep, (const struct timespec *, struct timespec *))
CT_SYM(int, pthread_tryjoin_np, (pthread_t, void **))
CT_SYM(int, pthread_timedjoin_np, (pthread_t, void **, const struct timespec *))
CT_SYM(int, pthread_clockjoin_np, (pthread_t, void **, clockid_t, const struct timespec *))
CT_SYM(int, sem_wait, (sem_t *))
CT_SYM(int, sem_timedwait, (sem_t *, const struct timespec *))
CT_SYM(int, sem_clockwait, (sem_t *, clockid_t, const struct timespec *))
CT_SYM(int, sem_trywait, (sem_t *))
CT_SYM(int, sem_post, (sem_t *))
CT_SYM(int, pthread_rwlock_rdlock, (pthread_rwlock_t *))
CT_SYM(int, pthread_rwlock_wrlock, (pthread_rwlock_t *))
CT_SYM(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t *))
CT_SYM(int, pthread_rwlock_trywrlock, (pthread_rwlock_t *))
CT_SYM(int, pthread_rwlock_timedrdlock, (pthread_rwlock_t *, const struct timespec *))
CT_SYM(int, pthread_rwlock_timedwrlock, (pthread_rwlock_t *, const struct timespec *))
CT_SYM(int, pthread_rwlock_clockrdlock, (pthread_rwlock_t *, clockid_t, const struct timespec *))
CT_SYM(int, pthread_rwlock_clockwrlock, (pthread_rwlock_t *, clockid_t, const struct timespec *))
CT_SYM(int, pthread_rwlock_unlock, (pthread_rwlock_t *))
CT_SYM(int, pthread_barrier_wait, (pthread_barrier_t *))
CT_SYM(int, pthread_spin_lock, (pthread_spinlock_t *))
CT_SYM(int, pthread_spin_trylock, (pthread_spinlock_t *))
CT_SYM(int, pthread_spin_unlock, (pthread_spinlock_t *))
CT_SYM(long, syscall, (long, ...))
