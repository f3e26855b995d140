/**
 * @file test_vm_mail.c  Voicemail e-mail notification (switch/vm_mail.c)
 *
 * The "sendmail" is a shell command that writes the mail into a file, or
 * fails as a real one would, so the mail is checked as a mail client would
 * read it. Every wait polls the counters with a bound and fails on it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  /* nftw(), strptime(), timegm() */
#endif
#include "vm_mail.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "unit_util.h"

#define WAIT_MS 5000
#define T_MSG   1700000000123ull  /* 2023-11-15 03:43:20.123 +0530 */

struct fixture {
	char dir[64];
	char spool[128];
	char wav[128];
	char out[128];
	char cmd[512];
	char path[256];

	pthread_mutex_t mtx;  /* the log comes from the mail thread */
	char log[16384];
	size_t loglen;
};

struct stats {
	unsigned spooled, sent, failures, pending;
};


static void log_h(int level, const char *msg, void *arg)
{
	struct fixture *f = arg;
	int n;

	pthread_mutex_lock(&f->mtx);
	n = snprintf(f->log + f->loglen, sizeof(f->log) - f->loglen,
		     "%d: %s\n", level, msg);
	if (n > 0 && (size_t)n < sizeof(f->log) - f->loglen)
		f->loglen += (size_t)n;
	pthread_mutex_unlock(&f->mtx);
}


static bool logged(struct fixture *f, const char *s)
{
	bool found;

	pthread_mutex_lock(&f->mtx);
	found = strstr(f->log, s) != NULL;
	pthread_mutex_unlock(&f->mtx);

	return found;
}


static const char *join(struct fixture *f, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);

	return f->path;
}


/* 44-byte header and n samples of 8 kHz mono PCM */
static void write_wav(const char *path, unsigned n)
{
	unsigned char h[44] = "RIFF....WAVEfmt ";
	FILE *fp = fopen(path, "wb");
	unsigned i, data = 2 * n;
	unsigned riff = 36 + data;

	assert_non_null(fp);
	h[4] = riff; h[5] = riff >> 8; h[6] = riff >> 16; h[7] = riff >> 24;
	h[16] = 16; h[17] = 0; h[18] = 0; h[19] = 0;
	h[20] = 1; h[21] = 0; h[22] = 1; h[23] = 0;
	h[24] = 0x40; h[25] = 0x1f; h[26] = 0; h[27] = 0;    /* 8000 */
	h[28] = 0x80; h[29] = 0x3e; h[30] = 0; h[31] = 0;    /* 16000 */
	h[32] = 2; h[33] = 0; h[34] = 16; h[35] = 0;
	memcpy(h + 36, "data", 4);
	h[40] = data; h[41] = data >> 8; h[42] = data >> 16; h[43] = 0;
	assert_int_equal(fwrite(h, 1, 44, fp), 44);

	/* distinct bytes, so a lost or doubled chunk shows */
	for (i = 0; i < n; i++) {
		unsigned v = i * 7919u;

		fputc(v & 0xff, fp);
		fputc((v >> 8) & 0xff, fp);
	}
	assert_int_equal(fclose(fp), 0);
}


static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;

	strcpy(f->dir, "/tmp/sb-test-vmmail-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	pthread_mutex_init(&f->mtx, NULL);
	snprintf(f->spool, sizeof(f->spool), "%s/voicemail/.mailq", f->dir);
	snprintf(f->wav, sizeof(f->wav), "%s/msg-0001.wav", f->dir);
	snprintf(f->out, sizeof(f->out), "%s/out.eml", f->dir);
	*state = f;

	return 0;
}


static int teardown(void **state)
{
	struct fixture *f = *state;

	rm_tree(f->dir);
	pthread_mutex_destroy(&f->mtx);
	free(f);

	return 0;
}


static struct vm_mail *start(struct fixture *f, const char *cmd,
			     unsigned retry_min, unsigned timeout)
{
	struct vm_mail_prm prm = {
		.spooldir = f->spool,
		.command = cmd,
		.from = "Switchboard <pbx@localhost>",
		.retry_min_s = retry_min,
		.retry_max_s = 0,
		.timeout_s = timeout,
		.logh = log_h,
		.log_arg = f,
	};
	struct vm_mail *m = NULL;

	assert_int_equal(vm_mail_start(&m, &prm), 0);
	assert_non_null(m);

	return m;
}


