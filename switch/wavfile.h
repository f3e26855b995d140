/**
 * @file wavfile.h  Voicemail recordings as 8 kHz mono 16-bit PCM WAV files
 *
 * Written atomically: the samples go to DIR/NAME.tmp and only a complete,
 * fsync()ed file is renamed to DIR/NAME, so a crash never leaves a
 * half-written recording under its final name (a stale NAME.tmp may stay;
 * the next wavfile_open of that name replaces it).
 *
 * Plain C without libre, for the recording writer thread: no global state;
 * one object must not be used by two threads at once.
 */
#ifndef SWITCH_WAVFILE_H
#define SWITCH_WAVFILE_H

#include <stddef.h>
#include <stdint.h>

struct wavfile;

/**
 * Create DIR and its parents (mode 0750) if missing, create DIR/NAME.tmp
 * afresh (mode 0640) and start it with a 44-byte header whose sizes are
 * zero. NAME must not be empty, ".", ".." or contain a '/'.
 */
int  wavfile_open(struct wavfile **wfp, const char *dir, const char *name);

/**
 * Append n samples (host order; stored little-endian). Writes are
 * buffered. After an error every later write and the commit fail with the
 * same error. EFBIG past the 4 GiB limit of a RIFF file (about 74 hours).
 */
int  wavfile_write(struct wavfile *wf, const int16_t *pcm, size_t n);

/** Samples accepted by wavfile_write() so far */
uint64_t wavfile_samples(const struct wavfile *wf);

/**
 * Fill in the header sizes, fsync the file, rename it to DIR/NAME (an
 * existing file of that name is replaced) and fsync DIR. Frees wf in all
 * cases. On an error before the rename the tmp file is unlinked; if only
 * the fsync of DIR fails, the complete file is already under DIR/NAME but
 * may not survive a power loss, and that error is returned.
 */
int  wavfile_commit(struct wavfile *wf);

/** Close and unlink the tmp file, free wf. NULL is ignored. */
void wavfile_abort(struct wavfile *wf);

#endif
