/**
 * @file trunk.c  Trunks at run time: registration, health, channel count
 *
 * See trunk.h. UDP and TCP trunks use the phones' SIP stack. A TLS trunk
 * gets a SIP stack of its own (LIBRARY-NOTES.md 1.6: libre has one
 * certificate and one verify mode per stack): its client certificate,
 * its CA, OpenSSL's verification of the provider's chain and our check
 * of its name (libre 1.1.0 checks neither), and a listener where the
 * provider connects with a certificate of its own, or is refused. Each
 * trunk holds a reference to the config it was made from.
 */
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "core.h"
#include "codec.h"
#include "config.h"
#include "sipstack.h"
#include "trunk.h"

enum {
	PING_TIMEOUT_MS = 5000,
	DOWN_AFTER      = 3,        /* failed pings in a row */
	UP_AFTER        = 2,        /* answered pings in a row */
};

struct trunkset {
	struct list trunks;
	struct sipstack *ss;        /* weak */
	struct sa laddr;            /* the first listener's address */
	trunk_port_h *porth;
	void *port_arg;
};

struct trunk {
	struct le le;
	struct trunkset *ts;
	struct config *cfgref;      /* keeps tc alive */
	const struct config_trunk *tc;
	char *name;

	/* TLS: a stack of its own, and the calls' port on it */
	struct sip *sip;
	struct tls *tls;
	void *port;
	struct sa tls_laddr;

	/* registration */
	struct sipreg *reg;
	enum trunk_reg reg_state;
	uint16_t reg_scode;
	uint64_t reg_at;            /* ms, the last answer or failure */

	/* OPTIONS */
	struct tmr ping_tmr;
	struct tmr ping_to;
	struct sip_request *ping;
	uint64_t ping_sent;
	uint32_t ping_seq;
	uint16_t last_scode;
	char last_reason[48];
	int64_t rtt_ms;             /* -1: none yet */
	bool up;
	unsigned ok_run, fail_run;
	uint64_t downs;

	uint32_t active;
	uint64_t calls;
};


static struct sip *tsip(const struct trunk *t)
{
	return t->sip ? t->sip : sipstack_sip(t->ts->ss);
}


static uint64_t now_ms(void)
{
	return tmr_jiffies();
}


static const char *tp_param(enum sip_transp tp)
{
	switch (tp) {
	case SIP_TRANSP_UDP: return "udp";
	case SIP_TRANSP_TLS: return "tls";
	default:             return "tcp";
	}
}


static bool is_ip(const char *host)
{
	struct sa sa;

	return sa_set_str(&sa, host, 0) == 0;
}


int trunk_uri(char *buf, size_t sz, const struct trunk *t, const char *user)
{
	const struct config_trunk *tc = t->tc;
	bool v6 = strchr(tc->host, ':') != NULL;
	int n;

	if (!tc->port && !tc->tp_set && !is_ip(tc->host))
		/* a domain: RFC 3263 4.1, NAPTR picks the transport */
		n = re_snprintf(buf, sz, "sip:%s%s%s", user ? user : "",
				user ? "@" : "", tc->host);
	else if (tc->port)
		n = re_snprintf(buf, sz, "sip:%s%s%s%s%s:%u;transport=%s",
				user ? user : "", user ? "@" : "",
				v6 ? "[" : "", tc->host, v6 ? "]" : "",
				tc->port, tp_param(tc->tp));
	else
		n = re_snprintf(buf, sz, "sip:%s%s%s%s%s;transport=%s",
				user ? user : "", user ? "@" : "",
				v6 ? "[" : "", tc->host, v6 ? "]" : "",
				tp_param(tc->tp));

	return n < 0 || (size_t)n >= sz ? ENOMEM : 0;
}


/* ---- OPTIONS health ---- */

static void ping_start(void *arg);