static struct vm_mail_msg msg_alice(struct fixture *f)
{
	struct vm_mail_msg msg = {
		.to = "bob@example.com",
		.mailbox = "1002",
		.caller = "1001",
		.caller_name = "Alice",
		.wav_path = f->wav,
		.time_ms = T_MSG,
		.duration_ms = 61500,
	};

	return msg;
}


static struct stats stats(struct vm_mail *m)
{
	struct stats st;

	vm_mail_stats(m, &st.spooled, &st.sent, &st.failures, &st.pending);

	return st;
}


/* Until at least sent and failures are counted and pending is as given */
static bool wait_for(struct vm_mail *m, unsigned sent, unsigned failures,
		     unsigned pending, int ms)
{
	const struct timespec tick = {0, 10 * 1000000};

	for (; ms > 0; ms -= 10) {
		struct stats st = stats(m);

		if (st.sent >= sent && st.failures >= failures &&
		    st.pending == pending)
			return true;
		nanosleep(&tick, NULL);
	}

	return false;
}


/* every command run was waited for */
static void no_zombies(void)
{
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}


static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);

	return ts.tv_sec + ts.tv_nsec / 1e9;
}


static char *slurp(const char *path, size_t *lenp)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long len;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	len = ftell(fp);
	rewind(fp);
	buf = malloc(len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, len, fp), (size_t)len);
	buf[len] = '\0';
	fclose(fp);
	if (lenp)
		*lenp = len;

	return buf;
}


static int entries(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!suffix || (len > strlen(suffix) &&
				!strcmp(de->d_name + len - strlen(suffix),
					suffix)))
			++n;
	}
	closedir(d);

	return n;
}


/* The first line starting with prefix, case-insensitive, or NULL */
static const char *line_with(const char *text, const char *prefix)
{
	const char *p = text;
	size_t n = strlen(prefix);

	for (;;) {
		if (!strncasecmp(p, prefix, n))
			return p;
		p = strchr(p, '\n');
		if (!p)
			return NULL;
		++p;
	}
}


/* The line at p (up to CRLF) as a new string */
static char *line_dup(const char *p)
{
	const char *end = strstr(p, "\r\n");

	assert_non_null(end);

	return strndup(p, end - p);
}


static int b64_val(int c)
{
	const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(tab, c) : NULL;

	return p ? (int)(p - tab) : -1;
}


/* Decode n characters of base64, CR and LF skipped; returns the length */
static size_t b64_decode(unsigned char *dst, const char *s, size_t n)
{
	unsigned acc = 0, bits = 0;
	size_t len = 0;

	for (; n; s++, n--) {
		int v;

		if (*s == '\r' || *s == '\n')
			continue;
		if (*s == '=')
			break;
		v = b64_val(*s);
		assert_true(v >= 0);
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			dst[len++] = (unsigned char)(acc >> bits);
		}
	}

	return len;
}


/* Every line ends in CRLF and none is longer than max */
static void check_lines(const char *mail, size_t max)
{
	const char *p = mail, *nl;

	while ((nl = strchr(p, '\n')) != NULL) {
		assert_true(nl > p && nl[-1] == '\r');
		assert_true((size_t)(nl - 1 - p) <= max);
		p = nl + 1;
	}
	assert_string_equal(p, "");
}


/* "--BOUNDARY" from the Content-Type header */
static char *boundary(const char *mail)
{
	const char *p = line_with(mail, "Content-Type: multipart/mixed;");
	char *b;

	assert_non_null(p);
	p = strstr(p, "boundary=\"");
	assert_non_null(p);
	p += strlen("boundary=\"");
	b = malloc(strlen(p) + 3);
	assert_non_null(b);
	strcpy(b, "--");
	strncat(b, p, strcspn(p, "\""));

	return b;
}


/* RFC 5322 3.3 in English whatever the locale; the zone set in main() */
static void check_date(const char *mail, time_t want)
{
	char *date = line_dup(line_with(mail, "Date: "));
	struct tm tm;
	const char *end;
	long off;

	memset(&tm, 0, sizeof(tm));
	end = strptime(date + 6, "%a, %d %b %Y %H:%M:%S %z", &tm);
	assert_non_null(end);
	assert_string_equal(end, "");
	off = tm.tm_gmtoff;  /* timegm() resets it */
	assert_int_equal(timegm(&tm) - off, want);
	assert_non_null(strstr(date, " +0530"));
	free(date);
}


