/**
 * @file sipdecode.c  A wrapper in front of libre's sip_msg_decode()
 *
 * libre 1.1.0 calls sip_msg_decode() through its PLT, so this definition
 * in the executable takes its place for every message the SIP stack
 * reads, UDP, TCP and TLS alike (verified with objdump: four call sites
 * via sip_msg_decode@plt). Messages libre decodes are untouched; for the
 * others (sipguard.h):
 *   - a request whose top Via lacks a branch (RFC 2543 style, valid SIP)
 *     gets one and is decoded again;
 *   - any other request with a complete head becomes a stub that libre
 *     can parse and that the first listener refuses with 400 or 505.
 * Only the switchboard binary links this file; unit tests use libre's
 * function directly.
 */
#include <dlfcn.h>
#include "core.h"
#include "sipguard.h"

typedef int (decode_h)(struct sip_msg **msgp, struct mbuf *mb);


int sip_msg_decode(struct sip_msg **msgp, struct mbuf *mb)
{
	static decode_h *libre_decode;
	size_t pos;
	int err;

	if (!libre_decode) {
		libre_decode = (decode_h *)dlsym(RTLD_NEXT, "sip_msg_decode");
		if (!libre_decode)
			return ENOSYS;
	}

	if (!msgp || !mb)
		return libre_decode(msgp, mb);

	pos = mb->pos;
	err = libre_decode(msgp, mb);
	if (!err)
		return 0;

	/* ENODATA: incomplete, or a head libre's regexps do not match;
	 * sipguard_* look for the empty line and leave incomplete heads */
	mb->pos = pos;
	if (sipguard_repair_branch(mb)) {
		mb->pos = pos;
		err = libre_decode(msgp, mb);
		if (!err)
			return 0;
		mb->pos = pos;
	}

	if (sipguard_stub(mb)) {
		mb->pos = pos;
		err = libre_decode(msgp, mb);
		if (!err)
			return 0;
	}

	mb->pos = pos;
	return err;
}