static void ping_result(struct trunk *t, bool ok)
{
	if (ok) {
		t->fail_run = 0;
		if (!t->up && ++t->ok_run >= UP_AFTER) {
			t->up = true;
			log_info("trunk %s: up (%u answered pings)", t->name,
				 t->ok_run);
		}
	}
	else {
		t->ok_run = 0;
		if (t->up && ++t->fail_run >= DOWN_AFTER) {
			t->up = false;
			++t->downs;
			log_warn("trunk %s: down (%u pings failed: %s)",
				 t->name, t->fail_run, t->last_reason);
		}
	}

	tmr_start(&t->ping_tmr, t->tc->ping * 1000ULL, ping_start, t);
}


static void ping_resp(int err, const struct sip_msg *msg, void *arg)
{
	struct trunk *t = arg;

	tmr_cancel(&t->ping_to);
	t->ping = NULL;

	if (err || !msg) {
		t->last_scode = 0;
		(void)re_snprintf(t->last_reason, sizeof(t->last_reason),
				  "%m", err);
		ping_result(t, false);
		return;
	}

	if (msg->scode < 200)
		return;

	t->last_scode = msg->scode;
	(void)pl_strcpy(&msg->reason, t->last_reason,
			sizeof(t->last_reason));
	t->rtt_ms = (int64_t)(now_ms() - t->ping_sent);

	/* any answer is a living server, but 503: it says it cannot */
	ping_result(t, msg->scode != 503);
}


static void ping_timeout(void *arg)
{
	struct trunk *t = arg;

	t->ping = mem_deref(t->ping);
	t->last_scode = 0;
	str_ncpy(t->last_reason, "no answer", sizeof(t->last_reason));
	ping_result(t, false);
}


static void ping_start(void *arg)
{
	struct trunk *t = arg;
	struct sip *sip = tsip(t);
	char uri[256];
	int err;

	err = trunk_uri(uri, sizeof(uri), t, NULL);
	if (!err)
		err = sip_requestf(&t->ping, sip, true, "OPTIONS", uri, NULL,
				   NULL, NULL, ping_resp, t,
				   "To: <%s>\r\n"
				   "From: <sip:switchboard@%s>;tag=%x\r\n"
				   "Call-ID: ping-%x-%s\r\n"
				   "CSeq: %u OPTIONS\r\n"
				   "Max-Forwards: 70\r\n"
				   "User-Agent: Switchboard\r\n"
				   "Content-Length: 0\r\n\r\n",
				   uri, t->tc->host, rand_u32(), rand_u32(),
				   t->name, ++t->ping_seq);
	if (err) {
		(void)re_snprintf(t->last_reason, sizeof(t->last_reason),
				  "%m", err);
		ping_result(t, false);
		return;
	}

	t->ping_sent = now_ms();
	tmr_start(&t->ping_to, t->tc->ping * 1000ULL < PING_TIMEOUT_MS ?
		  t->tc->ping * 1000ULL : PING_TIMEOUT_MS, ping_timeout, t);
}


/* ---- registration ---- */

static int reg_auth(char **user, char **pass, const char *realm, void *arg)
{
	struct trunk *t = arg;
	int err;
	(void)realm;

	err  = str_dup(user, t->tc->username ? t->tc->username : "");
	err |= str_dup(pass, t->tc->password ? t->tc->password : "");

	return err;
}


