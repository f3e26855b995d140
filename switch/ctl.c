/**
 * @file ctl.c  Control socket (server on the main loop, and client)
 *
 * libre 1.1.0 has no unix sockets, so this drives the fds itself through
 * fd_listen(). A command is small and runs on the signalling thread; its
 * output goes out with a blocking write bounded by SO_SNDTIMEO, so a stuck
 * client cannot hold the loop for more than a moment.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "core.h"
#include "ctl.h"

enum {
	CTL_LINE_MAX = 4096,
	CTL_MAX_ARGS = 32,
	CTL_CLIENT_TIMEOUT_MS = 5000,
};

struct ctl {
	int fd;
	char *path;
	ctl_cmd_h *cmdh;
	void *arg;
	struct list conns;
};

struct ctl_conn {
	struct le le;
	struct ctl *ctl;       /* weak */
	int fd;
	char line[CTL_LINE_MAX];
	size_t len;
	struct tmr tmr;
};


static void conn_destructor(void *arg)
{
	struct ctl_conn *c = arg;

	tmr_cancel(&c->tmr);
	list_unlink(&c->le);
	if (c->fd >= 0) {
		fd_close(c->fd);
		(void)close(c->fd);
	}
}


static void ctl_destructor(void *arg)
{
	struct ctl *ctl = arg;

	list_flush(&ctl->conns);
	if (ctl->fd >= 0) {
		fd_close(ctl->fd);
		(void)close(ctl->fd);
		(void)unlink(ctl->path);
	}
	mem_deref(ctl->path);
}


static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += w;
		n -= (size_t)w;
	}

	return 0;
}


static int mbuf_vph(const char *p, size_t size, void *arg)
{
	return mbuf_write_mem(arg, (const uint8_t *)p, size);
}


static void run_command(struct ctl_conn *c)
{
	struct mbuf *out = mbuf_alloc(1024);
	struct re_printf pf;
	char *argv[CTL_MAX_ARGS];
	int argc = 0, err;
	char *p = c->line, *save = NULL, *tok;
	struct timeval tv = {1, 0};

	if (!out)
		return;

	while ((tok = strtok_r(p, " \t\r\n", &save)) && argc < CTL_MAX_ARGS) {
		argv[argc++] = tok;
		p = NULL;
	}

	/* the command prints into the mbuf; the status line goes first */
	pf.vph = mbuf_vph;
	pf.arg = out;

	err = argc ? c->ctl->cmdh(&pf, argc, argv, c->ctl->arg) : EINVAL;
	if (err && err != EINVAL && err != ENOENT)
		(void)mbuf_printf(out, "error: %m\n", err);

	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	{
		int fl = fcntl(c->fd, F_GETFL);
		(void)fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
	}
	if (!write_all(c->fd, (const uint8_t *)(err ? "ERR\n" : "OK\n"),
		       err ? 4 : 3))
		(void)write_all(c->fd, out->buf, out->end);
	mem_deref(out);
}


static void conn_read_handler(int flags, void *arg)
{
	struct ctl_conn *c = arg;
	ssize_t n;
	(void)flags;

	n = read(c->fd, c->line + c->len, sizeof(c->line) - 1 - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		mem_deref(c);
		return;
	}

	c->len += (size_t)n;
	c->line[c->len] = '\0';

	if (!memchr(c->line, '\n', c->len) && c->len < sizeof(c->line) - 1)
		return;

	run_command(c);
	mem_deref(c);
}


static void conn_timeout(void *arg)
{
	mem_deref(arg);
}


static void accept_handler(int flags, void *arg)
{
	struct ctl *ctl = arg;
	struct ctl_conn *c;
	int fd;
	(void)flags;

	fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;

	c = mem_zalloc(sizeof(*c), conn_destructor);
	if (!c) {
		(void)close(fd);
		return;
	}

	c->fd = fd;
	c->ctl = ctl;
	list_append(&ctl->conns, &c->le, c);
	tmr_start(&c->tmr, CTL_CLIENT_TIMEOUT_MS, conn_timeout, c);

	if (fd_listen(fd, FD_READ, conn_read_handler, c))
		mem_deref(c);
}


int ctl_listen(struct ctl **ctlp, const char *path, ctl_cmd_h *cmdh,
	       void *arg)
{
	struct sockaddr_un sun;
	struct ctl *ctl;
	int err;

	if (!ctlp || !path || !cmdh)
		return EINVAL;

	if (strlen(path) >= sizeof(sun.sun_path))
		return ENAMETOOLONG;

	ctl = mem_zalloc(sizeof(*ctl), ctl_destructor);
	if (!ctl)
		return ENOMEM;

	ctl->fd = -1;
	ctl->cmdh = cmdh;
	ctl->arg = arg;
	err = str_dup(&ctl->path, path);
	if (err)
		goto out;

	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 0);
	if (ctl->fd < 0) {
		err = errno;
		goto out;
	}

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	str_ncpy(sun.sun_path, path, sizeof(sun.sun_path));

	/* A socket file left by a killed daemon is stale: nobody answers
	 * on it (a second daemon on the same data dir is refused earlier,
	 * by the store lock). */
	(void)unlink(path);

	{
		mode_t old = umask(0077);
		err = bind(ctl->fd, (struct sockaddr *)&sun, sizeof(sun)) ?
			errno : 0;
		umask(old);
	}
	if (err)
		goto out;

	if (listen(ctl->fd, 16) < 0) {
		err = errno;
		goto out;
	}

	err = fd_listen(ctl->fd, FD_READ, accept_handler, ctl);

 out:
	if (err)
		mem_deref(ctl);
	else
		*ctlp = ctl;

	return err;
}


int ctl_client(const char *path, int argc, char *argv[])
{
	struct sockaddr_un sun;
	char buf[8192];
	struct timeval tv = {CTL_CLIENT_TIMEOUT_MS / 1000, 0};
	bool first = true, ok = false;
	size_t skip = 0;
	int fd, i;
	ssize_t n;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "ctl: socket path too long: %s\n", path);
		return 1;
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("ctl: socket");
		return 1;
	}

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	str_ncpy(sun.sun_path, path, sizeof(sun.sun_path));

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "ctl: the daemon is not reachable at %s: %s\n",
			path, strerror(errno));
		close(fd);
		return 1;
	}

	for (i = 0; i < argc; i++) {
		if ((i && write_all(fd, (const uint8_t *)" ", 1)) ||
		    write_all(fd, (const uint8_t *)argv[i], strlen(argv[i])))
			goto fail;
	}
	if (write_all(fd, (const uint8_t *)"\n", 1))
		goto fail;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		size_t off = 0;

		if (first) {
			/* status line: "OK\n" or "ERR\n" */
			ok = n >= 2 && !memcmp(buf, "OK", 2);
			skip = ok ? 3 : 4;
			first = false;
		}
		if (skip) {
			off = skip < (size_t)n ? skip : (size_t)n;
			skip -= off;
		}
		fwrite(buf + off, 1, (size_t)n - off, ok ? stdout : stderr);
	}

	close(fd);
	if (first) {
		fprintf(stderr, "ctl: no answer from the daemon\n");
		return 1;
	}
	return ok ? 0 : 1;

 fail:
	fprintf(stderr, "ctl: cannot send the command: %s\n", strerror(errno));
	close(fd);
	return 1;
}
