/**
 * @file media_bench.c  The media workers' cost per call, and their limit
 *
 * Drives the PBX's own media engine (switch/media*.c, the code the
 * daemon runs) from a generator in this process, on loopback:
 *
 *   raw PAIR SECONDS
 *       the codec calls one call of PAIR needs, in a tight loop: per 20 ms
 *       each direction decodes and encodes one frame (a-law <-> u-law: the
 *       table on both payloads). The limit the transcoder is held to.
 *   pipe PAIR WORKERS CALLS SECONDS
 *       CALLS bridged calls of PAIR on WORKERS media workers, both
 *       directions fed as fast as the workers take them (a bounded window
 *       in flight). Measures the packets the workers handled and the CPU
 *       time they used (process CPU minus the generator thread's).
 *   echo SECONDS
 *       a bare UDP echo loop (recvmmsg, sendmmsg) on one socket, fed the
 *       same way: the most a relay could do per CPU second here.
 *   rt PAIR WORKERS CALLS SECONDS
 *       CALLS calls of PAIR in real time (one packet every 20 ms each
 *       way, paced), every packet that comes out counted: the loss, and
 *       the most audio waiting in the workers' queues (backlog_ms).
 *
 * PAIR: relay (PCMU both legs), alaw-ulaw, opus-pcmu, g722-pcma.
 * Prints one JSON object on stdout. contrib/bench/transcode runs the
 * modes and makes the table.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <re.h>
#include "codec.h"
#include "g711x.h"
#include "media.h"

enum {
	FRAMES   = 50,          /* one second of 20 ms packets per payload */
	PKT_MAX  = 1500,
	WINDOW   = 32,          /* packets in flight per call direction  */
	MAX_CALLS = 4000,
};

struct pair {
	const char *name;
	const char *a, *b;      /* codec names of the two legs */
};

static const struct pair pairs[] = {
	{"relay",     "PCMU", "PCMU"},
	{"alaw-ulaw", "PCMA", "PCMU"},
	{"opus-pcmu", "opus", "PCMU"},
	{"g722-pcma", "G722", "PCMA"},
};

/* Pre-encoded packets of one leg's codec: FRAMES of a 1 kHz tone */
struct payloads {
	uint8_t pkt[FRAMES][PKT_MAX];
	size_t len[FRAMES];
};

struct side {
	int fd;                 /* the phone's socket */
	struct sockaddr_in to;  /* the PBX endpoint it sends to */
	struct media_ep *ep;
	uint32_t ssrc;
	uint16_t seq;
	uint32_t ts;
	uint32_t ts_step;
	uint8_t pt;
	const struct payloads *pl;
	uint64_t sent;
};

struct bcall {
	struct side s[2];
};


static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}


static double cpu_of(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}


static const struct pair *pair_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		if (!strcmp(pairs[i].name, name))
			return &pairs[i];
	}

	fprintf(stderr, "unknown pair %s (relay, alaw-ulaw, opus-pcmu, "
		"g722-pcma)\n", name);
	exit(2);
}


static void tone(int16_t *x, size_t n, unsigned rate, size_t off)
{
	size_t i;

	for (i = 0; i < n; i++)
		x[i] = (int16_t)(8000.0 * sin(2.0 * M_PI * 1000.0 *
					      (double)(off + i) / rate));
}


static void encode_payloads(struct payloads *pl, const struct codec *c)
{
	struct codec_enc *enc = NULL;
	int16_t pcm[960];
	size_t f, n = codec_frame(c);

	if (c->enc_alloc(&enc, NULL, 0)) {
		fprintf(stderr, "%s: no encoder\n", c->name);
		exit(1);
	}

	for (f = 0; f < FRAMES; f++) {
		pl->len[f] = PKT_MAX - 12;
		tone(pcm, n, c->srate, f * n);
		if (c->encode(enc, pl->pkt[f] + 12, &pl->len[f], pcm, n)) {
			fprintf(stderr, "%s: encode failed\n", c->name);
			exit(1);
		}
		pl->len[f] += 12;
	}

	c->enc_free(enc);
}


/* ---- raw: the codec calls of one call, in a tight loop ---- */

