/**
 * @file vm_mail_msg.c  The voicemail e-mail as it goes into the spool
 *
 * Everything in the mail comes from outside (a caller's name and number,
 * a mailbox, a file name): each piece is cleaned to valid UTF-8 or ASCII
 * without controls before it is written, so nothing can end a header line
 * or forge a MIME boundary. Non-ASCII text is base64 or RFC 2047 encoded:
 * a relay without 8BITMIME could mangle it otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include "fsutil.h"
#include "vm_mail_int.h"

enum {
	NAME_MAX_  = 100,  /* bytes of a caller's name in the mail */
	WHO_MAX    = NAME_MAX_ + NUM_MAX + 3,
	FROM_MAX   = 900,  /* under RFC 5322's 998 for the From: line */
	FNAME_MAX  = 200,  /* the attachment's name, quoted */
	B64_LINE   = 57,   /* bytes in a line of 76 base64 characters */
};


uint64_t vm_mail_clock_ms(clockid_t id)
{
	struct timespec ts;

	(void)clock_gettime(id, &ts);

	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


/*
 * Spool names, MIME boundaries and Message-IDs need to be unique, not
 * secret: should the kernel have no entropy, a mix of the time, the pid and
 * an address still serves.
 */
uint64_t vm_mail_rnd64(void)
{
	struct timespec ts;
	uint64_t x;

	if (!getentropy(&x, sizeof(x)))
		return x;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	x ^= (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)&ts;

	/* splitmix64 */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;

	return x ^ (x >> 31);
}


/* Bytes of the UTF-8 character at s, 0 if it is not valid (RFC 3629 4) */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xc2)
		return 0;       /* a continuation byte or overlong */
	else if (s[0] < 0xe0)
		n = 2;
	else if (s[0] < 0xf0)
		n = 3;
	else if (s[0] < 0xf5)
		n = 4;
	else
		return 0;

	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;  /* also at the terminating NUL */
	}

	if ((s[0] == 0xe0 && s[1] < 0xa0) ||   /* overlong */
	    (s[0] == 0xed && s[1] > 0x9f) ||   /* surrogate */
	    (s[0] == 0xf0 && s[1] < 0x90) ||   /* overlong */
	    (s[0] == 0xf4 && s[1] > 0x8f))     /* beyond U+10FFFF */
		return 0;

	return n;
}


/*
 * Copy src into dst (max + 1 bytes) as valid UTF-8 of at most max bytes,
 * cut at a character boundary, without blanks at either end. Control
 * characters (C0, DEL, C1) are dropped, so nothing a caller sends can end
 * a header line or forge a MIME boundary; invalid bytes become '?'.
 */
void vm_mail_clean_text(char *dst, size_t max, const char *src)
{
	const unsigned char *s = (const unsigned char *)(src ? src : "");
	size_t len = 0, n;

	for (; *s; s += n) {
		n = utf8_len(s);
		if (!n) {
			n = 1;
			if (len == max)
				break;
			dst[len++] = '?';
			continue;
		}
		if ((n == 1 && (*s < 0x20 || *s == 0x7f)) ||
		    (n == 2 && s[0] == 0xc2 && s[1] < 0xa0))
			continue;
		if (*s == ' ' && !len)
			continue;
		if (len + n > max)
			break;
		memcpy(dst + len, s, n);
		len += n;
	}

	while (len && dst[len - 1] == ' ')
		--len;
	dst[len] = '\0';
}


/* A mailbox name or a header read back: printable ASCII only */
void vm_mail_clean_ascii(char *dst, size_t max, const char *src, size_t n)
{
	size_t len = 0;

	for (; n && *src && len < max; src++, n--) {
		unsigned char c = (unsigned char)*src;

		if (c < 0x20 || c == 0x7f)
			continue;
		dst[len++] = c < 0x80 ? (char)c : '?';
	}
	dst[len] = '\0';
}


static bool is_ascii(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s >= 0x80)
			return false;
	}

	return true;
}


/* One bare address: with -t the command takes recipients from To:, so
 * anything that could add one there is refused. */
bool vm_mail_valid_addr(const char *to)
{
	const char *at = strchr(to, '@');
	const char *p;

	if (!at || at == to || !at[1] || strlen(to) > ADDR_MAX)
		return false;

	for (p = to; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c >= 0x7f || strchr("<>,;:\"()[]\\", c))
			return false;
	}

	return true;
}