static void test_sent(void **state)
{
	struct fixture *f = *state;
	struct vm_mail_msg msg = msg_alice(f);
	struct vm_mail *m;
	struct stats st;
	struct stat sb;
	char *mail, *head, *b, *subj, *wav, *end;
	const char *p;
	unsigned char *dec;
	size_t wavlen, declen;

	write_wav(f->wav, 7999);  /* 16042 bytes: ends in "==" */
	snprintf(f->cmd, sizeof(f->cmd), "cat > %s", f->out);

	m = start(f, f->cmd, 0, 0);
	assert_int_equal(stat(f->spool, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0750);

	assert_int_equal(vm_mail_queue(m, &msg), 0);
	assert_true(wait_for(m, 1, 0, 0, WAIT_MS));
	st = stats(m);
	assert_int_equal(st.spooled, 1);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.failures, 0);
	vm_mail_stop(m);
	no_zombies();

	assert_int_equal(entries(f->spool, NULL), 0);
	assert_true(logged(f, "0: voicemail 1002: e-mail to bob@example.com"
			   " sent\n"));

	mail = slurp(f->out, NULL);
	check_lines(mail, 998);

	/* RFC 5322 3.6: the header, up to the first empty line */
	end = strstr(mail, "\r\n\r\n");
	assert_non_null(end);
	head = strndup(mail, end + 2 - mail);
	assert_non_null(line_with(head,
				  "From: Switchboard <pbx@localhost>\r\n"));
	assert_non_null(line_with(head, "To: bob@example.com\r\n"));
	subj = line_dup(line_with(head, "Subject: "));
	assert_string_equal(subj, "Subject: New voicemail from Alice (1001)"
			    " in mailbox 1002");
	assert_non_null(line_with(head, "MIME-Version: 1.0\r\n"));
	assert_non_null(line_with(head, "X-Switchboard-Mailbox: 1002\r\n"));
	p = line_with(head, "Message-ID: <");
	assert_non_null(p);
	assert_true(strstr(p, "@switchboard>\r\n") == strstr(p, "\r\n") - 13);
	check_date(head, T_MSG / 1000);

	/* the text */
	b = boundary(head);
	p = strstr(end, b);
	assert_non_null(p);
	assert_non_null(line_with(p, "Content-Type: text/plain;"
				  " charset=UTF-8\r\n"));
	assert_non_null(line_with(p, "Caller:   Alice (1001)\r\n"));
	assert_non_null(line_with(p, "Length:   1:02\r\n"));
	assert_non_null(strstr(p, "mailbox 1002"));

	/* the attachment, byte for byte */
	p = line_with(p, "Content-Type: audio/wav; name=\"msg-0001.wav\"\r\n");
	assert_non_null(p);
	assert_non_null(line_with(p, "Content-Disposition: attachment;"
				  " filename=\"msg-0001.wav\"\r\n"));
	assert_non_null(line_with(p, "Content-Transfer-Encoding: base64"
				  "\r\n"));
	p = strstr(p, "\r\n\r\n") + 4;
	end = strstr(p, b);
	assert_non_null(end);
	assert_string_equal(end + strlen(b), "--\r\n");

	/* RFC 2045 6.8: full lines of 76 but the last */
	{
		const char *l = p;

		while (strchr(l, '\n') < end - 3) {
			assert_int_equal(strchr(l, '\r') - l, 76);
			l = strchr(l, '\n') + 1;
		}
	}

	wav = slurp(f->wav, &wavlen);
	dec = malloc(end - p);
	declen = b64_decode(dec, p, end - p);
	assert_int_equal(declen, wavlen);
	assert_memory_equal(dec, wav, wavlen);

	free(dec);
	free(wav);
	free(b);
	free(subj);
	free(head);
	free(mail);
}


static void test_retry(void **state)
{
	struct fixture *f = *state;
	struct vm_mail_msg msg = msg_alice(f);
	struct vm_mail *m;
	struct stats st;
	char *mail;

	write_wav(f->wav, 800);
	snprintf(f->cmd, sizeof(f->cmd),
		 "if [ -e %s/flag ]; then cat > %s; else touch %s/flag;"
		 " echo 'no route' >&2; exit 75; fi", f->dir, f->out, f->dir);

	m = start(f, f->cmd, 1, 0);
	assert_int_equal(vm_mail_queue(m, &msg), 0);
	assert_true(wait_for(m, 1, 1, 0, WAIT_MS));
	st = stats(m);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.failures, 1);
	assert_int_equal(st.spooled, 1);
	vm_mail_stop(m);

	assert_true(logged(f, "1: voicemail 1002: e-mail to bob@example.com"
			   " not sent (exit 75: no route); next try in 1 s"));
	assert_true(logged(f, "0: voicemail 1002: e-mail to bob@example.com"
			   " sent"));
	mail = slurp(f->out, NULL);
	assert_non_null(line_with(mail, "To: bob@example.com\r\n"));
	free(mail);
	assert_int_equal(entries(f->spool, NULL), 0);
}


