/* SPDX-License-Identifier: MIT */
/*
 * The "junit" output format (output.h): check's verdicts as JUnit XML, for CI systems.
 * One <testsuite name="ctrace check">, one <testcase> per rule (classname the trace, or
 * the traces checked as one, joined by ", "; name the rule), a <failure> with the
 * violations for a broken rule. Strings are
 * escaped for XML 1.0 (ct_xml_escape).
 */
#include <stdint.h>
#include <stdio.h>

#include "output.h"

/* Length of the valid UTF-8 sequence at s (>= 2 bytes), or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
		return 0;
	return n;
}

void ct_xml_escape(FILE *f, const char *s, int attr)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	while (*p) {
		size_t n;

		switch (*p) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '\t': fputs(attr ? "&#9;" : "\t", f); break;
		case '\n': fputs(attr ? "&#10;" : "\n", f); break;
		case '\r': fputs("&#13;", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				fputs("\xef\xbf\xbd", f);
			} else if (*p < 0x80) {
				fputc(*p, f);
			} else if ((n = utf8_len(p))) {
				fwrite(p, 1, n, f);
				p += n;
				continue;
			} else {
				fputs("\xef\xbf\xbd", f);
			}
		}
		p++;
	}
}

int ct_out_junit(const struct ct_output_ctx *c, FILE *f)
{
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<testsuite name=\"ctrace check\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
		   "skipped=\"0\">\n", c->nverdicts, c->nfailed);
	for (size_t i = 0; i < c->nverdicts; i++) {
		const struct ct_verdict *v = &c->verdicts[i];

		fputs("  <testcase classname=\"", f);
		ct_xml_escape(f, v->trace, 1);
		fputs("\" name=\"", f);
		ct_xml_escape(f, v->rule, 1);
		if (!v->nviol) {
			fputs("\"/>\n", f);
			continue;
		}
		fputs("\">\n    <failure type=\"", f);
		ct_xml_escape(f, v->rule, 1);
		fprintf(f, "\" message=\"%zu violation%s: ", v->nviol, v->nviol == 1 ? "" : "s");
		ct_xml_escape(f, v->first, 1);
		fputs("\">", f);
		ct_xml_escape(f, v->text, 0);
		fputs("</failure>\n  </testcase>\n", f);
	}
	fputs("</testsuite>\n", f);
	return 0;
}