static void reg_resp(int err, const struct sip_msg *msg, void *arg)
{
	struct trunk *t = arg;
	enum trunk_reg was = t->reg_state;

	t->reg_at = now_ms();

	if (msg && msg->scode < 200)
		return;

	if (msg && msg->scode < 300) {
		t->reg_state = TRUNK_REG_OK;
		t->reg_scode = msg->scode;
	}
	else if ((msg && (msg->scode == 401 || msg->scode == 403 ||
			  msg->scode == 407)) || err == EAUTH) {
		t->reg_state = TRUNK_REG_REJECTED;
		t->reg_scode = msg ? msg->scode : 401;
	}
	else if (msg) {
		t->reg_state = TRUNK_REG_FAILED;
		t->reg_scode = msg->scode;
	}
	else {
		t->reg_state = TRUNK_REG_UNREACHABLE;
		t->reg_scode = 0;
	}

	if (t->reg_state != was) {
		if (t->reg_state == TRUNK_REG_OK)
			log_info("trunk %s: registered", t->name);
		else
			log_warn("trunk %s: registration %s (%u, %m)",
				 t->name, t->reg_state == TRUNK_REG_REJECTED ?
				 "rejected: credentials" :
				 t->reg_state == TRUNK_REG_UNREACHABLE ?
				 "failed: unreachable" : "failed",
				 t->reg_scode, err);
	}
}


static int reg_start(struct trunk *t)
{
	const struct config_trunk *tc = t->tc;
	struct sip *sip = tsip(t);
	char reg_uri[256], aor[256];
	int err;

	err  = trunk_uri(reg_uri, sizeof(reg_uri), t, NULL);
	err |= re_snprintf(aor, sizeof(aor), "sip:%s@%s", tc->username,
			   tc->host) < 0;
	if (err)
		return ENOMEM;

	t->reg_state = TRUNK_REG_TRYING;
	return sipreg_register(&t->reg, sip, reg_uri, aor, NULL, aor,
			       tc->expires, tc->username, NULL, 0, 0,
			       reg_auth, t, false, reg_resp, t, NULL,
			       "User-Agent: Switchboard\r\n");
}


/* ---- the set ---- */

static void trunk_destructor(void *arg)
{
	struct trunk *t = arg;

	list_unlink(&t->le);
	tmr_cancel(&t->ping_tmr);
	tmr_cancel(&t->ping_to);
	mem_deref(t->ping);
	mem_deref(t->reg);
	mem_deref(t->port);
	if (t->sip)
		sip_close(t->sip, true);
	mem_deref(t->sip);
	mem_deref(t->tls);
	mem_deref(t->name);
	mem_deref(t->cfgref);
}


/* OpenSSL's verdict on each certificate of the peer's chain, and at the
 * end of it (depth 0) our check that a provider we called is the host
 * we meant (libre 1.1.0 checks no name). A refusal is said once, with
 * the reason, on the trunk's log. */
static int tls_verify(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x,
		SSL_get_ex_data_X509_STORE_CTX_idx());
	struct trunk *t = ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) :
		NULL;
	X509 *cert = X509_STORE_CTX_get_current_cert(x);
	int depth = X509_STORE_CTX_get_error_depth(x);
	char subject[256] = "";

	if (!t)
		return ok;

	if (cert)
		X509_NAME_oneline(X509_get_subject_name(cert), subject,
				  sizeof(subject));

	if (!ok) {
		log_warn("trunk %s: TLS: %s certificate refused (%s, depth "
			 "%d): %s", t->name, SSL_is_server(ssl) ? "client" :
			 "server", subject, depth,
			 X509_verify_cert_error_string(
				 X509_STORE_CTX_get_error(x)));
		return 0;
	}

	if (depth == 0 && !SSL_is_server(ssl)) {
		const char *host = t->tc->host;
		struct sa ip;
		int r = sa_set_str(&ip, host, 0) == 0 ?
			X509_check_ip_asc(cert, host, 0) :
			X509_check_host(cert, host, 0, 0, NULL);

		if (r != 1) {
			log_warn("trunk %s: TLS: the server certificate (%s) "
				 "is not for %s: refused", t->name, subject,
				 host);
			return 0;
		}
	}

	return ok;
}


