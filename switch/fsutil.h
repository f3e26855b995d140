/**
 * @file fsutil.h  File-system chores for the writer threads
 *
 * Plain C without libre, shared by wavfile.c and vm_mail.c: both write a
 * file under NAME.tmp, fsync it, rename it into place and fsync the folder.
 * Each function returns 0 or an errno value. No global state.
 */
#ifndef SWITCH_FSUTIL_H
#define SWITCH_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/**
 * Create each missing folder of path (not empty), parents first, with mode;
 * existing ones are fine. path is modified while this runs and restored
 * before it returns. The parent of every folder created is fsync()ed.
 */
int fs_mkdir_p(char *path, mode_t mode);

/** Write all len bytes of p at offset off, or at the file position if
 *  off < 0; EINTR is retried, EIO if a write makes no progress. */
int fs_write_all(int fd, const void *p, size_t len, off_t off);

/** fsync() fd, retried on EINTR */
int fs_sync_fd(int fd);

/** Open the folder dir and fsync() it, so that a rename or a new name in
 *  it survives a power loss */
int fs_sync_dir(const char *dir);

#endif
