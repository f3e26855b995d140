/**
 * @file main.c  switchboard: command line
 *
 *   switchboard -c CONFDIR [-d DATADIR] [-v]     run in the foreground
 *   switchboard --check -c CONFDIR               validate and exit
 *   switchboard check -c CONFDIR                 the same
 *   switchboard ctl [-c CONFDIR] [-d DATADIR] COMMAND [ARGS]
 *   switchboard passwd -c CONFDIR [-d DATADIR] (--missing | USER [PASSWORD])
 */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <libxml/parser.h>
#include "core.h"
#include "config.h"
#include "ctl.h"
#include "daemon.h"
#include "app.h"
#include "passwd.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: switchboard -c CONFDIR [-d DATADIR] [-v]\n"
		"       switchboard --check -c CONFDIR\n"
		"       switchboard --apps                  the dialplan applications\n"
		"       switchboard ctl [-c CONFDIR] [-d DATADIR] COMMAND\n"
		"           status [--json]         uptime, listeners, counts\n"
		"           registrations [--json]  who is registered\n"
		"           reload                  load the config again\n"
		"           route NUMBER [--from USER]  dry run of the dialplan\n"
		"       switchboard passwd -c CONFDIR [-d DATADIR] --missing|-m\n"
		"       switchboard passwd -c CONFDIR [-d DATADIR] USER "
		"[PASSWORD]\n"
		"\n"
		"DATADIR defaults to var/ beside CONFDIR.\n");
}


/* DATADIR default: var/ beside the config folder */
static int default_datadir(char *buf, size_t sz, const char *confdir)
{
	char abs[PATH_MAX];

	if (!realpath(confdir, abs)) {
		fprintf(stderr, "switchboard: %s: %s\n", confdir,
			strerror(errno));
		return errno;
	}

	if (re_snprintf(buf, sz, "%s/var", dirname(abs)) < 0)
		return ENAMETOOLONG;

	return 0;
}


static int check_config(const char *confdir)
{
	struct config *cfg = NULL;
	struct list errl = LIST_INIT;
	int err;

	err = config_load(&cfg, &errl, confdir);
	if (err) {
		(void)re_fprintf(stderr, "%H", config_errors_print, &errl);
		list_flush(&errl);
		return 1;
	}

	(void)re_printf("%s: OK (%u users, %u listeners)\n", cfg->file,
			cfg->user_count, list_count(&cfg->listens));
	mem_deref(cfg);
	return 0;
}


int main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"check",   no_argument,       NULL, 'C'},
		{"config",  required_argument, NULL, 'c'},
		{"data",    required_argument, NULL, 'd'},
		{"verbose", no_argument,       NULL, 'v'},
		{"help",    no_argument,       NULL, 'h'},
		{"version", no_argument,       NULL, 'V'},
		{"missing", no_argument,       NULL, 'm'},
		{"apps",    no_argument,       NULL, 'A'},
		{NULL, 0, NULL, 0}
	};
	const char *confdir = NULL, *datadir = NULL, *sub = NULL;
	char ddbuf[PATH_MAX];
	bool check = false, missing = false;
	int c, ret = 1, err;

	if (argc > 1 && !strcmp(argv[1], "apps")) {
		(void)re_printf("%H", app_print_all, NULL);
		return 0;
	}

	if (argc > 1 && !strcmp(argv[1], "check")) {
		check = true;
		--argc;
		++argv;
	}
	else if (argc > 1 && (!strcmp(argv[1], "ctl") ||
			 !strcmp(argv[1], "passwd"))) {
		sub = argv[1];
		--argc;
		++argv;
	}

	/* "+": stop at the first non-option (the ctl command) */
	while ((c = getopt_long(argc, argv, "+c:d:vhCm", longopts, NULL))
	       != -1) {
		switch (c) {

		case 'c': confdir = optarg; break;
		case 'd': datadir = optarg; break;
		case 'C': check = true; break;
		case 'm': missing = true; break;
		case 'A': (void)re_printf("%H", app_print_all, NULL);
			return 0;
		case 'v': log_set_level(LOG_LEVEL_DEBUG); break;
		case 'V': printf("switchboard %s\n", SWITCHBOARD_VERSION);
			return 0;
		case 'h': usage(stdout); return 0;
		default:  usage(stderr); return 2;
		}
	}

	if (!confdir) {
		if (!sub || !strcmp(sub, "passwd")) {
			usage(stderr);
			return 2;
		}
		confdir = "etc";
	}

	if (!datadir && !check) {
		if (default_datadir(ddbuf, sizeof(ddbuf), confdir))
			return 1;
		datadir = ddbuf;
	}

	if (sub && !strcmp(sub, "ctl")) {
		char sock[PATH_MAX];

		if (optind >= argc) {
			usage(stderr);
			return 2;
		}
		(void)re_snprintf(sock, sizeof(sock), "%s/ctl.sock", datadir);
		return ctl_client(sock, argc - optind, argv + optind);
	}

	err = libre_init();
	if (err) {
		fprintf(stderr, "switchboard: libre_init: %s\n", strerror(err));
		return 1;
	}
	LIBXML_TEST_VERSION;
	log_capture_libre();

	if (check)
		ret = check_config(confdir);
	else if (sub && missing) {
		char *av[] = {"--missing"};
		ret = passwd_main(confdir, datadir, 1, av);
	}
	else if (sub)
		ret = passwd_main(confdir, datadir, argc - optind,
				  argv + optind);
	else
		ret = daemon_run(confdir, datadir);

	xmlCleanupParser();
	libre_close();
	tmr_debug();
	mem_debug();
	return ret;
}
