/**
 * @file sipguard.h  What libre 1.1.0's SIP parser cannot take
 *
 * libre drops a request it cannot decode without a word (RFC 4475 3.1.2
 * wants 400 or 505), and it refuses a top Via without a branch, which is
 * valid SIP (RFC 2543 clients; RFC 4475 3.1.1.7 and 3.4.1). The
 * sip_msg_decode() wrapper in the switchboard binary (sipdecode.c) calls
 * these when libre's decode fails:
 *
 *  - sipguard_repair_branch() gives such a Via a branch derived from the
 *    RFC 3261 17.2.3 matching fields, so retransmissions still match;
 *  - sipguard_stub() rewrites an undecodable request head, in place, into
 *    a minimal one that libre can parse, keeping what a reply needs (Via,
 *    From, To, Call-ID, CSeq, the body length) and marking the answer
 *    it must get (400, or 505 for another SIP version). The first
 *    listener (sipstack.c) sends that answer through libre, which
 *    addresses it as for any request (Via, rport, the TCP connection).
 */
#ifndef SWITCH_SIPGUARD_H
#define SWITCH_SIPGUARD_H

/** If mb (at mb->pos) holds a request whose top Via has no branch,
 *  insert one in place. Returns true if the buffer was changed. */
bool sipguard_repair_branch(struct mbuf *mb);

/** Rewrite the undecodable request head at mb->pos into a parseable stub.
 *  Returns true if it did (then decode again). Responses and incomplete
 *  heads are left alone. */
bool sipguard_stub(struct mbuf *mb);

/** If msg came from a stub: the status code and reason to answer. */
bool sipguard_rejection(const struct sip_msg *msg, uint16_t *scodep,
			const char **reasonp);

#endif
