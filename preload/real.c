/* SPDX-License-Identifier: MIT */
/*
 * Resolution of the real libc functions, from the one list in symbols.h. Everything is
 * resolved in the constructor; a wrapper entered before it (another library's constructor
 * locking a mutex) resolves on the spot. A missing symbol leaves the pointer NULL and its
 * wrapper returns ENOSYS instead of crashing.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "ctrace.h"

struct ct_real ct_real;

struct entry {
	const char *name, *version;
	void **slot;
};

static const struct entry table[] = {
#define CT_SYM(ret, name, params) { #name, NULL, (void **)&ct_real.name },
#define CT_VSYM(ret, var, name, version, params) { #name, version, (void **)&ct_real.var },
#include "symbols.h"
#undef CT_SYM
#undef CT_VSYM
};

void ct_resolve(void)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (*table[i].slot)
			continue;
		void *p = table[i].version ? dlvsym(RTLD_NEXT, table[i].name, table[i].version)
					   : dlsym(RTLD_NEXT, table[i].name);
		__atomic_store_n(table[i].slot, p, __ATOMIC_RELEASE);
	}
	if (ct_real.pthread_mutex_lock && ct_real.pthread_mutex_trylock &&
	    ct_real.pthread_mutex_unlock) {
		__atomic_store_n(&ct_hot.mutex_lock, ct_real.pthread_mutex_lock, __ATOMIC_RELEASE);
		__atomic_store_n(&ct_hot.mutex_trylock, ct_real.pthread_mutex_trylock,
				 __ATOMIC_RELEASE);
		__atomic_store_n(&ct_hot.mutex_unlock, ct_real.pthread_mutex_unlock,
				 __ATOMIC_RELEASE);
	}
}

void ct_resolve_cold(void)
{
	ct_resolve();
}

/* Stubs for ct_hot before resolution: resolve, then forward (ENOSYS if missing). */
#define HOT_STUB(field, real) \
	static int stub_##field(pthread_mutex_t *m) \
	{ \
		ct_resolve(); \
		return ct_real.real ? ct_real.real(m) : ENOSYS; \
	}
HOT_STUB(mutex_lock, pthread_mutex_lock)
HOT_STUB(mutex_trylock, pthread_mutex_trylock)
HOT_STUB(mutex_unlock, pthread_mutex_unlock)

struct ct_hot ct_hot = { stub_mutex_lock, stub_mutex_trylock, stub_mutex_unlock };