static double raw_call_cost(const struct pair *p, double seconds)
{
	const struct codec *ca = codec_find(p->a), *cb = codec_find(p->b);
	struct payloads *pa = calloc(1, sizeof(*pa));
	struct payloads *pb = calloc(1, sizeof(*pb));
	struct codec_dec *da = NULL, *db = NULL;
	struct codec_enc *ea = NULL, *eb = NULL;
	uint32_t ra, rb;
	double t0, t1;
	uint64_t calls = 0;
	int16_t pcm[5760];
	uint8_t out[PKT_MAX];

	encode_payloads(pa, ca);
	encode_payloads(pb, cb);

	/* the rates the transcoder picks (media_xcode.c) */
	ra = ca->any_rate ? codec_rate_for(ca, cb->srate) : ca->srate;
	rb = cb->any_rate ? codec_rate_for(cb, ra) : cb->srate;
	if (ca->dec_alloc(&da, NULL, ra) || cb->enc_alloc(&eb, NULL, rb) ||
	    cb->dec_alloc(&db, NULL, rb) || ca->enc_alloc(&ea, NULL, ra)) {
		fprintf(stderr, "codec set-up failed\n");
		exit(1);
	}

	t0 = cpu_of(RUSAGE_THREAD);
	do {
		size_t f;

		for (f = 0; f < FRAMES; f++) {
			size_t n = sizeof(pcm) / sizeof(pcm[0]), len;

			if (!strcmp(p->name, "alaw-ulaw")) {
				g711x_alaw_to_ulaw(out, pa->pkt[f] + 12,
						   pa->len[f] - 12);
				g711x_ulaw_to_alaw(out, pb->pkt[f] + 12,
						   pb->len[f] - 12);
				continue;
			}

			/* a -> b (rates equal except G.722 <-> G.711, where
			 * the resampler's cost is left out: it is ours) */
			(void)ca->decode(da, pcm, &n, pa->pkt[f] + 12,
					 pa->len[f] - 12);
			len = sizeof(out);
			(void)cb->encode(eb, out, &len, pcm,
					 rb * CODEC_PTIME_MS / 1000);
			n = sizeof(pcm) / sizeof(pcm[0]);
			(void)cb->decode(db, pcm, &n, pb->pkt[f] + 12,
					 pb->len[f] - 12);
			len = sizeof(out);
			(void)ca->encode(ea, out, &len, pcm,
					 ra * CODEC_PTIME_MS / 1000);
		}
		++calls;
		t1 = cpu_of(RUSAGE_THREAD);
	} while (t1 - t0 < seconds);

	ca->dec_free(da);
	cb->dec_free(db);
	ca->enc_free(ea);
	cb->enc_free(eb);
	free(pa);
	free(pb);

	/* CPU seconds per call-second */
	return (t1 - t0) / (double)calls;
}


/* ---- the calls through the media engine ---- */

/* a socket on 127.0.0.1, any port; rcvbuf bytes of receive buffer
 * (0: the kernel's default) */
static int udp_socket(struct sockaddr_in *bound, int rcvbuf)
{
	socklen_t sl = sizeof(*bound);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	memset(bound, 0, sizeof(*bound));
	bound->sin_family = AF_INET;
	bound->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)bound, sizeof(*bound)) ||
	    getsockname(fd, (struct sockaddr *)bound, &sl)) {
		perror("socket");
		exit(1);
	}
	if (rcvbuf)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				 sizeof(rcvbuf));

	return fd;
}


static void side_send(struct side *s)
{
	const uint8_t *src = s->pl->pkt[s->sent % FRAMES];
	size_t len = s->pl->len[s->sent % FRAMES];
	uint8_t p[PKT_MAX];

	memcpy(p, src, len);
	p[0] = 0x80;
	p[1] = s->pt;
	p[2] = (uint8_t)(s->seq >> 8);
	p[3] = (uint8_t)s->seq;
	p[4] = (uint8_t)(s->ts >> 24);
	p[5] = (uint8_t)(s->ts >> 16);
	p[6] = (uint8_t)(s->ts >> 8);
	p[7] = (uint8_t)s->ts;
	p[8] = (uint8_t)(s->ssrc >> 24);
	p[9] = (uint8_t)(s->ssrc >> 16);
	p[10] = (uint8_t)(s->ssrc >> 8);
	p[11] = (uint8_t)s->ssrc;
	(void)sendto(s->fd, p, len, 0, (struct sockaddr *)&s->to,
		     sizeof(s->to));
	++s->seq;
	s->ts += s->ts_step;
	++s->sent;
}


static void calls_setup(struct bcall *calls, unsigned n,
			const struct pair *p, struct payloads *pla,
			struct payloads *plb)
{
	const struct codec *c[2] = {codec_find(p->a), codec_find(p->b)};
	struct payloads *pl[2] = {pla, plb};
	struct sa ip;
	unsigned i, k;

	sa_set_str(&ip, "127.0.0.1", 0);