static void test_restart(void **state)
{
	struct fixture *f = *state;
	struct vm_mail_msg msg = msg_alice(f);
	struct vm_mail *m;
	struct stats st;
	char *mail;
	FILE *fp;

	write_wav(f->wav, 800);
	m = start(f, "echo 'mail system down'; exit 1", 1, 0);
	assert_int_equal(vm_mail_queue(m, &msg), 0);
	assert_true(wait_for(m, 0, 1, 1, WAIT_MS));
	vm_mail_stop(m);

	assert_true(logged(f, "(exit 1: mail system down)"));
	assert_int_equal(entries(f->spool, NULL), 1);
	assert_int_equal(entries(f->spool, ".eml"), 1);

	/* the message is deleted meanwhile: the mail keeps its copy */
	assert_int_equal(unlink(f->wav), 0);

	/* what a crash while spooling leaves */
	snprintf(f->path, sizeof(f->path), "%s/0000000000000-0.tmp",
		 f->spool);
	fp = fopen(f->path, "w");
	assert_non_null(fp);
	fputs("From: half a mail", fp);
	fclose(fp);

	snprintf(f->cmd, sizeof(f->cmd), "cat > %s", f->out);
	m = start(f, f->cmd, 0, 0);
	assert_true(wait_for(m, 1, 0, 0, WAIT_MS));
	st = stats(m);
	assert_int_equal(st.spooled, 0);
	assert_int_equal(st.failures, 0);
	vm_mail_stop(m);

	assert_int_equal(entries(f->spool, NULL), 0);
	assert_true(logged(f, "0: voicemail: removed incomplete"));
	/* To and mailbox of the log come from the spooled mail */
	assert_true(logged(f, "0: voicemail 1002: e-mail to bob@example.com"
			   " sent"));

	mail = slurp(f->out, NULL);
	assert_non_null(line_with(mail, "To: bob@example.com\r\n"));
	assert_non_null(line_with(mail, "Content-Disposition: attachment;"));
	free(mail);
}


/* A reload fixes the command: the mail waiting out a back-off of an
 * hour goes at once, with the new From */
static void test_set(void **state)
{
	struct fixture *f = *state;
	struct vm_mail_msg msg = msg_alice(f);
	struct vm_mail *m;
	double t0;
	char *mail;

	write_wav(f->wav, 800);
	m = start(f, "echo 'no such command'; exit 127", 3600, 0);
	assert_int_equal(vm_mail_queue(m, &msg), 0);
	assert_true(wait_for(m, 0, 1, 1, WAIT_MS));
	assert_true(logged(f, "next try in 3600 s"));

	assert_int_equal(vm_mail_set(m, "", "a@b", 1), EINVAL);
	assert_int_equal(vm_mail_set(m, "true", "bad\r\nBcc: x", 1),
			 EINVAL);
	assert_int_equal(vm_mail_set(NULL, "true", "a@b", 1), EINVAL);

	snprintf(f->cmd, sizeof(f->cmd), "cat > %s", f->out);
	t0 = now_s();
	assert_int_equal(vm_mail_set(m, f->cmd, "PBX <pbx@example.net>", 1),
			 0);
	assert_true(wait_for(m, 1, 1, 0, WAIT_MS));
	assert_true(now_s() - t0 < 2.0);
	vm_mail_stop(m);

	/* spooled before the change: the From it was written with */
	mail = slurp(f->out, NULL);
	assert_non_null(line_with(mail, "To: bob@example.com\r\n"));
	free(mail);
	assert_int_equal(entries(f->spool, NULL), 0);
	no_zombies();
}