static size_t b64_encode(char *dst, const unsigned char *src, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = 0;

	for (; n >= 3; src += 3, n -= 3) {
		dst[len++] = tab[src[0] >> 2];
		dst[len++] = tab[(src[0] & 3) << 4 | src[1] >> 4];
		dst[len++] = tab[(src[1] & 15) << 2 | src[2] >> 6];
		dst[len++] = tab[src[2] & 63];
	}
	if (n) {
		unsigned b1 = n > 1 ? src[1] : 0;

		dst[len++] = tab[src[0] >> 2];
		dst[len++] = tab[(src[0] & 3) << 4 | b1 >> 4];
		dst[len++] = n > 1 ? tab[(b1 & 15) << 2] : '=';
		dst[len++] = '=';
	}
	dst[len] = '\0';

	return len;
}


static void out_flush(struct out *o)
{
	if (!o->err && o->len)
		o->err = fs_write_all(o->fd, o->buf, o->len, -1);
	o->len = 0;
}


static void out_mem(struct out *o, const char *p, size_t n)
{
	while (n && !o->err) {
		size_t k = sizeof(o->buf) - o->len;

		if (k > n)
			k = n;
		memcpy(o->buf + o->len, p, k);
		o->len += k;
		p += k;
		n -= k;
		if (o->len == sizeof(o->buf))
			out_flush(o);
	}
}


static void out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}


#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void out_fmt(struct out *o, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);

	/* every caller's piece is bounded well below this */
	if (n < 0 || (size_t)n >= sizeof(line)) {
		if (!o->err)
			o->err = EOVERFLOW;
		return;
	}

	out_mem(o, line, (size_t)n);
}


/* Base64 in lines of 76 characters (RFC 2045 6.8); n a multiple of 57
 * unless it is the end, so that calls can follow one another. */
static void out_b64(struct out *o, const void *p, size_t n)
{
	const unsigned char *s = p;
	char line[80];

	while (n) {
		size_t k = n < B64_LINE ? n : B64_LINE;
		size_t len = b64_encode(line, s, k);

		line[len++] = '\r';
		line[len++] = '\n';
		out_mem(o, line, len);
		s += k;
		n -= k;
	}
}


/* The recording, read in chunks of whole base64 lines */
static int out_wav(struct out *o, int fd)
{
	unsigned char buf[B64_LINE * 72];

	for (;;) {
		size_t n = 0;

		while (n < sizeof(buf)) {
			ssize_t k = read(fd, buf + n, sizeof(buf) - n);

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return errno;
			if (k == 0)
				break;
			n += (size_t)k;
		}

		out_b64(o, buf, n);
		if (o->err || n < sizeof(buf))
			return o->err;
	}
}


/*
 * RFC 2047 encoded-words, cut at character boundaries (5, rule 3) into
 * pieces of 36 bytes: 48 characters of base64, so each folded line stays
 * within the 78 of RFC 5322 2.1.1.
 */
static void out_subject(struct out *o, const char *s)
{
	char enc[64];
	const char *sep = " ";

	if (is_ascii(s)) {
		out_fmt(o, "Subject: %s\r\n", s);
		return;
	}

	out_str(o, "Subject:");
	while (*s) {
		size_t n = strlen(s);

		if (n > 36) {
			n = 36;
			while (((unsigned char)s[n] & 0xc0) == 0x80)
				--n;
		}
		(void)b64_encode(enc, (const unsigned char *)s, n);
		out_fmt(o, "%s=?UTF-8?B?%s?=", sep, enc);
		sep = "\r\n ";
		s += n;
	}
	out_str(o, "\r\n");
}


/* The basename as a quoted-string (RFC 2045 5.1, RFC 2183 2) */
static void quote_fname(char *dst, size_t max, const char *path)
{
	const char *s = strrchr(path, '/');
	size_t len = 0;

	s = s ? s + 1 : path;
	if (!*s)
		s = "message.wav";

	for (; *s && len + 2 <= max; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			dst[len++] = '\\';
		dst[len++] = c < 0x20 || c >= 0x7f ? '_' : (char)c;
	}
	dst[len] = '\0';
}


static const char *const wdays[] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday"
};

static const char *const months[] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"
};


/* Regular files only: a FIFO under the name must not block the thread */
static int open_wav(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		(void)close(fd);
		return -1;
	}

	return fd;
}


static void who(char *dst, size_t sz, const struct req *r)
{
	char name[NAME_MAX_ + 1], num[NUM_MAX + 1];

	vm_mail_clean_text(name, NAME_MAX_, r->caller_name);
	vm_mail_clean_text(num, NUM_MAX, r->caller);

	if (*name && *num && strcmp(name, num))
		snprintf(dst, sz, "%s (%s)", name, num);
	else if (*num || *name)
		snprintf(dst, sz, "%s", *num ? num : name);
	else
		snprintf(dst, sz, "an unknown caller");
}