/* A stack of the trunk's own: its certificate, its CA, both ways */
static int tls_stack(struct trunk *t, const struct sa *deflocal)
{
	const struct config_trunk *tc = t->tc;
	struct sa laddr;
	SSL_CTX *ctx;
	int err;

	err = sip_alloc(&t->sip, sipstack_dnsc(t->ts->ss), 64, 64, 64,
			"Switchboard/" SWITCHBOARD_VERSION, NULL, NULL);
	if (err)
		return err;

	err = tls_alloc(&t->tls, TLS_METHOD_SSLV23, tc->cert, NULL);
	if (!err)
		err = tls_add_ca(t->tls, tc->ca);
	if (err) {
		log_error("trunk %s: TLS: cannot load %s / %s: %m", t->name,
			  tc->cert ? tc->cert : "(no certificate)", tc->ca,
			  err);
		return err;
	}

	ctx = tls_openssl_context(t->tls);
	SSL_CTX_set_app_data(ctx, t);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
			   SSL_VERIFY_FAIL_IF_NO_PEER_CERT, tls_verify);

	laddr = sa_isset(&tc->local, SA_ADDR) ? tc->local : *deflocal;
	if (!sa_isset(&tc->local, SA_ADDR))
		sa_set_port(&laddr, 0);

	err = sip_transp_add(t->sip, SIP_TRANSP_TLS, &laddr, t->tls);
	if (err) {
		log_error("trunk %s: TLS: cannot listen on %J: %m", t->name,
			  &laddr, err);
		return err;
	}

	(void)sip_transp_laddr(t->sip, &t->tls_laddr, SIP_TRANSP_TLS, NULL);
	log_info("trunk %s: own TLS stack on %J (client certificate %s, CA "
		 "%s)", t->name, &t->tls_laddr, tc->cert ? tc->cert : "none",
		 tc->ca);

	if (t->ts->porth)
		t->port = t->ts->porth(t, t->sip, t->ts->port_arg);

	return 0;
}


static void trunk_start(struct trunk *t)
{
	int err;

	if (t->tc->reg) {
		err = reg_start(t);
		if (err) {
			t->reg_state = TRUNK_REG_FAILED;
			log_warn("trunk %s: cannot register: %m", t->name,
				 err);
		}
	}

	/* a first ping at once: the state is known within seconds */
	if (t->tc->ping)
		tmr_start(&t->ping_tmr, 0, ping_start, t);
}


static int trunk_alloc(struct trunkset *ts, const struct config *cfg,
		       const struct config_trunk *tc)
{
	struct trunk *t;
	int err;

	t = mem_zalloc(sizeof(*t), trunk_destructor);
	if (!t)
		return ENOMEM;

	tmr_init(&t->ping_tmr);
	tmr_init(&t->ping_to);
	t->ts = ts;
	t->cfgref = mem_ref((struct config *)cfg);
	t->tc = tc;
	t->up = true;
	t->rtt_ms = -1;
	err = str_dup(&t->name, tc->name);
	if (!err && tc->tp == SIP_TRANSP_TLS)
		err = tls_stack(t, &ts->laddr);
	if (err) {
		mem_deref(t);
		return err;
	}

	list_append(&ts->trunks, &t->le, t);
	trunk_start(t);
	return 0;
}


/* libre's str_cmp() calls two NULLs different */
static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}


static bool same_settings(const struct config_trunk *a,
			  const struct config_trunk *b)
{
	return same_str(a->host, b->host) && a->port == b->port &&
		a->tp == b->tp && a->tp_set == b->tp_set &&
		a->reg == b->reg && a->expires == b->expires &&
		a->ping == b->ping &&
		same_str(a->username, b->username) &&
		same_str(a->password, b->password) &&
		same_str(a->cert, b->cert) && same_str(a->ca, b->ca) &&
		((!sa_isset(&a->local, SA_ADDR) &&
		  !sa_isset(&b->local, SA_ADDR)) ||
		 sa_cmp(&a->local, &b->local, SA_ALL));
}


static void set_destructor(void *arg)
{
	struct trunkset *ts = arg;

	list_flush(&ts->trunks);
}


