/**
 * @file cdr.c  Call detail records: the bus subscriber and `ctl cdr`
 *
 * Each ended call is written in its own store_begin/store_commit group
 * right in the event handler; nothing is held back in memory. An idle
 * store commits it before the handler returns; under load it rides the
 * group commit, on disk within GROUP_WINDOW_MS (store_int.h).
 *
 * What callers put in their display name reaches the operator's terminal,
 * so the table and the trace replace control characters; the CSV quotes
 * them instead (RFC 4180 allows any byte inside quotes).
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include "core.h"
#include "events.h"
#include "store.h"
#include "cdr.h"


enum {
	CDR_DEFAULT_LIMIT = 50,
};

struct cdr {
	struct events_sub *sub;
	struct store *st;
	uint64_t written;
	uint64_t failed;
};


static uint64_t now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);

	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


static int write_row(struct store *st, const struct call_event *ce)
{
	int err;

	err = store_begin(st);
	if (err)
		return err;

	err = store_cdr_put(st, ce);
	if (err) {
		store_rollback(st);
		return err;
	}

	/* rolls back by itself on failure */
	return store_commit(st);
}


static void event_handler(enum event_type type, const void *payload,
			  void *arg)
{
	const struct call_event *ce = payload;
	struct cdr *cdr = arg;
	struct call_event e;
	int err;

	if (type != EVENT_CALL_ENDED || !ce)
		return;

	e = *ce;
	if (!e.end)
		e.end = now_ms();

	err = write_row(cdr->st, &e);
	if (err) {
		/* the log is the last place this call is recorded */
		++cdr->failed;
		log_error("%s: CDR not stored: %m (caller %s, destination %s,"
			  " callee %s, start %llu, answer %llu, end %llu,"
			  " cause %d, side %s)", e.id ? e.id : "(no id)", err,
			  e.caller, e.destination, e.callee,
			  (unsigned long long)e.start,
			  (unsigned long long)e.answer,
			  (unsigned long long)e.end, e.cause, e.hangup_side);
		return;
	}

	++cdr->written;
	log_debug("%s: CDR stored", e.id);
}


static void destructor(void *arg)
{
	struct cdr *cdr = arg;

	mem_deref(cdr->sub);
	mem_deref(cdr->st);
}


int cdr_alloc(struct cdr **cp, struct events *ev, struct store *st)
{
	struct cdr *cdr;
	int err;

	if (!cp || !ev || !st)
		return EINVAL;

	cdr = mem_zalloc(sizeof(*cdr), destructor);
	if (!cdr)
		return ENOMEM;

	cdr->st = mem_ref(st);

	err = events_subscribe(&cdr->sub, ev, 1u << EVENT_CALL_ENDED,
			       event_handler, cdr);
	if (err)
		goto out;

 out:
	if (err)
		mem_deref(cdr);
	else
		*cp = cdr;

	return err;
}


int cdr_debug(struct re_printf *pf, const struct cdr *cdr)
{
	if (!cdr)
		return 0;

	return re_hprintf(pf, "cdr: %llu written, %llu not stored\n",
			  (unsigned long long)cdr->written,
			  (unsigned long long)cdr->failed);
}


/* ---- ctl cdr ---- */

static bool is_unsafe(char c)
{
	return ((unsigned char)c < 0x20 && c != '\t') || c == 0x7f;
}


/* s with control characters shown as '?' */
static int print_clean(struct re_printf *pf, const char *s)
{
	const char *p;
	int err = 0;

	if (!s)
		return 0;

	while (*s && !err) {
		for (p = s; *p && !is_unsafe(*p); p++)
			;
		if (p > s)
			err = re_hprintf(pf, "%b", s, (size_t)(p - s));
		if (*p && !err)
			err = re_hprintf(pf, "?");
		s = *p ? p + 1 : p;
	}

	return err;
}


