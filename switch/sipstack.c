/**
 * @file sipstack.c  The phones' SIP stack: transports and generic replies
 *
 * One struct sip for the phones (LIBRARY-NOTES.md 1.6: trunks that need
 * mutual TLS get stacks of their own later). Listeners run in the order
 * they are registered; ours:
 *   1. sanity checks that libre 1.1.0 does not make (400/505 answers),
 *   2. the registrar (added by registrar.c),
 *   3. OPTIONS to the PBX (keep-alive pings from phones and trunks).
 */
#include <sys/socket.h>
#include <linux/sock_diag.h>
#include <openssl/ssl.h>
#include "core.h"
#include "config.h"
#include "sipguard.h"
#include "sipstack.h"

enum {
	SIP_HASH_CTRANS = 4096,
	SIP_HASH_STRANS = 4096,
	SIP_HASH_CONN   = 1024,
};

struct sipstack {
	struct sip *sip;
	struct dnsc *dnsc;
	struct sip_lsnr *lsnr_check;
	struct sip_lsnr *lsnr_options;
	char *domain;
	struct list laddrs;          /* struct laddr: IPs we listen on */
	const void *udp_tuned[8];    /* UDP sockets whose buffers are set */
	uint64_t bad_requests;
};



struct laddr {
	struct le le;
	struct sa addr;
	enum sip_transp tp;
};


static void sipstack_destructor(void *arg)
{
	struct sipstack *ss = arg;

	mem_deref(ss->lsnr_options);
	mem_deref(ss->lsnr_check);
	if (ss->sip)
		sip_close(ss->sip, true);
	mem_deref(ss->sip);
	mem_deref(ss->dnsc);
	list_flush(&ss->laddrs);
	mem_deref(ss->domain);
}


/* A burst of REGISTERs after a power cut (every phone at once) must not
 * overflow the kernel's default 208 KiB receive buffer while the loop is
 * busy, and a request longer than 8 KiB (RFC 4475 3.1.1.7 sends 3.5) is
 * still a request. libre 1.1.0 does not hand out the transport's socket; the first
 * message on it does (msg->sock is the udp_sock for UDP). */
static void tune_udp_socket(struct sipstack *ss, void *sock)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ss->udp_tuned); i++) {
		if (ss->udp_tuned[i] == sock)
			return;
		if (!ss->udp_tuned[i]) {
			ss->udp_tuned[i] = sock;
			(void)udp_sockbuf_set(sock, 4 << 20);
			/* libre reads 8 KiB per datagram by default and drops a
			 * longer one cut short; take any UDP datagram whole */
			udp_rxsz_set(sock, 65536);
			return;
		}
	}
}


static bool check_handler(const struct sip_msg *msg, void *arg)
{
	struct sipstack *ss = arg;
	const struct sip_hdr *hdr;
	const char *reason = NULL;
	uint16_t scode;

	if (msg->tp == SIP_TRANSP_UDP)
		tune_udp_socket(ss, msg->sock);

	/* a request libre could not decode, rewritten by sipguard */
	if (sipguard_rejection(msg, &scode, &reason))
		goto reject;

	scode = sipcheck_request(msg, &reason);
	if (!scode) {
		/* RFC 3261 8.2.2.3: we support no option tags (no 100rel,
		 * no timer); CANCEL and ACK are exempt */
		hdr = sip_msg_hdr(msg, SIP_HDR_REQUIRE);
		if (!hdr || !pl_strcmp(&msg->met, "ACK") ||
		    !pl_strcmp(&msg->met, "CANCEL"))
			return false;

		++ss->bad_requests;
		log_info("sip: 420 to %r from %J: Require: %r", &msg->met,
			 &msg->src, &hdr->val);
		(void)sip_replyf(ss->sip, msg, 420, "Bad Extension",
				 "Unsupported: %r\r\n"
				 "Content-Length: 0\r\n\r\n", &hdr->val);
		return true;
	}

 reject:
	++ss->bad_requests;
	log_info("sip: %u %s to %r from %J (%s)", scode, reason, &msg->met,
		 &msg->src, sip_transp_name(msg->tp));

	/* RFC 3261 8.2.6.1: never answer an ACK */
	if (!pl_strcmp(&msg->met, "ACK"))
		return true;

	(void)sip_reply(ss->sip, msg, scode, reason);
	return true;
}


static bool options_handler(const struct sip_msg *msg, void *arg)
{
	struct sipstack *ss = arg;

	if (pl_strcmp(&msg->met, "OPTIONS"))
		return false;

	/* RFC 3261 11.2: the same answer whoever the target is, so OPTIONS
	 * cannot tell which extensions exist. */
	(void)sip_replyf(ss->sip, msg, 200, "OK",
			 "Allow: REGISTER, OPTIONS, INVITE, ACK, CANCEL, BYE\r\n"
			 "Accept: application/sdp\r\n"
			 "Accept-Language: en\r\n"
			 "Content-Length: 0\r\n"
			 "\r\n");
	return true;
}


static void sip_exit_handler(void *arg)
{
	(void)arg;
}


