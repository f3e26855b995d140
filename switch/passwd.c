/**
 * @file passwd.c  `switchboard passwd`: credentials kept in the data dir
 *
 * Users without a password in the config get one here: generated
 * (--missing, used by the set-up so that no secret is shipped in etc/) or
 * given. Only the HA1 hashes are stored (MD5 and SHA-256, for the realm of
 * the config); a generated password is printed once.
 */
#include <stdio.h>
#include <unistd.h>
#include <openssl/rand.h>
#include "core.h"
#include "config.h"
#include "ctl.h"
#include "digest.h"
#include "store.h"
#include "passwd.h"

enum { GEN_LEN = 12 };


/* No 0/O, 1/l/I: passwords get typed into phone keypads and web forms. */
static int gen_password(char *buf, size_t sz)
{
	static const char alphabet[] =
		"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	uint8_t rnd[GEN_LEN];
	size_t i;

	if (sz <= GEN_LEN || RAND_bytes(rnd, sizeof(rnd)) != 1)
		return EIO;

	/* 256 % 57 bias is below 2^-3 per char; acceptable for 71 bits */
	for (i = 0; i < GEN_LEN; i++)
		buf[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	buf[GEN_LEN] = '\0';

	return 0;
}


static int set_password(struct store *st, const struct config *cfg,
			const char *user, const char *pass)
{
	uint8_t md5[DIGEST_HA1_MAX], sha[DIGEST_HA1_MAX];
	char md5hex[65], shahex[65];
	int err;

	err  = digest_ha1(md5, DIGEST_MD5, user, cfg->domain, pass);
	err |= digest_ha1(sha, DIGEST_SHA256, user, cfg->domain, pass);
	if (err)
		return err;

	(void)re_snprintf(md5hex, sizeof(md5hex), "%w", md5,
			  digest_ha1_len(DIGEST_MD5));
	(void)re_snprintf(shahex, sizeof(shahex), "%w", sha,
			  digest_ha1_len(DIGEST_SHA256));

	return store_credential_set(st, user, cfg->domain, md5hex, shahex);
}


static bool has_config_secret(const struct config_user *u)
{
	return u->password || u->has_ha1[DIGEST_MD5] ||
		u->has_ha1[DIGEST_SHA256];
}


static int gen_missing(struct store *st, const struct config *cfg,
		       unsigned *countp)
{
	struct le *le;
	int err = 0;

	for (le = cfg->userl.head; le && !err; le = le->next) {
		const struct config_user *u = le->data;
		char *realm = NULL, *a = NULL, *b = NULL;
		char pass[GEN_LEN + 1];
		bool have;

		if (has_config_secret(u))
			continue;

		have = !store_credential_get(st, u->id, &realm, &a, &b) &&
			!strcmp(realm, cfg->domain);
		mem_deref(realm);
		mem_deref(a);
		mem_deref(b);
		if (have)
			continue;

		err = gen_password(pass, sizeof(pass));
		if (!err)
			err = set_password(st, cfg, u->id, pass);
		if (!err) {
			printf("%s %s\n", u->id, pass);
			++*countp;
		}
		memset(pass, 0, sizeof(pass));
	}

	return err;
}


int passwd_main(const char *confdir, const char *datadir, int argc,
		char *argv[])
{
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct list errl = LIST_INIT;
	unsigned count = 0;
	int err, ret = 1;

	if (argc < 1) {
		fprintf(stderr, "usage: switchboard passwd -c CONFDIR "
			"(--missing | USER [PASSWORD])\n");
		return 2;
	}

	err = config_load(&cfg, &errl, confdir);
	if (err) {
		(void)re_fprintf(stderr, "%H", config_errors_print, &errl);
		list_flush(&errl);
		return 1;
	}

	err = store_open(&st, datadir);
	if (err) {
		fprintf(stderr, "passwd: cannot open the store in %s: %s\n",
			datadir, strerror(err));
		goto out;
	}

	if (!strcmp(argv[0], "--missing") || !strcmp(argv[0], "-m")) {
		err = gen_missing(st, cfg, &count);
		if (err)
			fprintf(stderr, "passwd: %s\n", strerror(err));
		else if (count)
			fprintf(stderr, "passwd: %u password(s) generated and "
				"stored (as hashes) in %s; note them now, they "
				"are not shown again\n", count, store_path(st));
	}
	else {
		const struct config_user *u;
		char pass[128];
		struct pl id;

		pl_set_str(&id, argv[0]);
		u = config_user_find(cfg, &id);
		if (!u) {
			fprintf(stderr, "passwd: no user \"%s\" in %s\n",
				argv[0], cfg->file);
			goto out;
		}
		if (has_config_secret(u)) {
			fprintf(stderr, "passwd: the password of %s is set in "
				"%s:%d; change it there\n", u->id, u->file,
				u->line);
			goto out;
		}

		if (argc > 1) {
			str_ncpy(pass, argv[1], sizeof(pass));
		}
		else {
			err = gen_password(pass, sizeof(pass));
			if (!err)
				printf("%s %s\n", u->id, pass);
		}

		if (!err)
			err = set_password(st, cfg, u->id, pass);
		memset(pass, 0, sizeof(pass));
		if (err)
			fprintf(stderr, "passwd: %s\n", strerror(err));
		else
			++count;
	}

	/* A running daemon caches credentials: have it load them. */
	if (!err && count) {
		char sock[512];
		char *reload[] = {"reload"};

		(void)re_snprintf(sock, sizeof(sock), "%s/ctl.sock", datadir);
		if (access(sock, W_OK) == 0)
			(void)ctl_client(sock, 1, reload);
	}

	ret = err ? 1 : 0;

 out:
	mem_deref(st);
	mem_deref(cfg);
	return ret;
}
