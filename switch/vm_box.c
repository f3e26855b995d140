/**
 * @file vm_box.c  Voicemail: a mailbox's owner (messages, PINs)
 *
 * What the owner's menu (call_vmbox.c) does to a mailbox: the messages
 * listed, marked heard, saved or deleted (each change calls the change
 * handler: the lamp), and the PIN checked, changed, and locked after
 * too many wrong ones. All on the signalling thread.
 */
#include <errno.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "core.h"
#include "store.h"
#include "vm.h"
#include "vm_int.h"

enum {
	PIN_FAILS      = 5,            /* wrong PINs for a mailbox ...  */
	PIN_WINDOW_MS  = 15 * 60000,   /* ... within this lock it ...   */
	PIN_LOCK_MS    = 15 * 60000,   /* ... for this long             */
};

/* Wrong PINs of one mailbox (bounded: only mailboxes of the directory
 * are counted) */
struct pinlock {
	struct le he;
	char *mailbox;
	uint32_t fails;
	uint64_t first_ms, until_ms;
};



int vm_box_init(struct vm *vm)
{
	return hash_alloc(&vm->pinlocks, 64);
}


void vm_box_close(struct vm *vm)
{
	hash_flush(vm->pinlocks);
	vm->pinlocks = mem_deref(vm->pinlocks);
}


int vm_list(struct vm *vm, const char *mailbox,
	    int (*h)(const struct vm_msg *m, void *arg), void *arg)
{
	return vm ? store_vm_list(vm->st, mailbox, h, arg) : EINVAL;
}


static void changed(struct vm *vm, const char *mailbox)
{
	if (vm->changeh)
		vm->changeh(mailbox, vm->change_arg);
}


int vm_set(struct vm *vm, const char *mailbox, int64_t id,
	   const char *folder, bool heard)
{
	int err;

	if (!vm || !mailbox)
		return EINVAL;

	err = store_begin(vm->st);
	if (err)
		return err;

	err = store_vm_set(vm->st, id, folder, heard);
	if (err) {
		store_rollback(vm->st);
		return err;
	}

	err = store_commit(vm->st);
	if (!err)
		changed(vm, mailbox);

	return err;
}


/* The file goes once the row's removal is on disk: a crash between
 * the two leaves a file nobody points to, never a row without its
 * file */
static void unlink_durable(int err, void *arg)
{
	const char *path = arg;

	if (err) {
		log_warn("voicemail: %s kept: its row may be back (%m)",
			 path, err);
		return;
	}

	if (unlink(path) && errno != ENOENT)
		log_warn("voicemail: cannot remove %s: %m", path, errno);
}


int vm_delete(struct vm *vm, const char *mailbox, int64_t id,
	      const char *file)
{
	char *path = NULL;
	int err;

	if (!vm || !mailbox || !file)
		return EINVAL;

	err = re_sdprintf(&path, "%s/%s", vm->datadir, file);
	if (err)
		return err;

	err = store_begin(vm->st);
	if (err)
		goto out;

	err = store_vm_delete(vm->st, id);
	if (err) {
		store_rollback(vm->st);
		goto out;
	}

	err = store_commit(vm->st);
	if (err)
		goto out;

	err = store_when_durable(vm->st, unlink_durable, path);
	changed(vm, mailbox);

 out:
	mem_deref(path);
	return err;
}


/* ---- PINs ---- */

static int pin_hash(char hex[65], const char *salt, const char *mailbox,
		    const char *pin)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0, i;
	char buf[256];
	int n;

	n = re_snprintf(buf, sizeof(buf), "%s:%s:%s", salt, mailbox, pin);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return EINVAL;

	if (!EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32)
		return EPROTO;
	OPENSSL_cleanse(buf, sizeof(buf));

	for (i = 0; i < mdlen; i++)
		(void)re_snprintf(hex + 2 * i, 3, "%02x", md[i]);

	return 0;
}