	for (i = 0; i < n; i++) {
		struct bcall *bc = &calls[i];

		for (k = 0; k < 2; k++) {
			struct side *s = &bc->s[k];
			struct media_codec mc;
			struct sockaddr_in me;
			struct sa remote;
			int err;

			s->fd = udp_socket(&me, 0);
			err = media_ep_alloc(&s->ep, k ? bc->s[0].ep : NULL,
					     &ip, 20000, 60000);
			if (err) {
				fprintf(stderr, "endpoint %u: %s\n", i,
					strerror(err));
				exit(1);
			}
			memcpy(&s->to, &media_ep_local(s->ep)->u.in,
			       sizeof(s->to));
			sa_set_in(&remote, ntohl(me.sin_addr.s_addr),
				  ntohs(me.sin_port));
			media_ep_set_remote(s->ep, &remote);

			memset(&mc, 0, sizeof(mc));
			mc.codec = c[k];
			mc.pt = c[k]->pt == CODEC_PT_DYNAMIC ? 111 : c[k]->pt;
			mc.te_pt = 101;
			mc.te_clock = 8000;
			media_ep_set_codec(s->ep, &mc);

			s->ssrc = rand_u32();
			s->seq = rand_u16();
			s->ts = rand_u32();
			s->ts_step = codec_ts_step(c[k]);
			s->pt = mc.pt;
			s->pl = pl[k];
		}
		media_ep_bridge(bc->s[0].ep, bc->s[1].ep);
	}
}


static void calls_free(struct bcall *calls, unsigned n)
{
	unsigned i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < 2; k++) {
			mem_deref(calls[i].s[k].ep);
			close(calls[i].s[k].fd);
		}
	}
}


static uint64_t rx_of(const struct side *s)
{
	struct media_stats st;

	media_ep_stats(s->ep, &st);
	return st.rx_packets;
}


static int pipe_mode(const struct pair *p, unsigned workers, unsigned n,
		     double seconds)
{
	struct payloads *pla = calloc(1, sizeof(*pla));
	struct payloads *plb = calloc(1, sizeof(*plb));
	struct bcall *calls = calloc(n, sizeof(*calls));
	double t0, c0, g0, t1, c1, g1, wcpu;
	uint64_t rx0 = 0, rx1 = 0, tx = 0;
	unsigned i, k;

	encode_payloads(pla, codec_find(p->a));
	encode_payloads(plb, codec_find(p->b));

	if (media_start(workers)) {
		fprintf(stderr, "media_start failed\n");
		return 1;
	}
	calls_setup(calls, n, p, pla, plb);
	usleep(200000);        /* the commands are taken */

	/* warm-up: a window each, so latches and transcoders are set */
	for (i = 0; i < n; i++)
		for (k = 0; k < 2; k++)
			side_send(&calls[i].s[k]);
	usleep(200000);
	for (i = 0; i < n; i++)
		for (k = 0; k < 2; k++)
			rx0 += rx_of(&calls[i].s[k]);

	t0 = now_s();
	c0 = cpu_of(RUSAGE_SELF);
	g0 = cpu_of(RUSAGE_THREAD);

	while (now_s() - t0 < seconds) {
		for (i = 0; i < n; i++) {
			for (k = 0; k < 2; k++) {
				struct side *s = &calls[i].s[k];
				uint64_t done = rx_of(s);

				/* keep up to WINDOW in flight */
				while (s->sent < done + WINDOW)
					side_send(s);
			}
		}
	}

	g1 = cpu_of(RUSAGE_THREAD);
	c1 = cpu_of(RUSAGE_SELF);
	t1 = now_s();
	for (i = 0; i < n; i++) {
		for (k = 0; k < 2; k++) {
			struct media_stats st;

			media_ep_stats(calls[i].s[k].ep, &st);
			rx1 += st.rx_packets;
			tx += st.tx_packets;
		}
	}

	wcpu = (c1 - c0) - (g1 - g0);
	printf("{\"mode\":\"pipe\",\"pair\":\"%s\",\"workers\":%u,"
	       "\"calls\":%u,\"seconds\":%.3f,\"packets\":%llu,"
	       "\"out_packets\":%llu,\"worker_cpu\":%.3f,"
	       "\"generator_cpu\":%.3f,\"pps\":%.0f,\"pps_per_cpu\":%.0f,"
	       "\"calls_per_core\":%.0f}\n",
	       p->name, workers, n, t1 - t0,
	       (unsigned long long)(rx1 - rx0), (unsigned long long)tx,
	       wcpu, g1 - g0, (double)(rx1 - rx0) / (t1 - t0),
	       (double)(rx1 - rx0) / wcpu,
	       /* a call is 100 packets a second, 50 each way */
	       (double)(rx1 - rx0) / wcpu / 100.0);

	calls_free(calls, n);
	media_stop();
	free(calls);
	free(pla);
	free(plb);
	return 0;
}


