/**
 * @file vm_mail_int.h  Shared by the two halves of the voicemail mailer
 *
 * vm_mail.c runs the spool and the command; vm_mail_msg.c composes the
 * mail. Private to those two files.
 */
#ifndef SWITCH_VM_MAIL_INT_H
#define SWITCH_VM_MAIL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum {
	ADDR_MAX = 254,  /* RFC 5321 4.5.3.1.3 */
	NUM_MAX  = 64,   /* bytes of a caller's number, a mailbox */
};

/* A queued request, as vm_mail_queue() copied it */
struct req {
	struct req *next;
	char *to;            /* the strings live after the struct */
	char *mailbox;
	char *caller;        /* NULL if unknown */
	char *caller_name;   /* NULL if unknown */
	char *wav_path;
	uint64_t time_ms;
	uint64_t duration_ms;
};

/* Output for one spool file: errors are sticky, checked once at the end */
struct out {
	int fd;
	int err;
	size_t len;
	char buf[8192];
};

/** Now on clock id, in ms */
uint64_t vm_mail_clock_ms(clockid_t id);

/** 64 bits unique enough for spool names, boundaries and Message-IDs */
uint64_t vm_mail_rnd64(void);

/** src into dst[max + 1] as valid UTF-8 without controls, trimmed */
void vm_mail_clean_text(char *dst, size_t max, const char *src);

/** At most n bytes of src into dst[max + 1], printable ASCII only */
void vm_mail_clean_ascii(char *dst, size_t max, const char *src, size_t n);

/** Whether to is one bare address that cannot add a recipient */
bool vm_mail_valid_addr(const char *to);

/** Whether s is a From: value that is printable ASCII and fits the line */
bool vm_mail_valid_from(const char *s);

/** Write the whole mail for r, From: from, into o and flush it */
int  vm_mail_write(struct out *o, const char *from, const struct req *r,
		   const char *mailbox);

#endif