static int add_tls(struct sipstack *ss, const struct config_listen *l)
{
	struct tls *tls = NULL;
	int err;

	err = tls_alloc(&tls, TLS_METHOD_SSLV23, l->cert, NULL);
	if (err) {
		log_error("sip: tls: cannot load certificate/key from %s: %m",
			  l->cert, err);
		return err;
	}

	if (l->ca) {
		err = tls_add_ca(tls, l->ca);
		if (err) {
			log_error("sip: tls: cannot load CA file %s: %m",
				  l->ca, err);
			goto out;
		}
	}

	/* LIBRARY-NOTES 1.6: libre's tls_set_verify_client() accepts any
	 * certificate; ask OpenSSL directly. */
	if (l->verify_client) {
		SSL_CTX_set_verify(tls_openssl_context(tls),
				   SSL_VERIFY_PEER |
				   SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}

	err = sip_transp_add(ss->sip, SIP_TRANSP_TLS, &l->addr, tls);

 out:
	mem_deref(tls);
	return err;
}


static void laddr_destructor(void *arg)
{
	struct laddr *la = arg;

	list_unlink(&la->le);
}


int sipstack_alloc(struct sipstack **ssp, const struct config *cfg)
{
	struct sipstack *ss;
	struct le *le;
	int err;

	ss = mem_zalloc(sizeof(*ss), sipstack_destructor);
	if (!ss)
		return ENOMEM;

	/* trunks named by a domain: RFC 3263 through libre (NAPTR, SRV
	 * and A, failing over across the SRV targets) */
	if (cfg->dns.n) {
		err = dnsc_alloc(&ss->dnsc, NULL, cfg->dns.servers,
				 cfg->dns.n);
	}
	else {
		struct sa srvv[4];
		uint32_t n = 4;
		char dom[64];

		if (dns_srv_get(dom, sizeof(dom), srvv, &n) || !n)
			n = 0;
		err = n ? dnsc_alloc(&ss->dnsc, NULL, srvv, n) : 0;
	}
	if (err)
		log_warn("sip: no DNS client (trunks need IP addresses): %m",
			 err);

	err = sip_alloc(&ss->sip, ss->dnsc, SIP_HASH_CTRANS, SIP_HASH_STRANS,
			SIP_HASH_CONN, "Switchboard/" SWITCHBOARD_VERSION,
			sip_exit_handler, ss);
	if (err)
		goto out;

	err = sipstack_set_domain(ss, cfg->domain);
	if (err)
		goto out;

	for (le = cfg->listens.head; le; le = le->next) {
		const struct config_listen *l = le->data;
		struct laddr *la;

		if (l->tp == SIP_TRANSP_TLS)
			err = add_tls(ss, l);
		else
			err = sip_transp_add(ss->sip, l->tp, &l->addr);
		if (err) {
			log_error("sip: cannot listen on %s %J: %m",
				  sip_transp_name(l->tp), &l->addr, err);
			goto out;
		}

		la = mem_zalloc(sizeof(*la), laddr_destructor);
		if (!la) {
			err = ENOMEM;
			goto out;
		}
		la->addr = l->addr;
		la->tp = l->tp;
		list_append(&ss->laddrs, &la->le, la);

		log_info("sip: listening on %s %J", sip_transp_name(l->tp),
			 &l->addr);
	}

	err  = sip_listen(&ss->lsnr_check, ss->sip, true, check_handler, ss);
	err |= sip_listen(&ss->lsnr_options, ss->sip, true, options_handler,
			  ss);

 out:
	if (err)
		mem_deref(ss);
	else
		*ssp = ss;

	return err;
}


struct dnsc *sipstack_dnsc(const struct sipstack *ss)
{
	return ss ? ss->dnsc : NULL;
}


struct sip *sipstack_sip(const struct sipstack *ss)
{
	return ss ? ss->sip : NULL;
}


const char *sipstack_domain(const struct sipstack *ss)
{
	return ss ? ss->domain : NULL;
}


int sipstack_set_domain(struct sipstack *ss, const char *domain)
{
	char *d = NULL;
	int err;

	err = str_dup(&d, domain);
	if (err)
		return err;

	mem_deref(ss->domain);
	ss->domain = d;
	return 0;
}


bool sipstack_is_local(const struct sipstack *ss, const struct pl *host)
{
	struct le *le;
	struct sa sa;

	if (!ss || !pl_isset(host))
		return false;

	if (!pl_strcasecmp(host, ss->domain))
		return true;

	if (sa_set(&sa, host, 0))
		return false;

	for (le = ss->laddrs.head; le; le = le->next) {
		const struct laddr *la = le->data;

		if (sa_cmp(&la->addr, &sa, SA_ADDR))
			return true;
	}

	return false;
}


uint64_t sipstack_bad_requests(const struct sipstack *ss)
{
	return ss ? ss->bad_requests : 0;
}


int sipstack_debug(struct re_printf *pf, const struct sipstack *ss)
{
	struct le *le;
	int err = 0;

	if (!ss)
		return 0;

	err |= re_hprintf(pf, "domain %s\n", ss->domain);
	for (le = ss->laddrs.head; le; le = le->next) {
		const struct laddr *la = le->data;

		err |= re_hprintf(pf, "listen %s %J\n",
				  sip_transp_name(la->tp), &la->addr);
	}

	return err;
}


unsigned sipstack_backlog(const struct sip_msg *msg)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);
	int fd;

	if (!msg || msg->tp != SIP_TRANSP_UDP || !msg->sock)
		return 0;

	fd = udp_sock_fd(msg->sock, sa_af(&msg->dst));
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &len) ||
	    len < sizeof(mi) || !mi[SK_MEMINFO_RCVBUF])
		return 0;

	return (unsigned)((uint64_t)mi[SK_MEMINFO_RMEM_ALLOC] * 1000 /
			  mi[SK_MEMINFO_RCVBUF]);
}