/* ---- a bare UDP echo loop, the same way fed ---- */

struct echo {
	int fd, sink;
	struct sockaddr_in sink_addr;
	volatile bool stop;
	uint64_t packets;
	double cpu;
};


static void *echo_main(void *arg)
{
	struct echo *e = arg;
	static uint8_t buf[32][PKT_MAX];
	struct mmsghdr msg[32], out[32];
	struct iovec iov[32], oiov[32];
	double c0 = cpu_of(RUSAGE_THREAD);
	int i;

	memset(msg, 0, sizeof(msg));
	memset(out, 0, sizeof(out));
	for (i = 0; i < 32; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = PKT_MAX;
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
		out[i].msg_hdr.msg_iov = &oiov[i];
		out[i].msg_hdr.msg_iovlen = 1;
		out[i].msg_hdr.msg_name = &e->sink_addr;
		out[i].msg_hdr.msg_namelen = sizeof(e->sink_addr);
	}

	while (!e->stop) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		int n = recvmmsg(e->fd, msg, 32, MSG_WAITFORONE, &ts);

		if (n <= 0)
			continue;
		for (i = 0; i < n; i++) {
			oiov[i].iov_base = buf[i];
			oiov[i].iov_len = msg[i].msg_len;
		}
		(void)sendmmsg(e->fd, out, (unsigned)n, MSG_DONTWAIT);
		__atomic_add_fetch(&e->packets, (uint64_t)n,
				   __ATOMIC_RELEASE);
	}

	e->cpu = cpu_of(RUSAGE_THREAD) - c0;
	return NULL;
}


