/**
 * @file randbuf.c  libre's rand_u16/u32/u64/rand_bytes from a buffer
 *
 * libre 1.1.0 asks OpenSSL's RAND_bytes() for every random number it
 * makes - each branch, tag, Call-ID, CSeq, SSRC - 4 or 8 bytes at a
 * time, and each RAND_bytes() call pays for the DRBG's locking and
 * dispatch: perf showed 7.6 % of the signalling thread under rand_u32()
 * at 1250 calls/s. These definitions in the executable take the place of
 * libre's (it calls them through its PLT, as sipdecode.c relies on for
 * sip_msg_decode()) and hand out the same OpenSSL DRBG output, drawn
 * 4 KiB at a time into a per-thread buffer. Each byte is used once.
 *
 * If RAND_bytes() fails the error is logged and zeros are handed out,
 * as libre does; bytes already used are never handed out again (they
 * are wiped as they go).
 *
 * Only the switchboard binary and test_randbuf link this file.
 */
#include <limits.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include "core.h"

enum { RANDBUF_SIZE = 4096 };

static __thread struct {
	uint8_t buf[RANDBUF_SIZE];
	size_t pos;              /* next unused byte; SIZE: empty */
	bool init;
} rb;


/* n bytes (n <= RANDBUF_SIZE) from the buffer; false if OpenSSL failed */
static bool take(void *p, size_t n)
{
	if (!rb.init || rb.pos + n > RANDBUF_SIZE) {
		if (RAND_bytes(rb.buf, RANDBUF_SIZE) != 1)
			return false;
		rb.pos = 0;
		rb.init = true;
	}

	memcpy(p, rb.buf + rb.pos, n);
	/* used bytes do not stay in memory */
	memset(rb.buf + rb.pos, 0, n);
	rb.pos += n;

	return true;
}


/* OpenSSL failed: say so, as libre does, and hand out zeros as libre
 * does then (never bytes left over in the buffer) */
static void failed(void *p, size_t n)
{
	log_error("rand: RAND_bytes() failed (OpenSSL error %lu)",
		  ERR_get_error());
	ERR_clear_error();
	memset(p, 0, n);
}


uint16_t rand_u16(void)
{
	uint16_t v;

	if (!take(&v, sizeof(v)))
		failed(&v, sizeof(v));

	return v;
}


uint32_t rand_u32(void)
{
	uint32_t v;

	if (!take(&v, sizeof(v)))
		failed(&v, sizeof(v));

	return v;
}


uint64_t rand_u64(void)
{
	uint64_t v;

	if (!take(&v, sizeof(v)))
		failed(&v, sizeof(v));

	return v;
}


void rand_bytes(uint8_t *p, size_t size)
{
	if (!p || !size)
		return;

	/* large requests (keys) straight from OpenSSL, as libre does */
	if (size <= RANDBUF_SIZE / 4) {
		if (!take(p, size))
			failed(p, size);
		return;
	}

	if (size > INT_MAX || RAND_bytes(p, (int)size) != 1)
		failed(p, size);
}
