/**
 * @file e164.h  Dialled numbers to E.164 per trunk, and their class
 *
 * A trunk's numbering: its country code, optional area code, and the
 * prefixes dialled before a country code (international, default 00)
 * and before an area code (national, default 0). What the dialplan hands
 * a trunk ("0201234567", "00441234", "+15551234", "5551234") becomes
 * +E.164; the class (local, national, international) is what a user's
 * class of service is checked against before a call reaches the trunk.
 */
#ifndef SWITCH_E164_H
#define SWITCH_E164_H

struct config_trunk;

/** number -> out ("+CC..."); without a country code on the trunk, the
 *  digits as dialled. EINVAL for a number with no digit or a letter. */
int  e164_normalise(char *out, size_t sz, const char *number,
		    const struct config_trunk *tc);

/** The class of an out of e164_normalise */
enum cos e164_class(const char *e164, const struct config_trunk *tc);

#endif
