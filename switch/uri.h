/**
 * @file uri.h  SIP URI comparison (RFC 3261 19.1.4)
 *
 * libre 1.1.0 decodes URIs (uri_decode()) but has no uri_cmp; this is the
 * comparison the location service uses to tell whether two Contacts are
 * the same binding, kept here so that other modules compare the same way.
 */
#ifndef SWITCH_URI_H
#define SWITCH_URI_H

/**
 * Compare two SIP or SIPS URIs by the rules of RFC 3261 19.1.4:
 *
 *  - scheme and host compare case-insensitively; IP literals compare as
 *    addresses ("[::1]" equals "[0::1]"), and an IP never equals a name;
 *  - user and password compare case-sensitively;
 *  - %HH escapes are decoded before comparing ("%61lice" equals "alice"),
 *    in the user, the password, and parameter and header values;
 *  - ports must be equal, and no port is not the same as an explicit
 *    default port ("sip:a@h" differs from "sip:a@h:5060");
 *  - the parameters transport, user, ttl, method and maddr must match
 *    (case-insensitively) when either URI has them; any other parameter
 *    is compared only when both URIs have it;
 *  - headers must match both ways: each header of one URI must appear,
 *    with an equal value, in the other.
 *
 * A string that uri_decode() rejects equals only the identical string.
 *
 * @param a  First URI, without angle brackets
 * @param b  Second URI, without angle brackets
 *
 * @return true if the URIs are equivalent
 */
bool uri_equal(const struct pl *a, const struct pl *b);

#endif
