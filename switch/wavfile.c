/**
 * @file wavfile.c  Voicemail recordings as 8 kHz mono 16-bit PCM WAV files
 *
 * Durability order at commit: data and header are fsync()ed before the
 * rename, and the folder after it; otherwise a crash could persist the new
 * name before the data and leave a file of zeros under the final name.
 * The writes, fsyncs and folder creation are fsutil.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include "fsutil.h"
#include "wavfile.h"

#define HDR_SIZE 44
/* The RIFF size field (36 + data bytes) is 32 bits wide. */
#define MAX_SAMPLES ((UINT32_MAX - (HDR_SIZE - 8)) / 2)

struct wavfile {
	int fd;
	int err;            /* sticky: the first write error */
	uint64_t samples;
	size_t len;         /* bytes waiting in buf */
	char *dir;          /* dir, tmp and path live after the struct */
	char *tmp;
	char *path;
	uint8_t buf[16384]; /* even size: a sample never straddles a flush */
};


static void le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}


static void le32(uint8_t *p, uint32_t v)
{
	le16(p, (uint16_t)v);
	le16(p + 2, (uint16_t)(v >> 16));
}


static void header(uint8_t *h, uint32_t data)
{
	memcpy(h, "RIFF", 4);
	le32(h + 4, HDR_SIZE - 8 + data);
	memcpy(h + 8, "WAVEfmt ", 8);
	le32(h + 16, 16);       /* fmt chunk size */
	le16(h + 20, 1);        /* PCM */
	le16(h + 22, 1);        /* channels */
	le32(h + 24, 8000);     /* sample rate */
	le32(h + 28, 16000);    /* byte rate */
	le16(h + 32, 2);        /* block align */
	le16(h + 34, 16);       /* bits per sample */
	memcpy(h + 36, "data", 4);
	le32(h + 40, data);
}


int wavfile_open(struct wavfile **wfp, const char *dir, const char *name)
{
	struct wavfile *wf;
	size_t dlen, plen;
	int err;

	if (!wfp || !dir || !*dir || !name || !*name || strchr(name, '/') ||
	    !strcmp(name, ".") || !strcmp(name, ".."))
		return EINVAL;

	dlen = strlen(dir);
	plen = dlen + 1 + strlen(name);
	wf = malloc(sizeof(*wf) + (dlen + 1) + (plen + 1) + (plen + 5));
	if (!wf)
		return ENOMEM;

	wf->dir  = (char *)(wf + 1);
	wf->path = wf->dir + dlen + 1;
	wf->tmp  = wf->path + plen + 1;
	memcpy(wf->dir, dir, dlen + 1);
	snprintf(wf->path, plen + 1, "%s/%s", dir, name);
	snprintf(wf->tmp, plen + 5, "%s.tmp", wf->path);

	err = fs_mkdir_p(wf->dir, 0750);
	if (err)
		goto out;

	/* A stale tmp file from a crash is replaced, not truncated: it may
	 * have been created with another mode or owner. */
	if (unlink(wf->tmp) && errno != ENOENT) {
		err = errno;
		goto out;
	}
	do {
		wf->fd = open(wf->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			      0640);
	} while (wf->fd < 0 && errno == EINTR);
	if (wf->fd < 0) {
		err = errno;
		goto out;
	}

	/* Buffered like the samples; commit rewrites it with the sizes. */
	header(wf->buf, 0);
	wf->len = HDR_SIZE;
	wf->err = 0;
	wf->samples = 0;

 out:
	if (err)
		free(wf);
	else
		*wfp = wf;

	return err;
}


static int flush(struct wavfile *wf)
{
	if (!wf->err && wf->len)
		wf->err = fs_write_all(wf->fd, wf->buf, wf->len, -1);
	wf->len = 0;

	return wf->err;
}


int wavfile_write(struct wavfile *wf, const int16_t *pcm, size_t n)
{
	if (!wf || (n && !pcm))
		return EINVAL;
	if (wf->err)
		return wf->err;
	if (n > MAX_SAMPLES - wf->samples)
		return EFBIG;

	while (n) {
		size_t k = (sizeof(wf->buf) - wf->len) / 2;
		size_t i;

		if (k > n)
			k = n;
		for (i = 0; i < k; i++, wf->len += 2)
			le16(wf->buf + wf->len, (uint16_t)pcm[i]);

		pcm += k;
		n -= k;
		wf->samples += k;

		if (wf->len == sizeof(wf->buf) && flush(wf))
			return wf->err;
	}

	return 0;
}


uint64_t wavfile_samples(const struct wavfile *wf)
{
	return wf ? wf->samples : 0;
}


int wavfile_commit(struct wavfile *wf)
{
	uint8_t h[HDR_SIZE];
	int err;

	if (!wf)
		return EINVAL;

	err = flush(wf);
	if (!err) {
		header(h, (uint32_t)(wf->samples * 2));
		err = fs_write_all(wf->fd, h, sizeof(h), 0);
	}
	if (!err)
		err = fs_sync_fd(wf->fd);

	/* After a good fsync, EINTR from close() loses nothing (Linux). */
	if (close(wf->fd) && errno != EINTR && !err)
		err = errno;
	if (!err && rename(wf->tmp, wf->path))
		err = errno;

	if (err)
		(void)unlink(wf->tmp);
	else
		err = fs_sync_dir(wf->dir);

	free(wf);

	return err;
}


void wavfile_abort(struct wavfile *wf)
{
	if (!wf)
		return;

	(void)close(wf->fd);
	(void)unlink(wf->tmp);
	free(wf);
}
