/**
 * @file test_wavfile.c  Voicemail recording files (switch/wavfile.c)
 *
 * Files are written into a mkdtemp folder and read back byte by byte, so
 * the header is checked as a player would parse it, independent of the
 * host's byte order.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  /* nftw() */
#endif
#include "wavfile.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "unit_util.h"


struct fixture {
	char dir[64];
	char path[256];
};


static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;

	strcpy(f->dir, "/tmp/sb-test-wavfile-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;

	return 0;
}


static int teardown(void **state)
{
	struct fixture *f = *state;

	rm_tree(f->dir);
	free(f);

	return 0;
}


static const char *join(struct fixture *f, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);

	return f->path;
}


static bool exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}


static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			++n;
	}
	closedir(d);

	return n;
}


static uint8_t *slurp(const char *path, size_t *lenp)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	long len;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	len = ftell(fp);
	rewind(fp);
	buf = malloc(len ? len : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, len, fp), (size_t)len);
	fclose(fp);
	*lenp = len;

	return buf;
}


static uint32_t rd16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}


static uint32_t rd32(const uint8_t *p)
{
	return rd16(p) | rd16(p + 2) << 16;
}


/* 1 kHz at 8 kHz is 8 samples a period: sin() without libm */
static int16_t tone(size_t i)
{
	static const int16_t period[8] = {
		0, 5657, 8000, 5657, 0, -5657, -8000, -5657
	};

	return period[i % 8];
}


/* distinct per sample, so a lost or reordered buffer shows */
static int16_t ramp(size_t i)
{
	return (int16_t)(uint16_t)(i * 7919u);
}


static void check_file(const char *path, size_t n, int16_t (*gen)(size_t))
{
	size_t len, i;
	uint8_t *b = slurp(path, &len);

	assert_int_equal(len, 44 + 2 * n);
	assert_memory_equal(b, "RIFF", 4);
	assert_int_equal(rd32(b + 4), 36 + 2 * n);
	assert_memory_equal(b + 8, "WAVE", 4);
	assert_memory_equal(b + 12, "fmt ", 4);
	assert_int_equal(rd32(b + 16), 16);
	assert_int_equal(rd16(b + 20), 1);      /* PCM */
	assert_int_equal(rd16(b + 22), 1);      /* mono */
	assert_int_equal(rd32(b + 24), 8000);
	assert_int_equal(rd32(b + 28), 16000);
	assert_int_equal(rd16(b + 32), 2);
	assert_int_equal(rd16(b + 34), 16);
	assert_memory_equal(b + 36, "data", 4);
	assert_int_equal(rd32(b + 40), 2 * n);

	for (i = 0; i < n; i++)
		assert_int_equal((int16_t)rd16(b + 44 + 2 * i), gen(i));

	free(b);
}