static void test_timeout(void **state)
{
	struct fixture *f = *state;
	struct vm_mail_msg msg = msg_alice(f);
	struct vm_mail *m;
	double t0, t1;

	write_wav(f->wav, 800);
	t0 = now_s();
	m = start(f, "sleep 30", 0, 1);
	assert_int_equal(vm_mail_queue(m, &msg), 0);
	assert_true(wait_for(m, 0, 1, 1, 3000));
	t1 = now_s();
	assert_true(t1 - t0 >= 0.9);

	vm_mail_stop(m);
	assert_true(now_s() - t1 < 1.0);
	no_zombies();

	assert_true(logged(f, "not sent (still running after 1 s, killed);"
			   " next try in 60 s"));
	assert_int_equal(entries(f->spool, ".eml"), 1);
}


/* The encoded-words of a folded Subject, decoded (RFC 2047 6.2) */
static char *decode_subject(const char *mail)
{
	const char *p = line_with(mail, "Subject:"), *q, *line = p;
	char *s = calloc(1, 1024);
	size_t len = 0;

	assert_non_null(p);
	p += strlen("Subject:");
	for (;;) {
		assert_true(*p == ' ');
		++p;
		assert_int_equal(strncmp(p, "=?UTF-8?B?", 10), 0);
		p += 10;
		q = strstr(p, "?=");
		assert_non_null(q);
		len += b64_decode((unsigned char *)s + len, p, q - p);
		p = q + 2;
		assert_int_equal(strncmp(p, "\r\n", 2), 0);
		/* RFC 5322 2.1.1: folded within 78 characters */
		assert_true(p - line <= 78);
		p += 2;
		line = p;
		if (*p != ' ')
			break;
	}

	return s;
}


static void test_injection(void **state)
{
	struct fixture *f = *state;
	struct vm_mail_msg eve = msg_alice(f), zoe = msg_alice(f);
	struct vm_mail *m;
	char *mail, *second, *subj, wav2[256];

	write_wav(f->wav, 800);
	snprintf(wav2, sizeof(wav2), "%s/say \"hi\\\".wav", f->dir);
	write_wav(wav2, 800);

	eve.caller_name = "Eve\r\nBcc: victim@example.com";
	eve.caller = "1001\nCc: other@example.com\x1b[2J";
	zoe.caller_name = "Zo\xc3\xab \xc3\x85ngstr\xc3\xb6m-M\xc3\xbcller,"
		" Z\xc3\xbcrich \x7f\xff";
	zoe.caller = "1003";
	zoe.wav_path = wav2;

	snprintf(f->cmd, sizeof(f->cmd), "cat >> %s", f->out);
	m = start(f, f->cmd, 0, 0);
	assert_int_equal(vm_mail_queue(m, &eve), 0);
	assert_int_equal(vm_mail_queue(m, &zoe), 0);
	assert_true(wait_for(m, 2, 0, 0, WAIT_MS));
	vm_mail_stop(m);

	mail = slurp(f->out, NULL);
	check_lines(mail, 998);
	assert_null(line_with(mail, "Bcc:"));
	assert_null(line_with(mail, "Cc:"));
	assert_null(strchr(mail, '\x1b'));
	assert_non_null(line_with(mail, "Subject: New voicemail from"
				  " EveBcc: victim@example.com"
				  " (1001Cc: other@example.com[2J)"
				  " in mailbox 1002\r\n"));

	/* the second mail: an encoded Subject, the name quoted */
	second = strstr(mail + 1, "\r\nFrom: ");
	assert_non_null(second);
	second += 2;
	subj = decode_subject(second);
	assert_string_equal(subj, "New voicemail from Zo\xc3\xab"
			    " \xc3\x85ngstr\xc3\xb6m-M\xc3\xbcller,"
			    " Z\xc3\xbcrich ? (1003) in mailbox 1002");
	assert_non_null(line_with(second, "Content-Type: audio/wav;"
				  " name=\"say \\\"hi\\\\\\\".wav\"\r\n"));

	free(subj);
	free(mail);
}