/* A table cell: at most width bytes, cut on a UTF-8 boundary and marked
 * with '~', control characters as '?' */
static const char *cell(char *buf, size_t width, const char *s)
{
	size_t n, i;

	if (!s || !*s)
		return "-";

	n = strlen(s);
	if (n > width) {
		n = width - 1;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			--n;
	}

	for (i = 0; i < n; i++)
		buf[i] = is_unsafe(s[i]) || s[i] == '\t' ? '?' : s[i];

	if (n < strlen(s))
		buf[i++] = '~';
	buf[i] = '\0';

	return buf;
}


/* Local time, "2024-05-01 14:03:22" or with iso "2024-05-01T14:03:22.123
 * +02:00" (RFC 3339 without the space) */
static const char *fmt_time(char *buf, size_t sz, uint64_t ms, bool iso)
{
	time_t t = (time_t)(ms / 1000);
	char date[32], zone[8];
	struct tm tm;

	if (!ms || !localtime_r(&t, &tm)) {
		buf[0] = '\0';
		return buf;
	}

	if (!iso) {
		(void)strftime(buf, sz, "%Y-%m-%d %H:%M:%S", &tm);
		return buf;
	}

	(void)strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	if (strftime(zone, sizeof(zone), "%z", &tm) != 5)
		str_ncpy(zone, "+0000", sizeof(zone));

	(void)re_snprintf(buf, sz, "%s.%03u%b:%s", date,
			  (unsigned)(ms % 1000), zone, (size_t)3, zone + 3);

	return buf;
}


static const char *cause_str(char *buf, size_t sz,
			     const struct cdr_row *row)
{
	if (row->cause_name)
		return row->cause_name;

	(void)re_snprintf(buf, sz, "%d", row->cause);

	return buf;
}


static int table_row_h(const struct cdr_row *row, void *arg)
{
	struct re_printf *pf = arg;
	char start[32], caller[16], dest[16], callee[20], side[8], cause[16];

	return re_hprintf(pf, "%-19s  %-14s %-14s %-18s %6llu.%llu %6llu.%llu"
			  "  %-6s  %s\n",
			  fmt_time(start, sizeof(start), row->start_ms, false),
			  cell(caller, 14, row->caller),
			  cell(dest, 14, row->destination),
			  cell(callee, 18, row->callee),
			  (unsigned long long)(row->duration_ms / 1000),
			  (unsigned long long)(row->duration_ms % 1000 / 100),
			  (unsigned long long)(row->billsec_ms / 1000),
			  (unsigned long long)(row->billsec_ms % 1000 / 100),
			  cell(side, 6, row->hangup_side),
			  cause_str(cause, sizeof(cause), row));
}


/* RFC 4180 2.6, 2.7: quoted if it holds a comma, quote or line break;
 * quotes inside doubled */
static int csv_field(struct re_printf *pf, const char *s, bool last)
{
	const char *p;
	int err;

	if (!s)
		s = "";

	if (!s[strcspn(s, ",\"\r\n")])
		return re_hprintf(pf, "%s%s", s, last ? "\r\n" : ",");

	err = re_hprintf(pf, "\"");
	while (!err && (p = strchr(s, '"'))) {
		err = re_hprintf(pf, "%b\"\"", s, (size_t)(p - s));
		s = p + 1;
	}
	if (!err)
		err = re_hprintf(pf, "%s\"%s", s, last ? "\r\n" : ",");

	return err;
}


static const char csv_header[] =
	"start,answer,end,call_id,caller,caller_name,destination,context,"
	"callee,duration_ms,billsec_ms,cause,cause_name,sip_code,"
	"hangup_side,legs\r\n";