static void test_tone(void **state)
{
	struct fixture *f = *state;
	struct wavfile *wf = NULL;
	int16_t chunk[160];
	size_t i, j;
	struct stat sb;

	/* a stale tmp file from a crash (mode 0644) is replaced */
	{
		FILE *fp = fopen(join(f, "msg0001.wav.tmp"), "w");

		assert_non_null(fp);
		fputs("junk from a previous crash", fp);
		fclose(fp);
	}

	assert_int_equal(wavfile_open(&wf, f->dir, "msg0001.wav"), 0);
	assert_non_null(wf);
	for (i = 0; i < 8000; i += 160) {
		for (j = 0; j < 160; j++)
			chunk[j] = tone(i + j);
		assert_int_equal(wavfile_write(wf, chunk, 160), 0);
	}
	assert_int_equal(wavfile_samples(wf), 8000);

	/* before the commit only the tmp file exists */
	assert_true(exists(join(f, "msg0001.wav.tmp")));
	assert_false(exists(join(f, "msg0001.wav")));
	assert_int_equal(entries(f->dir), 1);

	assert_int_equal(wavfile_commit(wf), 0);

	assert_false(exists(join(f, "msg0001.wav.tmp")));
	assert_int_equal(entries(f->dir), 1);
	assert_int_equal(stat(join(f, "msg0001.wav"), &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	check_file(join(f, "msg0001.wav"), 8000, tone);
}


/* 3 s in uneven chunks: several buffer flushes, one write > the buffer */
static void test_flushes(void **state)
{
	static const size_t sizes[] = {1, 7, 160, 8191, 9000, 3, 6638};
	struct fixture *f = *state;
	struct wavfile *wf = NULL;
	int16_t *pcm = malloc(24000 * sizeof(*pcm));
	size_t i, off = 0;

	assert_non_null(pcm);
	for (i = 0; i < 24000; i++)
		pcm[i] = ramp(i);

	assert_int_equal(wavfile_open(&wf, f->dir, "long.wav"), 0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(wavfile_write(wf, pcm + off, sizes[i]), 0);
		off += sizes[i];
		assert_int_equal(wavfile_samples(wf), off);
	}
	assert_int_equal(off, 24000);
	assert_int_equal(wavfile_commit(wf), 0);
	check_file(join(f, "long.wav"), 24000, ramp);

	/* nothing written: a valid empty recording */
	assert_int_equal(wavfile_open(&wf, f->dir, "empty.wav"), 0);
	assert_int_equal(wavfile_commit(wf), 0);
	check_file(join(f, "empty.wav"), 0, ramp);

	free(pcm);
}


static void test_abort(void **state)
{
	struct fixture *f = *state;
	struct wavfile *wf = NULL;
	int16_t chunk[160] = {0};

	assert_int_equal(wavfile_open(&wf, f->dir, "gone.wav"), 0);
	assert_int_equal(wavfile_write(wf, chunk, 160), 0);
	assert_true(exists(join(f, "gone.wav.tmp")));

	wavfile_abort(wf);
	assert_int_equal(entries(f->dir), 0);

	wavfile_abort(NULL);
}


static void test_creates_dirs(void **state)
{
	struct fixture *f = *state;
	struct wavfile *wf = NULL;
	int16_t chunk[160] = {0};
	char dir[128];
	struct stat sb;

	snprintf(dir, sizeof(dir), "%s/vm/1001/INBOX", f->dir);
	assert_false(exists(dir));

	assert_int_equal(wavfile_open(&wf, dir, "msg.wav"), 0);
	assert_int_equal(stat(dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0750);
	assert_int_equal(stat(join(f, "vm"), &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0750);

	assert_int_equal(wavfile_write(wf, chunk, 160), 0);
	assert_int_equal(wavfile_commit(wf), 0);
	assert_true(exists(join(f, "vm/1001/INBOX/msg.wav")));
	assert_int_equal(entries(dir), 1);

	/* existing folders, trailing slash: fine */
	strcat(dir, "/");
	assert_int_equal(wavfile_open(&wf, dir, "msg2.wav"), 0);
	assert_int_equal(wavfile_commit(wf), 0);
	assert_true(exists(join(f, "vm/1001/INBOX/msg2.wav")));

	/* a file in the way of a folder */
	snprintf(dir, sizeof(dir), "%s/vm/1001/INBOX/msg.wav/sub", f->dir);
	assert_int_equal(wavfile_open(&wf, dir, "x.wav"), ENOTDIR);
}


/* a failed rename leaves neither name behind */
static void test_commit_error(void **state)
{
	struct fixture *f = *state;
	struct wavfile *wf = NULL;
	int16_t chunk[160] = {0};

	/* a non-empty folder of the final name cannot be replaced */
	assert_int_equal(mkdir(join(f, "busy.wav"), 0700), 0);
	assert_int_equal(mkdir(join(f, "busy.wav/x"), 0700), 0);

	assert_int_equal(wavfile_open(&wf, f->dir, "busy.wav"), 0);
	assert_int_equal(wavfile_write(wf, chunk, 160), 0);
	assert_int_equal(wavfile_commit(wf), EISDIR);
	assert_false(exists(join(f, "busy.wav.tmp")));
	assert_int_equal(entries(f->dir), 1);
}


/* a failed write (here a short one, then EFBIG) sticks until commit */
static void test_write_error(void **state)
{
	struct fixture *f = *state;
	struct wavfile *wf = NULL;
	static int16_t pcm[24000];
	struct rlimit old, lim;
	int err1, err2, err3;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 20000;
	signal(SIGXFSZ, SIG_IGN);

	assert_int_equal(wavfile_open(&wf, f->dir, "big.wav"), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	err1 = wavfile_write(wf, pcm, 24000);
	err2 = wavfile_write(wf, pcm, 1);
	err3 = wavfile_commit(wf);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);

	assert_int_equal(err1, EFBIG);
	assert_int_equal(err2, EFBIG);
	assert_int_equal(err3, EFBIG);
	assert_int_equal(entries(f->dir), 0);
}


static void test_bad_args(void **state)
{
	struct fixture *f = *state;
	struct wavfile *wf = NULL;

	assert_int_equal(wavfile_open(NULL, f->dir, "a.wav"), EINVAL);
	assert_int_equal(wavfile_open(&wf, NULL, "a.wav"), EINVAL);
	assert_int_equal(wavfile_open(&wf, "", "a.wav"), EINVAL);
	assert_int_equal(wavfile_open(&wf, f->dir, NULL), EINVAL);
	assert_int_equal(wavfile_open(&wf, f->dir, ""), EINVAL);
	assert_int_equal(wavfile_open(&wf, f->dir, "../a.wav"), EINVAL);
	assert_int_equal(wavfile_open(&wf, f->dir, ".."), EINVAL);
	assert_null(wf);
	assert_int_equal(entries(f->dir), 0);

	assert_int_equal(wavfile_write(NULL, NULL, 0), EINVAL);
	assert_int_equal(wavfile_commit(NULL), EINVAL);
	assert_int_equal(wavfile_samples(NULL), 0);

	assert_int_equal(wavfile_open(&wf, f->dir, "a.wav"), 0);
	assert_int_equal(wavfile_write(wf, NULL, 1), EINVAL);
	assert_int_equal(wavfile_write(wf, NULL, 0), 0);
	assert_int_equal(wavfile_samples(wf), 0);
	wavfile_abort(wf);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flushes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_creates_dirs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_commit_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, setup,
						teardown),
	};

	/* the modes checked above are those asked for, unmasked */
	umask(022);

	return cmocka_run_group_tests(tests, NULL, NULL);
}