int vm_pin_check(struct vm *vm, const char *mailbox, const char *dir_pin,
		 const char *pin)
{
	char *salt = NULL, *hash = NULL;
	char hex[65];
	int err;

	if (!vm || !mailbox || !pin)
		return EINVAL;

	err = store_vm_pin_get(vm->st, mailbox, &salt, &hash);
	if (err == ENOENT) {
		size_t a, b;

		/* the directory's; compared in constant time */
		if (!dir_pin)
			return ENOENT;
		a = strlen(dir_pin);
		b = strlen(pin);
		return a == b && !CRYPTO_memcmp(dir_pin, pin, a) ? 0 :
			EACCES;
	}
	if (err)
		return err;

	err = pin_hash(hex, salt, mailbox, pin);
	if (!err && (strlen(hash) != 64 || CRYPTO_memcmp(hex, hash, 64)))
		err = EACCES;

	mem_deref(salt);
	mem_deref(hash);
	return err;
}


bool vm_pin_exists(struct vm *vm, const char *mailbox, const char *dir_pin)
{
	char *salt = NULL, *hash = NULL;
	int err;

	if (dir_pin || !vm || !mailbox)
		return true;

	err = store_vm_pin_get(vm->st, mailbox, &salt, &hash);
	mem_deref(salt);
	mem_deref(hash);

	return err != ENOENT;
}


int vm_pin_set(struct vm *vm, const char *mailbox, const char *pin)
{
	char salt[33], hex[65];
	int err;

	if (!vm || !mailbox || !pin)
		return EINVAL;

	(void)re_snprintf(salt, sizeof(salt), "%08x%08x%08x%08x", rand_u32(),
			  rand_u32(), rand_u32(), rand_u32());
	err = pin_hash(hex, salt, mailbox, pin);
	if (err)
		return err;

	err = store_begin(vm->st);
	if (err)
		return err;

	err = store_vm_pin_set(vm->st, mailbox, salt, hex);
	if (err) {
		store_rollback(vm->st);
		return err;
	}

	return store_commit(vm->st);
}


static bool pinlock_cmp(struct le *le, void *arg)
{
	const struct pinlock *pl = le->data;

	return !strcmp(pl->mailbox, arg);
}


static struct pinlock *pinlock_find(struct vm *vm, const char *mailbox)
{
	return list_ledata(hash_lookup(vm->pinlocks,
				       hash_joaat_str(mailbox),
				       pinlock_cmp, (void *)mailbox));
}


static void pinlock_destructor(void *arg)
{
	struct pinlock *pl = arg;

	hash_unlink(&pl->he);
	mem_deref(pl->mailbox);
}


bool vm_pin_locked(struct vm *vm, const char *mailbox, uint64_t now_ms)
{
	const struct pinlock *pl = vm ? pinlock_find(vm, mailbox) : NULL;

	return pl && pl->until_ms > now_ms;
}


void vm_pin_failed(struct vm *vm, const char *mailbox, const char *from,
		   uint64_t now_ms)
{
	struct pinlock *pl;

	if (!vm || !mailbox)
		return;

	pl = pinlock_find(vm, mailbox);
	if (!pl) {
		pl = mem_zalloc(sizeof(*pl), pinlock_destructor);
		if (!pl || str_dup(&pl->mailbox, mailbox)) {
			mem_deref(pl);
			return;
		}
		hash_append(vm->pinlocks, hash_joaat_str(mailbox), &pl->he,
			    pl);
	}

	if (pl->until_ms > now_ms)
		return;                   /* locked already */

	if (!pl->fails || now_ms - pl->first_ms > PIN_WINDOW_MS) {
		pl->fails = 0;
		pl->first_ms = now_ms;
	}

	if (++pl->fails < PIN_FAILS)
		return;

	pl->until_ms = now_ms + PIN_LOCK_MS;
	pl->fails = 0;
	log_warn("voicemail %s: locked for %u s after %u wrong PINs"
		 " (the last from %s)", mailbox, PIN_LOCK_MS / 1000,
		 PIN_FAILS, from ? from : "?");
}


void vm_pin_ok(struct vm *vm, const char *mailbox)
{
	struct pinlock *pl = vm ? pinlock_find(vm, mailbox) : NULL;

	if (pl && !pl->until_ms)
		mem_deref(pl);
}
