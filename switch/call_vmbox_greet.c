/**
 * @file call_vmbox_greet.c  voicemail_check: recording the greetings
 *
 * The unavailable, busy and name greetings: a prompt, the beep, the
 * recording (until #, silence or GREETING_MAX_S) into NAME-new.wav, then
 * played back for review: kept (renamed over NAME.wav), heard again,
 * recorded again or cancelled. The key listener makes way for the
 * recording while it runs (one per leg).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "core.h"
#include "config.h"
#include "events.h"
#include "media.h"
#include "player.h"
#include "store.h"
#include "vm.h"
#include "call.h"
#include "call_int.h"
#include "call_vmbox.h"


void vb_record_greeting(struct vmbox *vb, const char *greet)
{
	vb->greet = greet;
	vb_say(vb, strcmp(greet, "greeting-name") ? "vm-record-greeting" :
	      "vm-record-name");
	vb_q_path(vb, "tone://1000,300,0,1");
	vb->st = VB_RECORD;
	vb_play(vb);
}


static void greeting_path(char *path, size_t sz, const struct vmbox *vb,
			  const char *suffix)
{
	(void)re_snprintf(path, sz, "%s/voicemail/%s/%s%s.wav",
			  vm_datadir(vb->vm), vb->box, vb->greet, suffix);
}


void vb_review_key(struct vmbox *vb, char key)
{
	char fresh[512], final[512];

	greeting_path(fresh, sizeof(fresh), vb, "-new");
	greeting_path(final, sizeof(final), vb, "");

	switch (key) {

	case '1':
		if (rename(fresh, final)) {
			log_warn("%s: voicemail %s: %s not kept: %m",
				 vb->call->id, vb->box, final, errno);
			vb_go(vb, VB_OPTS);
			break;
		}
		log_info("%s: voicemail %s: new %s", vb->call->id, vb->box,
			 vb->greet);
		vb_say(vb, "vm-recording-saved");
		vb_go(vb, VB_OPTS);
		break;

	case '2':
		vb_q_path(vb, fresh);
		vb_go(vb, VB_REVIEW);
		break;

	case '3':
		vb_record_greeting(vb, vb->greet);
		break;

	case '*':
		(void)unlink(fresh);
		vb_say(vb, "vm-cancelled");
		vb_go(vb, VB_OPTS);
		break;

	default:
		vb_go(vb, VB_REVIEW);
		break;
	}
}


static void greeting_recorded(int err, int64_t id, uint64_t ms, void *arg)
{
	struct vmbox *vb = arg;
	char fresh[512];
	(void)id;

	vb->rec = NULL;
	vb_keys_listen(vb);

	if (err) {
		if (err != ENODATA)
			log_warn("%s: voicemail %s: %s not recorded: %m",
				 vb->call->id, vb->box, vb->greet, err);
		vb_say(vb, "vm-not-recorded");
		vb_go(vb, VB_OPTS);
		return;
	}

	log_info("%s: voicemail %s: %s recorded (%llu ms), for review",
		 vb->call->id, vb->box, vb->greet, (unsigned long long)ms);
	greeting_path(fresh, sizeof(fresh), vb, "-new");
	vb_q_path(vb, fresh);
	vb_go(vb, VB_REVIEW);
}


void vb_record_start(struct vmbox *vb)
{
	char name[64];
	int err;

	vb_keys_stop(vb);
	(void)re_snprintf(name, sizeof(name), "%s-new.wav", vb->greet);
	err = vm_rec_file(&vb->rec, vb->vm, vb->call->a_ep, vb->box, name,
			  greeting_recorded, vb);
	if (err) {
		log_warn("%s: voicemail %s: cannot record: %m", vb->call->id,
			 vb->box, err);
		vb_keys_listen(vb);
		vb_say(vb, "vm-not-recorded");
		vb_go(vb, VB_OPTS);
		return;
	}
}


void vb_record_check(struct vmbox *vb)
{
	const struct config *cfg = vb->call->cfg;

	if (vm_rec_hash(vb->rec) ||
	    vm_rec_ms(vb->rec) >= GREETING_MAX_S * 1000ULL ||
	    vm_rec_silent_ms(vb->rec) >= cfg->voicemail.silence * 1000ULL)
		vm_rec_stop(vb->rec);   /* greeting_recorded follows */
}