int trunkset_alloc(struct trunkset **tsp, struct sipstack *ss,
		   const struct config *cfg)
{
	struct trunkset *ts;
	int err;

	if (!tsp || !ss || !cfg)
		return EINVAL;

	ts = mem_zalloc(sizeof(*ts), set_destructor);
	if (!ts)
		return ENOMEM;

	ts->ss = ss;
	if (!list_isempty(&cfg->listens))
		ts->laddr = ((struct config_listen *)
			     list_ledata(cfg->listens.head))->addr;
	err = trunkset_set_config(ts, cfg);
	if (err) {
		mem_deref(ts);
		return err;
	}

	*tsp = ts;
	return 0;
}


int trunkset_set_config(struct trunkset *ts, const struct config *cfg)
{
	struct list old = LIST_INIT;
	struct le *le;
	int err = 0;

	if (!ts || !cfg)
		return EINVAL;

	/* the old ones aside; those that stay come back */
	while (ts->trunks.head) {
		struct trunk *x = ts->trunks.head->data;

		list_unlink(&x->le);
		list_append(&old, &x->le, x);
	}

	for (le = cfg->trunks.head; le && !err; le = le->next) {
		const struct config_trunk *tc = le->data;
		struct trunk *t = NULL;
		struct le *o;

		for (o = old.head; o; o = o->next) {
			struct trunk *x = o->data;

			if (!strcmp(x->name, tc->name)) {
				t = x;
				break;
			}
		}

		if (t && same_settings(t->tc, tc)) {
			list_unlink(&t->le);
			list_append(&ts->trunks, &t->le, t);
			mem_deref(t->cfgref);
			t->cfgref = mem_ref((struct config *)cfg);
			t->tc = tc;
			continue;
		}

		err = trunk_alloc(ts, cfg, tc);
	}

	/* removed or changed: no more pings or registrations, even while
	 * a call on it holds it */
	for (le = old.head; le; le = le->next) {
		struct trunk *x = le->data;

		tmr_cancel(&x->ping_tmr);
		tmr_cancel(&x->ping_to);
		x->ping = mem_deref(x->ping);
		x->reg = mem_deref(x->reg);
		x->up = false;
		x->port = mem_deref(x->port);
	}
	list_flush(&old);
	return err;
}


void trunkset_set_porth(struct trunkset *ts, trunk_port_h *h, void *arg)
{
	struct le *le;

	ts->porth = h;
	ts->port_arg = arg;

	for (le = ts->trunks.head; le; le = le->next) {
		struct trunk *t = le->data;

		if (t->sip && !t->port && h)
			t->port = h(t, t->sip, arg);
	}
}


void *trunk_port(const struct trunk *t)
{
	return t ? t->port : NULL;
}


struct trunk *trunk_find(const struct trunkset *ts, const char *name)
{
	struct le *le;

	for (le = ts && name ? ts->trunks.head : NULL; le; le = le->next) {
		struct trunk *t = le->data;

		if (!strcmp(t->name, name))
			return t;
	}

	return NULL;
}


struct trunk *trunk_by_source(const struct trunkset *ts,
			      const struct sa *src)
{
	struct le *le;

	for (le = ts && src ? ts->trunks.head : NULL; le; le = le->next) {
		struct trunk *t = le->data;
		unsigned i;

		for (i = 0; i < t->tc->nfrom; i++) {
			if (sa_cmp(&t->tc->from[i], src, SA_ADDR))
				return t;
		}
	}

	return NULL;
}


const struct config_trunk *trunk_config(const struct trunk *t)
{
	return t ? t->tc : NULL;
}


bool trunk_usable(const struct trunk *t, const char **why)
{
	if (!t->up) {
		*why = "trunk down";
		return false;
	}

	if (t->tc->max_calls && t->active >= t->tc->max_calls) {
		*why = "trunk full (max-calls)";
		return false;
	}

	return true;
}


