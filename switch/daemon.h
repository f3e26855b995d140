/**
 * @file daemon.h  The running daemon: owns every long-lived object
 */
#ifndef SWITCH_DAEMON_H
#define SWITCH_DAEMON_H

/** Load the config, open the store, listen, run the main loop until
 *  SIGTERM/SIGINT. SIGHUP reloads. Returns the process exit status. */
int daemon_run(const char *confdir, const char *datadir);

#endif
