/* SPDX-License-Identifier: MIT */
/* placeholder */
#include "export.h"
#include "util.h"
int ct_export_html(const struct ct_export_ctx *c, FILE *f)
{
	(void)c; (void)f;
	ct_err("export: html: not yet");
	return -1;
}
