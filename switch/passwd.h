/**
 * @file passwd.h  `switchboard passwd`: credentials kept in the data dir
 */
#ifndef SWITCH_PASSWD_H
#define SWITCH_PASSWD_H

int passwd_main(const char *confdir, const char *datadir, int argc,
		char *argv[]);

#endif