static int csv_row_h(const struct cdr_row *row, void *arg)
{
	struct re_printf *pf = arg;
	char start[40], answer[40], end[40];
	char num[4][24];
	int err = 0;

	(void)re_snprintf(num[0], sizeof(num[0]), "%llu",
			  (unsigned long long)row->duration_ms);
	(void)re_snprintf(num[1], sizeof(num[1]), "%llu",
			  (unsigned long long)row->billsec_ms);
	(void)re_snprintf(num[2], sizeof(num[2]), "%d", row->cause);
	if (row->sip_code)
		(void)re_snprintf(num[3], sizeof(num[3]), "%u",
				  row->sip_code);
	else
		num[3][0] = '\0';

	if (!err) err = csv_field(pf, fmt_time(start, sizeof(start),
					      row->start_ms, true), false);
	if (!err) err = csv_field(pf, fmt_time(answer, sizeof(answer),
					      row->answer_ms, true), false);
	if (!err) err = csv_field(pf, fmt_time(end, sizeof(end),
					      row->end_ms, true), false);
	if (!err) err = csv_field(pf, row->call_id, false);
	if (!err) err = csv_field(pf, row->caller, false);
	if (!err) err = csv_field(pf, row->caller_name, false);
	if (!err) err = csv_field(pf, row->destination, false);
	if (!err) err = csv_field(pf, row->context, false);
	if (!err) err = csv_field(pf, row->callee, false);
	if (!err) err = csv_field(pf, num[0], false);
	if (!err) err = csv_field(pf, num[1], false);
	if (!err) err = csv_field(pf, num[2], false);
	if (!err) err = csv_field(pf, row->cause_name, false);
	if (!err) err = csv_field(pf, num[3], false);
	if (!err) err = csv_field(pf, row->hangup_side, false);
	if (!err) err = csv_field(pf, row->legs, true);

	return err;
}


/* Each line of a multi-line text, indented */
static int print_block(struct re_printf *pf, const char *title,
		       const char *text)
{
	const char *p, *nl;
	char *line;
	int err;

	err = re_hprintf(pf, "%s:\n", title);
	if (!text || !*text)
		return err ? err : re_hprintf(pf, "  (none)\n");

	for (p = text; *p && !err; p = nl ? nl + 1 : p + strlen(p)) {

		nl = strchr(p, '\n');
		err = re_sdprintf(&line, "%b", p,
				  nl ? (size_t)(nl - p) : strlen(p));
		if (err)
			break;

		err = re_hprintf(pf, "  ");
		if (!err)
			err = print_clean(pf, line);
		if (!err)
			err = re_hprintf(pf, "\n");
		mem_deref(line);
	}

	return err;
}


static int print_line(struct re_printf *pf, const char *label,
		      const char *value)
{
	int err = re_hprintf(pf, "%-12s", label);

	if (!err)
		err = print_clean(pf, value && *value ? value : "-");
	if (!err)
		err = re_hprintf(pf, "\n");

	return err;
}


static int trace_row_h(const struct cdr_row *row, void *arg)
{
	struct re_printf *pf = arg;
	char tbuf[40], cbuf[16];
	int err;

	err = print_line(pf, "call", row->call_id);
	if (!err) err = print_line(pf, "caller", row->caller);
	if (!err) err = print_line(pf, "caller name", row->caller_name);
	if (!err) err = print_line(pf, "destination", row->destination);
	if (!err) err = print_line(pf, "context", row->context);
	if (!err) err = print_line(pf, "callee", row->callee);
	if (!err) err = print_line(pf, "start", fmt_time(tbuf, sizeof(tbuf),
						row->start_ms, true));
	if (!err) err = print_line(pf, "answer", row->answer_ms
				   ? fmt_time(tbuf, sizeof(tbuf),
					      row->answer_ms, true)
				   : "not answered");
	if (!err) err = print_line(pf, "end", fmt_time(tbuf, sizeof(tbuf),
						row->end_ms, true));
	if (!err)
		err = re_hprintf(pf, "%-12s%llu.%03llu s, billable "
				 "%llu.%03llu s\n", "duration",
				 (unsigned long long)(row->duration_ms / 1000),
				 (unsigned long long)(row->duration_ms % 1000),
				 (unsigned long long)(row->billsec_ms / 1000),
				 (unsigned long long)(row->billsec_ms % 1000));
	if (!err)
		err = re_hprintf(pf, "%-12s%s (%d), SIP %u, hung up by ",
				 "cause", cause_str(cbuf, sizeof(cbuf), row),
				 row->cause, row->sip_code);
	if (!err)
		err = print_clean(pf, row->hangup_side ? row->hangup_side
				  : "?");
	if (!err)
		err = re_hprintf(pf, "\n");
	if (!err)
		err = print_block(pf, "legs", row->legs);
	if (!err)
		err = print_block(pf, "trace", row->trace);

	return err;
}


