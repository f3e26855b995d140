/**
 * @file fsutil.c  File-system chores for the writer threads
 *
 * A new name is durable only once its folder is fsync()ed, a new folder
 * only once its parent is: hence fs_mkdir_p() syncs the parent of every
 * folder it creates, else a committed file could vanish with its folder
 * after a power loss.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include "fsutil.h"


int fs_write_all(int fd, const void *p, size_t len, off_t off)
{
	const uint8_t *s = p;

	while (len) {
		ssize_t n = off < 0 ? write(fd, s, len)
				    : pwrite(fd, s, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return EIO;

		s += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}

	return 0;
}


int fs_sync_fd(int fd)
{
	while (fsync(fd)) {
		if (errno != EINTR)
			return errno;
	}

	return 0;
}


int fs_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err;

	if (fd < 0)
		return errno;

	err = fs_sync_fd(fd);
	(void)close(fd);

	return err;
}


int fs_mkdir_p(char *path, mode_t mode)
{
	char *p, *sep = NULL, c;
	int err = 0;

	for (p = path + 1; !err; p++) {

		if (*p != '/' && *p != '\0')
			continue;

		c = *p;
		*p = '\0';
		if (!mkdir(path, mode)) {
			if (sep) {
				*sep = '\0';
				err = fs_sync_dir(path);
				*sep = '/';
			}
			else {
				err = fs_sync_dir(path[0] == '/' ? "/" : ".");
			}
		}
		else if (errno != EEXIST) {
			err = errno;
		}
		*p = c;

		if (c == '\0')
			break;
		sep = p;
	}

	return err;
}