static int echo_mode(double seconds)
{
	struct payloads *pl = calloc(1, sizeof(*pl));
	struct sockaddr_in a, me;
	struct echo e;
	struct side s;
	pthread_t tid;
	double t0;
	uint64_t n;
	struct timeval tv = {0, 200000};

	memset(&e, 0, sizeof(e));
	memset(&s, 0, sizeof(s));
	encode_payloads(pl, codec_find("PCMU"));
	e.fd = udp_socket(&a, 256 * 1024);   /* as the PBX's RTP sockets */
	e.sink = udp_socket(&e.sink_addr, 0);
	s.fd = udp_socket(&me, 0);
	s.to = a;
	s.pl = pl;
	s.ts_step = 160;
	(void)setsockopt(e.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	pthread_create(&tid, NULL, echo_main, &e);

	t0 = now_s();
	while (now_s() - t0 < seconds) {
		uint64_t done = __atomic_load_n(&e.packets, __ATOMIC_ACQUIRE);

		while (s.sent < done + WINDOW)
			side_send(&s);
	}
	e.stop = true;
	pthread_join(tid, NULL);
	n = e.packets;

	printf("{\"mode\":\"echo\",\"seconds\":%.3f,\"packets\":%llu,"
	       "\"cpu\":%.3f,\"pps\":%.0f,\"pps_per_cpu\":%.0f}\n",
	       now_s() - t0, (unsigned long long)n, e.cpu,
	       (double)n / (now_s() - t0), (double)n / e.cpu);
	close(e.fd);
	close(e.sink);
	close(s.fd);
	free(pl);
	return 0;
}


/* ---- loss: relayed calls in real time ---- */

/* what waits on fd, read 32 at a time; how many */
static uint64_t drain(int fd)
{
	static uint8_t buf[32][PKT_MAX];
	static struct mmsghdr msg[32];
	static struct iovec iov[32];
	uint64_t n = 0;
	int i, r;

	if (!msg[0].msg_hdr.msg_iov) {
		for (i = 0; i < 32; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = PKT_MAX;
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
		}
	}

	while ((r = recvmmsg(fd, msg, 32, MSG_DONTWAIT, NULL)) > 0)
		n += (uint64_t)r;

	return n;
}

static int rt_mode(const struct pair *p, unsigned workers, unsigned n,
		   double seconds)
{
	struct payloads *pla = calloc(1, sizeof(*pla));
	struct payloads *plb = calloc(1, sizeof(*plb));
	struct bcall *calls = calloc(n, sizeof(*calls));
	uint64_t sent = 0, got = 0, lost = 0;
	uint64_t ticks, tick;
	double t0, c0, c1, backlog_max = 0;
	unsigned i, k;

	encode_payloads(pla, codec_find(p->a));
	encode_payloads(plb, codec_find(p->b));
	if (media_start(workers))
		return 1;
	calls_setup(calls, n, p, pla, plb);
	usleep(300000);

	ticks = (uint64_t)(seconds * 50);
	t0 = now_s();
	c0 = cpu_of(RUSAGE_SELF);

	for (tick = 0; tick < ticks; tick++) {
		double due = t0 + (double)tick * 0.02, wait;

		/* what came out so far: drain every phone's socket */
		for (i = 0; i < n; i++)
			for (k = 0; k < 2; k++)
				got += drain(calls[i].s[k].fd);

		/* packets in the workers' queues, in ms of audio per
		 * direction (after the first second) */
		if (tick >= 50 && sent > got) {
			double b = (double)(sent - got) / (2.0 * n) * 20.0;

			if (b > backlog_max)
				backlog_max = b;
		}

		wait = due - now_s();
		if (wait > 0)
			usleep((useconds_t)(wait * 1e6));

		for (i = 0; i < n; i++)
			for (k = 0; k < 2; k++) {
				side_send(&calls[i].s[k]);
				++sent;
			}
	}

	usleep(300000);
	for (i = 0; i < n; i++)
		for (k = 0; k < 2; k++)
			got += drain(calls[i].s[k].fd);
	c1 = cpu_of(RUSAGE_SELF);

	for (i = 0; i < n; i++)
		for (k = 0; k < 2; k++) {
			struct media_stats st;

			media_ep_stats(calls[i].s[k].ep, &st);
			lost += st.lost;
		}

	printf("{\"mode\":\"rt\",\"pair\":\"%s\",\"workers\":%u,"
	       "\"calls\":%u,\"seconds\":%.3f,\"sent\":%llu,"
	       "\"received\":%llu,\"loss_pct\":%.4f,\"backlog_ms\":%.1f,"
	       "\"late_s\":%.3f,\"process_cpu\":%.3f}\n",
	       p->name, workers, n, now_s() - t0, (unsigned long long)sent,
	       (unsigned long long)got, sent ? 100.0 * (double)(sent - (got < sent ? got : sent)) /
	       (double)sent : 0.0, backlog_max,
	       now_s() - t0 - seconds, c1 - c0);
	(void)lost;

	calls_free(calls, n);
	media_stop();
	free(calls);
	free(pla);
	free(plb);
	return 0;
}


int main(int argc, char *argv[])
{
	int r = 2;

	if (argc < 2)
		goto usage;

	/* six descriptors a call: four of the PBX, two phones */
	{
		struct rlimit rl;

		if (!getrlimit(RLIMIT_NOFILE, &rl)) {
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
	}

	libre_init();
	g711x_init();

	if (!strcmp(argv[1], "raw") && argc == 4) {
		const struct pair *p = pair_find(argv[2]);
		double cost = raw_call_cost(p, atof(argv[3]));

		printf("{\"mode\":\"raw\",\"pair\":\"%s\",\"cpu_per_call\":"
		       "%.9f,\"calls_per_core\":%.0f}\n", p->name, cost,
		       1.0 / cost);
		r = 0;
	}
	else if (!strcmp(argv[1], "pipe") && argc == 6) {
		unsigned n = (unsigned)atoi(argv[4]);

		if (n < 1 || n > MAX_CALLS)
			goto usage;
		r = pipe_mode(pair_find(argv[2]), (unsigned)atoi(argv[3]), n,
			      atof(argv[5]));
	}
	else if (!strcmp(argv[1], "echo") && argc == 3) {
		r = echo_mode(atof(argv[2]));
	}
	else if (!strcmp(argv[1], "rt") && argc == 6) {
		unsigned n = (unsigned)atoi(argv[4]);

		if (n < 1 || n > MAX_CALLS)
			goto usage;
		r = rt_mode(pair_find(argv[2]), (unsigned)atoi(argv[3]), n,
			    atof(argv[5]));
	}
	else {
		goto usage;
	}

	libre_close();
	return r;

 usage:
	fprintf(stderr, "usage: media_bench raw PAIR SECONDS\n"
		"       media_bench pipe PAIR WORKERS CALLS SECONDS\n"
		"       media_bench echo SECONDS\n"
		"       media_bench rt PAIR WORKERS CALLS SECONDS\n"
		"PAIR: relay alaw-ulaw opus-pcmu g722-pcma\n");
	return 2;
}
