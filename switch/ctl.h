/**
 * @file ctl.h  Control socket: `switchboard ctl COMMAND` <-> the daemon
 *
 * A unix stream socket at DATADIR/ctl.sock (mode 0600: only the user the
 * daemon runs as may use it). The client sends one line, the daemon
 * answers with text and closes. The first line of the answer is "OK" or
 * "ERR"; the rest is the output.
 */
#ifndef SWITCH_CTL_H
#define SWITCH_CTL_H

struct ctl;

/**
 * Runs a command. argc/argv are the words of the line; the handler
 * prints its output to pf and returns 0 or an error (then "ERR").
 */
typedef int (ctl_cmd_h)(struct re_printf *pf, int argc, char *argv[],
			void *arg);

int  ctl_listen(struct ctl **ctlp, const char *path, ctl_cmd_h *cmdh,
		void *arg);

/** Client side: send argv as one line, print the answer to stdout.
 *  Returns the process exit status (0 ok, 1 error or unreachable). */
int  ctl_client(const char *path, int argc, char *argv[]);

#endif