struct list_ctx {
	struct re_printf *pf;
	bool csv;
	unsigned n;
};


static int list_h(const struct cdr_row *row, void *arg)
{
	struct list_ctx *ctx = arg;
	int err = 0;

	if (!ctx->n++) {
		err = ctx->csv ? re_hprintf(ctx->pf, "%s", csv_header)
			: re_hprintf(ctx->pf, "%-19s  %-14s %-14s %-18s %8s "
				     "%8s  %-6s  %s\n", "START", "CALLER",
				     "DESTINATION", "CALLEE", "DURATION",
				     "BILLSEC", "SIDE", "CAUSE");
		if (err)
			return err;
	}

	return ctx->csv ? csv_row_h(row, ctx->pf) : table_row_h(row, ctx->pf);
}


static int trace_h(const struct cdr_row *row, void *arg)
{
	struct list_ctx *ctx = arg;
	int err = 0;

	/* a call id written twice (should not happen): show both */
	if (ctx->n++)
		err = re_hprintf(ctx->pf, "\n");

	return err ? err : trace_row_h(row, ctx->pf);
}


static int parse_limit(const char *s, uint32_t *limitp)
{
	unsigned long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return EINVAL;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return EINVAL;

	*limitp = (uint32_t)v;

	return 0;
}


static int usage(struct re_printf *pf, const char *why, const char *arg)
{
	(void)re_hprintf(pf, "cdr: %s%s%s\nusage: cdr [--csv] [--limit N] "
			 "(newest first, default %u, 0: all)\n"
			 "       cdr --trace CALL_ID\n", why,
			 arg ? " " : "", arg ? arg : "", CDR_DEFAULT_LIMIT);

	return EINVAL;
}


int cdr_print(struct re_printf *pf, struct store *st, int argc,
	      char *argv[])
{
	struct list_ctx ctx = {.pf = pf};
	uint32_t limit = CDR_DEFAULT_LIMIT;
	const char *trace = NULL;
	bool has_limit = false;
	int i, err;

	if (!pf || !st || argc < 1 || !argv)
		return EINVAL;

	for (i = 1; i < argc; i++) {

		if (!strcmp(argv[i], "--csv")) {
			ctx.csv = true;
		}
		else if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
			if (parse_limit(argv[++i], &limit))
				return usage(pf, "bad limit", argv[i]);
			has_limit = true;
		}
		else if (!strcmp(argv[i], "--trace") && i + 1 < argc) {
			trace = argv[++i];
		}
		else {
			return usage(pf, "unexpected", argv[i]);
		}
	}

	if (trace && (ctx.csv || has_limit))
		return usage(pf, "--trace takes no other option", NULL);

	if (trace) {
		err = store_cdr_get(st, trace, trace_h, &ctx);
		if (err == ENOENT)
			(void)re_hprintf(pf, "cdr: no call \"%s\"\n", trace);
		return err;
	}

	err = store_cdr_list(st, limit, list_h, &ctx);
	if (!err && !ctx.n && !ctx.csv)
		err = re_hprintf(pf, "no call records\n");
	else if (!err && !ctx.n)
		err = re_hprintf(pf, "%s", csv_header);

	return err;
}
