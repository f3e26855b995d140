/**
 * @file config.h  The parsed, validated configuration
 *
 * A config is immutable once loaded. A reload builds a new one beside the
 * old one and swaps it in only when it is valid; whoever holds a reference
 * (a call in progress) keeps the config it started with.
 */
#ifndef SWITCH_CONFIG_H
#define SWITCH_CONFIG_H

#include "digest.h"

struct dialplan;
struct codec;

/* Codecs a leg may use, in the order of preference the config gives */
enum { CODEC_LIST_MAX = 8 };
struct codec_list {
	const struct codec *v[CODEC_LIST_MAX];
	unsigned n;
};

struct config_listen {
	struct le le;
	enum sip_transp tp;
	struct sa addr;
	char *cert;            /* absolute path, TLS only  */
	char *ca;              /* absolute path, may be NULL */
	bool verify_client;    /* require a client cert signed by ca */
};

/* What a user may call through a trunk, narrowest first */
enum cos {
	COS_INTERNAL = 0,      /* no trunk at all               */
	COS_LOCAL,             /* the trunk's own area          */
	COS_NATIONAL,          /* its country (the default)     */
	COS_INTERNATIONAL,
};

struct config_user {
	struct le he;          /* in config.users, keyed by id */
	struct le le;          /* in config.userl, file order  */
	char *id;
	char *name;
	char *password;        /* may be NULL                  */
	bool has_ha1[DIGEST_ALGOC];
	uint8_t ha1[DIGEST_ALGOC][DIGEST_HA1_MAX];
	char *context;
	char *mailbox;
	char *vm_pin;          /* NULL: none in the directory   */
	char *email;           /* voicemail by e-mail, or NULL   */
	uint32_t max_contacts; /* 0: the registrar default   */
	struct codec_list codecs;  /* n == 0: media.codecs      */
	enum cos cos;
	bool mwi_unsolicited;  /* NOTIFY without a subscription */
	char *file;            /* where it was defined         */
	int line;
};

enum { TRUNK_FROM_MAX = 8 };

/* An Internet telephony service provider (or another PBX) */
struct config_trunk {
	struct le le;              /* in config.trunks, file order */
	char *name;
	char *host;                /* an IP, or a name for DNS (RFC 3263) */
	uint16_t port;             /* 0: DNS SRV or the transport's own */
	enum sip_transp tp;        /* TCP unless said otherwise */
	bool tp_set;               /* said: else a name's NAPTR decides */
	bool reg;                  /* register to it */
	uint32_t expires;          /* seconds asked for */
	char *username;
	char *password;
	char *cert;                /* our client certificate (TLS) */
	char *ca;                  /* what its certificate is checked against */
	struct sa local;           /* TLS: our address for it (its own SIP
	                              stack); unset: first listener, any port */
	uint32_t ping;             /* OPTIONS every so many seconds; 0: off */
	uint32_t max_calls;        /* 0: no limit */
	struct codec_list codecs;  /* n == 0: media.codecs */
	char *context;             /* inbound calls */
	struct sa from[TRUNK_FROM_MAX];   /* inbound calls come from */
	unsigned nfrom;
	char *country_code;        /* E.164: "1", "44" */
	char *area_code;           /* local calls: +CC AREA ... */
	char *intl_prefix;         /* dialled before a country code */
	char *natl_prefix;         /* dialled before an area code */
	char *caller_id;           /* the number sent; NULL: the caller's */
	bool pai;                  /* P-Asserted-Identity with it */
	struct config_user *user;  /* who its inbound calls are: its
	                              context and codecs, no trunk access */
	char *file;
	int line;
};

/* Trunks tried in turn: bridge tgroup/NAME/NUMBER */
struct config_tgroup {
	struct le le;              /* in config.tgroups */
	char *name;
	char *trunks;              /* space-separated trunk names */
};

