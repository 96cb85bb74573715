/* SPDX-License-Identifier: MIT */
/* placeholder */
#include "export.h"
#include "util.h"
int ct_export_chrome(const struct ct_export_ctx *c, FILE *f)
{
	(void)c; (void)f;
	ct_err("export: chrome: not yet");
	return -1;
}