static void test_einval(void **state)
{
	static const char *const bad[] = {
		"bob", "", "@example.com", "bob@", "bob @example.com",
		"bob@example.com\r\nBcc: eve@example.com", "bob@example.com\n",
		"<bob@example.com>", "bob@example.com,eve@example.com",
		"b\tob@example.com", "b\xc3\xb6@example.com",
	};
	struct fixture *f = *state;
	struct vm_mail_msg msg = msg_alice(f);
	struct vm_mail_prm prm = {.spooldir = f->spool, .command = "true",
				  .from = "pbx@localhost"};
	struct vm_mail *m = NULL;
	struct stats st;
	size_t i;

	assert_int_equal(vm_mail_start(NULL, &prm), EINVAL);
	assert_int_equal(vm_mail_start(&m, NULL), EINVAL);
	prm.from = "pbx@localhost\r\nBcc: eve@example.com";
	assert_int_equal(vm_mail_start(&m, &prm), EINVAL);
	prm.from = "pbx@localhost";
	prm.command = "";
	assert_int_equal(vm_mail_start(&m, &prm), EINVAL);
	prm.command = "true";
	prm.spooldir = NULL;
	assert_int_equal(vm_mail_start(&m, &prm), EINVAL);
	assert_null(m);

	m = start(f, "cat > /dev/null", 0, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg.to = bad[i];
		assert_int_equal(vm_mail_queue(m, &msg), EINVAL);
	}
	msg.to = NULL;
	assert_int_equal(vm_mail_queue(m, &msg), EINVAL);
	msg = msg_alice(f);
	msg.mailbox = NULL;
	assert_int_equal(vm_mail_queue(m, &msg), EINVAL);
	msg = msg_alice(f);
	msg.wav_path = "";
	assert_int_equal(vm_mail_queue(m, &msg), EINVAL);
	assert_int_equal(vm_mail_queue(m, NULL), EINVAL);
	assert_int_equal(vm_mail_queue(NULL, &msg), EINVAL);

	st = stats(m);
	assert_int_equal(st.spooled + st.pending + st.sent + st.failures, 0);
	vm_mail_stop(m);
	vm_mail_stop(NULL);
	vm_mail_stats(NULL, &st.spooled, NULL, NULL, NULL);
	assert_int_equal(st.spooled, 0);
}


static void test_no_wav(void **state)
{
	struct fixture *f = *state;
	struct vm_mail_msg msg = msg_alice(f);
	struct vm_mail *m;
	char *mail, *b;
	const char *p;

	msg.wav_path = join(f, "gone.wav");
	msg.caller = NULL;
	msg.caller_name = NULL;
	snprintf(f->cmd, sizeof(f->cmd), "cat > %s", f->out);

	m = start(f, f->cmd, 0, 0);
	assert_int_equal(vm_mail_queue(m, &msg), 0);
	assert_true(wait_for(m, 1, 0, 0, WAIT_MS));
	vm_mail_stop(m);

	mail = slurp(f->out, NULL);
	check_lines(mail, 78);
	assert_non_null(line_with(mail, "Subject: New voicemail from an"
				  " unknown caller in mailbox 1002\r\n"));
	assert_non_null(strstr(mail, "The recording is no longer there"));
	assert_null(strstr(mail, "audio/wav"));
	assert_null(strstr(mail, "attachment"));

	/* the text part, then the end: the boundary twice */
	b = boundary(mail);
	p = strstr(mail, b);
	assert_non_null(p);
	assert_non_null(line_with(p, "Content-Type: text/plain;"));
	p = strstr(p + 1, b);
	assert_non_null(p);
	assert_string_equal(p + strlen(b), "--\r\n");
	free(b);
	free(mail);
}


/* A mail that keeps failing does not hold up the next one */
static void test_no_block(void **state)
{
	struct fixture *f = *state;
	struct vm_mail_msg bad = msg_alice(f), good = msg_alice(f);
	struct vm_mail *m;
	char *mail;

	write_wav(f->wav, 800);
	bad.to = "bad@example.com";
	good.to = "good@example.com";
	snprintf(f->cmd, sizeof(f->cmd),
		 "t=$(cat); case \"$t\" in *'To: bad@'*) exit 1;; esac;"
		 " printf '%%s\\n' \"$t\" >> %s", f->out);

	m = start(f, f->cmd, 0, 0);
	assert_int_equal(vm_mail_queue(m, &bad), 0);
	assert_int_equal(vm_mail_queue(m, &good), 0);
	assert_true(wait_for(m, 1, 1, 1, WAIT_MS));
	vm_mail_stop(m);

	mail = slurp(f->out, NULL);
	assert_non_null(line_with(mail, "To: good@example.com\r"));
	assert_null(line_with(mail, "To: bad@example.com\r"));
	free(mail);
	assert_int_equal(entries(f->spool, ".eml"), 1);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_injection, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_wav, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_block, setup,
						teardown),
	};

	/* a zone with minutes and no tzdata needed: checks the Date: */
	setenv("TZ", "XST-5:30", 1);
	tzset();
	umask(022);

	return cmocka_run_group_tests(tests, NULL, NULL);
}