struct config_group {
	struct le le;          /* in config.groups */
	char *id;
	char *members;         /* space-separated user ids, as written */
	bool sequential;       /* strategy="sequential": one after another */
};

struct config {
	char *confdir;         /* absolute */
	char *file;            /* CONFDIR/switchboard.xml */
	char *domain;          /* also the digest realm */

	struct list listens;   /* struct config_listen */

	struct {
		uint32_t min_expires;
		uint32_t max_expires;
		uint32_t default_expires;
		uint32_t tcp_max_expires;
		uint32_t max_contacts;
	} registrar;

	struct {
		enum digest_algo algov[DIGEST_ALGOC];
		size_t algoc;
		uint32_t nonce_lifetime;
		uint32_t max_failures;
		uint32_t failure_window;
		uint32_t lockout;
	} auth;

	struct {
		struct sa addr;        /* RTP is anchored here */
		uint16_t port_min;     /* even ports from [min, max) */
		uint16_t port_max;
		uint32_t timeout_ms;   /* no RTP for this long: hang up */
		uint32_t workers;      /* relay threads; 0: one per core */
		struct codec_list codecs;  /* the default for every leg */
	} media;

	struct {
		uint32_t timeout;      /* default call_timeout (seconds) */
	} calls;

	struct {
		uint32_t max_messages; /* a mailbox holds at most */
		uint32_t max_length;   /* seconds of one message */
		uint32_t silence;      /* seconds of silence end it */
		char *mail_command;    /* sendmail-compatible       */
		char *mail_from;
		uint32_t mail_retry;   /* seconds to the first retry */
	} voicemail;

	struct {
		struct sa servers[4];  /* none: /etc/resolv.conf's */
		unsigned n;
	} dns;

	struct {
		uint32_t max_calls;    /* calls in progress; 0: no limit  */
		uint32_t cps;          /* new calls per second; 0: none   */
	} limits;

	bool store_full_sync;
	int log_level;         /* enum log_level */

	struct hash *users;    /* struct config_user by id */
	struct list userl;
	uint32_t user_count;
	struct list groups;    /* struct config_group */
	struct list trunks;    /* struct config_trunk */
	struct list tgroups;   /* struct config_tgroup */

	struct dialplan *dialplan;   /* compiled <dialplan> sections */
};

/** One problem found while loading: "FILE:LINE: message". */
struct config_error {
	struct le le;
	char *file;
	int line;
	char *msg;
};

/**
 * Load and validate CONFDIR/switchboard.xml (with its XIncludes).
 *
 * @param cfgp   On success, the new config
 * @param errl   On failure (EINVAL), filled with struct config_error,
 *               in document order; the caller flushes it
 * @param confdir The configuration folder
 */
int  config_load(struct config **cfgp, struct list *errl,
		 const char *confdir);

/** Print every error as "FILE:LINE: message\n". */
int  config_errors_print(struct re_printf *pf, const struct list *errl);

const struct config_user *config_user_find(const struct config *cfg,
					   const struct pl *id);
const struct config_group *config_group_find(const struct config *cfg,
					     const char *id);
const struct config_trunk *config_trunk_find(const struct config *cfg,
					     const char *name);
const struct config_tgroup *config_tgroup_find(const struct config *cfg,
					       const char *name);
const char *cos_name(enum cos c);

/** The codecs of a user's legs (its own list or media.codecs) */
const struct codec_list *config_user_codecs(const struct config *cfg,
					    const struct config_user *u);

/** true if c is in l */
bool codec_list_has(const struct codec_list *l, const struct codec *c);

/** Parse "300", "300s", "500ms", "5m", "1h" into milliseconds. */
int  config_duration_ms(uint64_t *msp, const char *s);

/* Internal to config_load.c / config.c */
int  config_alloc(struct config **cfgp, const char *confdir);
int  config_error_add(struct list *errl, const char *file, int line,
		      const char *fmt, ...);

#endif