void trunk_call_begin(struct trunk *t)
{
	++t->active;
	++t->calls;
}


void trunk_call_end(struct trunk *t)
{
	if (t->active)
		--t->active;
}


uint32_t trunk_call_kbps(const char *codec)
{
	/* payload bytes per 20 ms packet */
	size_t payload = !str_casecmp(codec, "opus") ? 80 : 160;

	/* + RTP 12 + UDP 8 + IPv4 20, 50 packets a second */
	return (uint32_t)((payload + 40) * 8 * 50 / 1000);
}


static const char *reg_name(enum trunk_reg r)
{
	switch (r) {
	case TRUNK_REG_OFF:         return "off";
	case TRUNK_REG_TRYING:      return "registering";
	case TRUNK_REG_OK:          return "registered";
	case TRUNK_REG_REJECTED:    return "credentials rejected";
	case TRUNK_REG_UNREACHABLE: return "unreachable";
	default:                    return "failed";
	}
}


int trunkset_print(struct re_printf *pf, const struct trunkset *ts,
		   bool json)
{
	bool first = true;
	struct le *le;
	int err = 0;

	if (json)
		err |= re_hprintf(pf, "[");

	for (le = ts ? ts->trunks.head : NULL; le && !err; le = le->next) {
		const struct trunk *t = le->data;
		const struct config_trunk *tc = t->tc;
		const char *codec = tc->codecs.n ? tc->codecs.v[0]->name :
			"PCMU";
		uint32_t max = tc->max_calls;
		uint32_t per = trunk_call_kbps(codec);
		/* planning: 64 kbit/s of G.711 + 16 of headers a call */
		uint32_t plan = max * (64 + 16);
		char last[80];

		if (t->last_scode)
			(void)re_snprintf(last, sizeof(last), "%u %s",
					  t->last_scode, t->last_reason);
		else
			str_ncpy(last, t->last_reason[0] ? t->last_reason :
				 "-", sizeof(last));

		if (json) {
			err |= re_hprintf(pf, "%s{\"name\":\"%s\",\"state\":"
					  "\"%s\",\"registration\":\"%s\","
					  "\"reg_code\":%u,\"last\":",
					  first ? "" : ",", t->name,
					  t->up ? "up" : "down",
					  reg_name(t->reg_state), t->reg_scode);
			err |= json_str(pf, last);
			err |= re_hprintf(pf, ",\"rtt_ms\":%lld,"
					  "\"active\":%u,\"max_calls\":%u,"
					  "\"calls\":%llu,\"downs\":%llu,"
					  "\"peak_kbps_plan\":%u,"
					  "\"peak_kbps_ip\":%u,"
					  "\"codec\":\"%s\"}",
					  (long long)t->rtt_ms, t->active, max,
					  (unsigned long long)t->calls,
					  (unsigned long long)t->downs, plan,
					  max * per, codec);
			first = false;
			continue;
		}

		err |= re_hprintf(pf, "%s %s:%u/%s", t->name, tc->host,
				  tc->port, tp_param(tc->tp));
		if (t->sip)
			err |= re_hprintf(pf, " (mutual TLS from %J)",
					  &t->tls_laddr);
		err |= re_hprintf(pf, " %s registration:%s last:%s "
				  "rtt:%s%lld%s calls:%u/%s",
				  t->up ? "up" : "down",
				  reg_name(t->reg_state), last,
				  "", (long long)t->rtt_ms,
				  t->rtt_ms >= 0 ? "ms" : "", t->active,
				  max ? "" : "unlimited");
		if (max)
			err |= re_hprintf(pf, "%u peak:%u kbit/s planned "
					  "(%u x 80), %u kbit/s on the wire "
					  "(%s 20 ms, %u a call) each way",
					  max, plan, max, max * per, codec,
					  per);
		err |= re_hprintf(pf, "\n");
	}

	if (json)
		err |= re_hprintf(pf, "]\n");

	return err;
}