/*
 * The whole mail. The names of days and months are spelt out here:
 * strftime()'s follow the locale, RFC 5322 3.3 wants English.
 */
int vm_mail_write(struct out *o, const char *from, const struct req *r,
		  const char *mailbox)
{
	char caller[WHO_MAX + 1], subject[WHO_MAX + NUM_MAX + 64];
	char zone[16], when[96], fname[FNAME_MAX + 1], body[1024];
	char boundary[40];
	uint64_t t = r->time_ms ? r->time_ms : vm_mail_clock_ms(CLOCK_REALTIME);
	unsigned long long secs = (r->duration_ms + 500) / 1000;
	time_t sec = (time_t)(t / 1000);
	struct tm tm;
	int wav, err = 0, n;

	if (!localtime_r(&sec, &tm))
		return EOVERFLOW;
	if (!strftime(zone, sizeof(zone), "%z", &tm))
		return EOVERFLOW;

	who(caller, sizeof(caller), r);
	snprintf(subject, sizeof(subject),
		 "New voicemail from %s in mailbox %s", caller, mailbox);
	snprintf(when, sizeof(when), "%s, %d %s %d, %02d:%02d:%02d %s",
		 wdays[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, zone);
	snprintf(boundary, sizeof(boundary), "=_sb_%016llx",
		 (unsigned long long)vm_mail_rnd64());
	quote_fname(fname, FNAME_MAX, r->wav_path);

	wav = open_wav(r->wav_path);

	n = snprintf(body, sizeof(body),
		     "A new voicemail message is in mailbox %s.\r\n"
		     "\r\n"
		     "Caller:   %s\r\n"
		     "Received: %s\r\n"
		     "Length:   %llu:%02llu\r\n"
		     "\r\n"
		     "%s\r\n",
		     mailbox, caller, when, secs / 60, secs % 60,
		     wav >= 0 ? "The recording is attached." :
		     "The recording is no longer there: it was deleted"
		     " before this\r\ne-mail was written.");
	if (n < 0 || (size_t)n >= sizeof(body)) {
		err = EOVERFLOW;
		goto out;
	}

	out_fmt(o, "From: %s\r\n", from);
	out_fmt(o, "To: %s\r\n", r->to);
	out_subject(o, subject);
	out_fmt(o, "Date: %.3s, %d %.3s %d %02d:%02d:%02d %s\r\n",
		wdays[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, zone);
	out_fmt(o, "Message-ID: <%llu.%016llx@switchboard>\r\n",
		(unsigned long long)vm_mail_clock_ms(CLOCK_REALTIME),
		(unsigned long long)vm_mail_rnd64());
	/* RFC 3834 5: no vacation replies to the PBX */
	out_str(o, "Auto-Submitted: auto-generated\r\n");
	out_str(o, "MIME-Version: 1.0\r\n");
	out_fmt(o, "X-Switchboard-Mailbox: %s\r\n", mailbox);
	out_fmt(o, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n"
		"\r\n"
		"This is a message in MIME format.\r\n"
		"\r\n", boundary);

	/* 8-bit text could be mangled by a relay without 8BITMIME */
	out_fmt(o, "--%s\r\n"
		"Content-Type: text/plain; charset=UTF-8\r\n"
		"Content-Transfer-Encoding: %s\r\n"
		"\r\n", boundary, is_ascii(body) ? "7bit" : "base64");
	if (is_ascii(body))
		out_mem(o, body, (size_t)n);
	else
		out_b64(o, body, (size_t)n);

	if (wav >= 0) {
		out_fmt(o, "\r\n--%s\r\n"
			"Content-Type: audio/wav; name=\"%s\"\r\n"
			"Content-Disposition: attachment; filename=\"%s\"\r\n"
			"Content-Transfer-Encoding: base64\r\n"
			"\r\n", boundary, fname, fname);
		err = out_wav(o, wav);
	}

	out_fmt(o, "\r\n--%s--\r\n", boundary);
	out_flush(o);
	if (!err)
		err = o->err;

 out:
	if (wav >= 0)
		(void)close(wav);

	return err;
}


/* bounded, so that the header always fits out_fmt()'s line */
bool vm_mail_valid_from(const char *s)
{
	if (!*s || strlen(s) > FROM_MAX)
		return false;

	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	}

	return true;
}
