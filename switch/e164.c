/**
 * @file e164.c  Dialled numbers to E.164 per trunk, and their class
 */
#include <ctype.h>
#include "core.h"
#include "config.h"
#include "e164.h"


static bool starts(const char *s, const char *prefix)
{
	return prefix && prefix[0] && !strncmp(s, prefix, strlen(prefix));
}


int e164_normalise(char *out, size_t sz, const char *number,
		   const struct config_trunk *tc)
{
	char digits[64];
	const char *cc = tc ? tc->country_code : NULL;
	size_t n = 0;
	bool plus = false;
	const char *p;
	int r;

	if (!out || !number || !sz)
		return EINVAL;

	/* visual separators go; anything else but digits is wrong */
	for (p = number; *p; p++) {
		if (*p == '+' && p == number)
			plus = true;
		else if (isdigit((unsigned char)*p) && n + 1 < sizeof(digits))
			digits[n++] = *p;
		else if (*p != ' ' && *p != '-' && *p != '.' && *p != '(' &&
			 *p != ')')
			return EINVAL;
	}
	digits[n] = '\0';
	if (!n)
		return EINVAL;

	if (plus)
		r = re_snprintf(out, sz, "+%s", digits);
	else if (!cc || !cc[0])
		r = re_snprintf(out, sz, "%s", digits);
	else if (starts(digits, tc->intl_prefix))
		r = re_snprintf(out, sz, "+%s",
				digits + strlen(tc->intl_prefix));
	else if (starts(digits, tc->natl_prefix))
		r = re_snprintf(out, sz, "+%s%s", cc,
				digits + strlen(tc->natl_prefix));
	else if (tc->area_code && tc->area_code[0] && n <= 8)
		r = re_snprintf(out, sz, "+%s%s%s", cc, tc->area_code,
				digits);
	else
		r = re_snprintf(out, sz, "+%s%s", cc, digits);

	return r < 0 || (size_t)r >= sz ? ENOMEM : 0;
}


enum cos e164_class(const char *e164, const struct config_trunk *tc)
{
	const char *cc = tc ? tc->country_code : NULL;
	size_t ccl;

	if (!e164 || e164[0] != '+' || !cc || !cc[0])
		return COS_NATIONAL;     /* as dialled, without a country */

	ccl = strlen(cc);
	if (strncmp(e164 + 1, cc, ccl))
		return COS_INTERNATIONAL;

	if (tc->area_code && tc->area_code[0] &&
	    !strncmp(e164 + 1 + ccl, tc->area_code, strlen(tc->area_code)))
		return COS_LOCAL;

	return COS_NATIONAL;
}
