/**
 * @file g711x.c  a-law <-> u-law by table (see g711x.h)
 */
#include <stdbool.h>
#include <spandsp.h>
#include "g711x.h"

static uint8_t a2u[256];
static uint8_t u2a[256];
static bool ready;


void g711x_init(void)
{
	int i;

	if (ready)
		return;

	for (i = 0; i < 256; i++) {
		a2u[i] = alaw_to_ulaw((uint8_t)i);
		u2a[i] = ulaw_to_alaw((uint8_t)i);
	}

	ready = true;
}


void g711x_alaw_to_ulaw(uint8_t *dst, const uint8_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = a2u[src[i]];
}


void g711x_ulaw_to_alaw(uint8_t *dst, const uint8_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = u2a[src[i]];
}
