/*
 * ec2backup doctor: before the first night, everything a run will need,
 * tried for real but changing nothing.  The describes the run makes were
 * made already (that proves the credentials, the region and the volumes);
 * CreateSnapshot (with the very tags a run sends, so that tag-conditioned
 * IAM policies are tried too), DeleteSnapshot and DescribeImages are sent
 * with DryRun=true.  Each check is one line: ok, warning (a run works, but
 * look) or problem (a run would fail), with what to do.
 */
#include <json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitcode.h"
#include "lock.h"
#include "log.h"
#include "report.h"
#include "run_private.h"
#include "text.h"

enum verdict { OK, WARNING, PROBLEM };

struct doctor {
	json_object *checks;       /* for -o json, else NULL */
	size_t count[3];
};

static const char *const verdicts[] = { "ok", "warning", "problem" };

static void say(struct doctor *d, enum verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(struct doctor *d, enum verdict v, const char *fmt, ...)
{
	char msg[1024], safe[sizeof(msg) * TEXT_ESCAPE_GROWTH];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->count[v]++;
	if (d->checks != NULL) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "result",
		    json_object_new_string(verdicts[v]));
		json_object_object_add(o, "check", json_object_new_string(msg));
		json_object_array_add(d->checks, o);
		return;
	}
	text_escape(msg, safe, sizeof(safe));
	printf("%-8s %s\n", verdicts[v], safe);
}

static void
check_clock(struct doctor *d, const struct region *g)
{
	int64_t skew;

	if (ec2_clock_skew(g->ec2, &skew) != 0) {
		say(d, WARNING, "clock: EC2 sent no Date header to compare "
		    "this machine's clock with");
		return;
	}
	if (skew < 0)
		skew = -skew;
	if (skew > 240)
		say(d, PROBLEM, "clock: %lld s from EC2's; EC2 refuses requests "
		    "more than 5 minutes off: synchronise the clock (NTP)",
		    (long long)skew);
	else if (skew > 30)
		say(d, WARNING, "clock: %lld s from EC2's; synchronise it (NTP) "
		    "before it drifts further", (long long)skew);
	else
		say(d, OK, "clock: within %lld s of EC2's", (long long)skew);
}

static void
check_volumes(struct doctor *d, const struct policy_state *s)
{
	const struct policy *p = s->p;
	const char *kind = p->resource == POLICY_INSTANCES ? "instance" :
	    "volume";
	size_t found = 0;

	for (size_t v = 0; v < p->ninstances; v++) {
		const struct inv_volume *iv = inventory_find(s->r->inv,
		    p->instances[v].id);
		if (iv == NULL || iv->unchecked)
			say(d, PROBLEM, "policy %s: %s: could not check whether "
			    "it exists (see the errors above)", p->name,
			    p->instances[v].id);
		else if (!iv->exists)
			say(d, PROBLEM, "policy %s: %s: instance not found in "
			    "%s (or terminated); fix the id, or take it out of "
			    "the policy", p->name, p->instances[v].id,
			    s->r->name);
		else {
			found++;
			say(d, OK, "policy %s: %s: %s, %zu EBS volume%s "
			    "attached", p->name, iv->id, iv->state != NULL ?
			    iv->state : "?", iv->nattached, iv->nattached == 1 ?
			    "" : "s");
		}
	}
	for (size_t v = 0; v < p->nvolumes; v++) {
		const struct inv_volume *iv = inventory_find(s->r->inv,
		    p->volumes[v].id);
		if (iv == NULL || iv->unchecked)
			say(d, PROBLEM, "policy %s: %s: could not check whether "
			    "it exists (see the errors above)", p->name,
			    p->volumes[v].id);
		else if (!iv->exists)
			say(d, PROBLEM, "policy %s: %s: volume not found in %s; "
			    "fix the id, or take it out of the policy", p->name,
			    p->volumes[v].id, s->r->name);
		else
			found++;
	}
	if (p->nvolumes > 0 && found == p->nvolumes)
		say(d, OK, "policy %s: the %zu volume%s listed by id exist%s",
		    p->name, found, found == 1 ? "" : "s", found == 1 ? "s" :
		    "");
	if (p->nselect_tags > 0) {
		char tags[512];
		size_t len = 0;
		for (size_t t = 0; t < p->nselect_tags && len < sizeof(tags);
		    t++)
			len += (size_t)snprintf(tags + len, sizeof(tags) - len,
			    "%s%s=%s", t ? ", " : "", p->select_tags[t].key,
			    p->select_tags[t].value);
		if (s->select_failed)
			say(d, PROBLEM, "policy %s: select %s: the %ss could "
			    "not be listed (see the errors above)", p->name,
			    tags, kind);
		else if (s->nselected == 0)
			say(d, WARNING, "policy %s: select %s matches no %s; "
			    "tags must match exactly, case included", p->name,
			    tags, kind);
		else
			say(d, OK, "policy %s: select %s matches %zu %s%s",
			    p->name, tags, s->nselected, kind,
			    s->nselected == 1 ? "" : "s");
	}
}

/* A volume of the policy that exists, and a snapshot it owns, if any. */
static void
pick(const struct policy_state *s, const struct plan_input *in, size_t n,
    const struct inv_volume **vol, const struct inv_snapshot **owned,
    const struct inv_snapshot **untagged)
{
	*vol = NULL;
	*owned = *untagged = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct inv_volume *iv = in[i].volume;
		if (iv == NULL || !iv->exists)
			continue;
		if (*vol == NULL)
			*vol = iv;
		for (size_t k = 0; k < iv->nsnapshots; k++) {
			const struct inv_snapshot *sn = &iv->snapshots[k];
			if (sn->state != INV_COMPLETED)
				continue;
			if (*owned == NULL && sn->owner != NULL &&
			    strcmp(sn->owner, s->p->name) == 0)
				*owned = sn;
			if (*untagged == NULL && sn->owner == NULL &&
			    s->p->adopt)
				*untagged = sn;
		}
	}
}

static void
judge_probe(struct doctor *d, const char *who, const char *what,
    const struct ec2_probe *p, const char *grant)
{
	char text[800];

	switch (p->result) {
	case EC2_ALLOWED:
		say(d, OK, "%s%s: allowed", who, what);
		break;
	case EC2_DENIED:
		say(d, PROBLEM, "%s%s: not allowed (UnauthorizedOperation); %s",
		    who, what, grant);
		break;
	default:
		say(d, PROBLEM, "%s%s: could not be tried: %s", who, what,
		    ec2_error_text(&p->error, text, sizeof(text)));
	}
}

static void
check_permissions(struct doctor *d, struct run *r, const struct policy_state
    *s)
{
	const struct policy *p = s->p;
	const struct inv_volume *vol;
	const struct inv_snapshot *owned, *untagged;
	struct plan_tag ptags[PLAN_TAGS_MAX];
	struct ec2_tag etags[PLAN_TAGS_MAX];
	struct ec2_probe probes[3];
	char who[128], what[3][160];
	size_t n, nin, ntags;
	struct plan_input *in = run_policy_inputs(s, &nin);
	bool inst = p->resource == POLICY_INSTANCES;

	if (in == NULL)
		return;
	pick(s, in, nin, &vol, &owned, &untagged);
	free(in);
	snprintf(who, sizeof(who), "policy %s: ", p->name);
	if (vol == NULL) {
		say(d, WARNING, "%sno %s to try %s on", who, inst ? "instance" :
		    "volume", inst ? "CreateSnapshots" : "CreateSnapshot");
		return;
	}
	ntags = plan_volume_tags(r->plan, p->name, vol->id, ptags,
	    PLAN_TAGS_MAX - 1);
	for (size_t t = 0; t < ntags; t++)
		etags[t] = (struct ec2_tag){ ptags[t].key, ptags[t].value };
	if (inst)   /* a set id, as a run makes up one */
		etags[ntags++] = (struct ec2_tag){ INV_TAG_SET,
		    "set-00000000000000000" };
	n = 0;
	probes[n] = (struct ec2_probe){ .action = inst ?
	    EC2_CREATE_SNAPSHOTS : EC2_CREATE_SNAPSHOT, .resource = vol->id,
	    .tags = etags, .ntags = ntags };
	snprintf(what[n++], sizeof(what[0]), "%s of %s with the policy's %zu "
	    "tags", inst ? "CreateSnapshots" : "CreateSnapshot", vol->id,
	    ntags);
	if (owned != NULL) {
		probes[n] = (struct ec2_probe){ .action = EC2_DELETE_SNAPSHOT,
		    .resource = owned->id };
		snprintf(what[n++], sizeof(what[0]), "DeleteSnapshot of %s",
		    owned->id);
	}
	if (untagged != NULL) {
		probes[n] = (struct ec2_probe){ .action = EC2_DELETE_SNAPSHOT,
		    .resource = untagged->id };
		snprintf(what[n++], sizeof(what[0]), "DeleteSnapshot of %s "
		    "(untagged, for adopt)", untagged->id);
	}
	ec2_probe(s->r->ec2, probes, n);
	judge_probe(d, who, what[0], &probes[0], inst ? "allow "
	    "ec2:CreateSnapshots on the instance, its volumes and snapshots, "
	    "and ec2:CreateTags with these tags (docs/iam-policy.json)" :
	    "allow ec2:CreateSnapshot and ec2:CreateTags with these tags "
	    "(docs/iam-policy.json)");
	for (size_t i = 1; i < n; i++)
		judge_probe(d, who, what[i], &probes[i], i == 1 && owned != NULL ?
		    "allow ec2:DeleteSnapshot on snapshots tagged "
		    "ec2backup:policy" : "adopt deletes untagged snapshots: "
		    "allow ec2:DeleteSnapshot without the tag condition");
	if (owned == NULL)
		say(d, WARNING, "%sno snapshot of the policy yet to try "
		    "DeleteSnapshot on; run doctor again after the first run",
		    who);
}

static void
check_files(struct doctor *d, const struct run_options *o)
{
	char path[512], err[600];
	const char *file = o->lock_file != NULL ? o->lock_file :
	    lock_default_path(path, sizeof(path));
	long holder = 0;
	int fd = lock_acquire(file, &holder, err, sizeof(err));

	if (fd >= 0) {
		lock_release(fd);
		say(d, OK, "lock %s: can be taken", file);
	} else if (fd == -1) {
		say(d, WARNING, "lock %s: held by pid %ld, a run in progress",
		    file, holder);
	} else {
		say(d, PROBLEM, "lock: %s; choose another with --lock-file", err);
	}
	if (o->metrics_file != NULL) {
		const char *slash = strrchr(o->metrics_file, '/');
		char dir[4096];
		snprintf(dir, sizeof(dir), "%.*s", slash == NULL ? 1 : slash ==
		    o->metrics_file ? 1 : (int)(slash - o->metrics_file),
		    slash == NULL ? "." : o->metrics_file);
		if (access(dir, W_OK) == 0)
			say(d, OK, "metrics file %s: its directory is writable",
			    o->metrics_file);
		else
			say(d, PROBLEM, "metrics file %s: %s is not writable; "
			    "under systemd, add it to ReadWritePaths",
			    o->metrics_file, dir);
	}
}

static void
check_hook(struct doctor *d, const struct policy *p, const char *name,
    char *const *argv, const char *where)
{
	if (argv == NULL)
		return;
	if (access(argv[0], X_OK) == 0)
		say(d, OK, "policy %s: %s%s %s: can be run", p->name, where,
		    name, argv[0]);
	else
		say(d, PROBLEM, "policy %s: %s%s %s: not an executable file",
		    p->name, where, name, argv[0]);
}

static void
check_freeze(struct doctor *d, const struct policy *p,
    const struct policy_freeze *f, const char *where)
{
	check_hook(d, p, "pre_snapshot", f->pre, where);
	check_hook(d, p, "post_snapshot", f->post, where);
}

/* Every hook can be run; the freeze hooks are not run (they would
 * freeze). */
static void
check_hooks(struct doctor *d, const struct policy *p)
{
	char where[64];

	check_hook(d, p, "on_success", p->on_success, "");
	check_hook(d, p, "on_failure", p->on_failure, "");
	check_freeze(d, p, &p->freeze, "");
	for (size_t v = 0; v < p->nvolumes; v++) {
		snprintf(where, sizeof(where), "%s: ", p->volumes[v].id);
		check_freeze(d, p, &p->volumes[v].freeze, where);
	}
	for (size_t v = 0; v < p->ninstances; v++) {
		snprintf(where, sizeof(where), "%s: ", p->instances[v].id);
		check_freeze(d, p, &p->instances[v].freeze, where);
	}
}

int
doctor_report(struct run *r)
{
	struct doctor d = { 0 };

	if (r->o->json)
		d.checks = json_object_new_array();
	say(&d, OK, "credentials: from %s; EC2 accepted them",
	    credentials_source(r->creds));
	for (size_t g = 0; g < r->nregions; g++) {
		struct region *reg = &r->regions[g];
		struct ec2_probe img = { .action = EC2_DESCRIBE_IMAGES };

		say(&d, OK, "region %s: endpoint %s", reg->name, reg->endpoint);
		check_clock(&d, reg);
		ec2_probe(reg->ec2, &img, 1);
		judge_probe(&d, "", "DescribeImages", &img, "allow "
		    "ec2:DescribeImages: without it nothing is deleted");
	}
	for (size_t i = 0; i < r->set->npolicies; i++) {
		check_volumes(&d, &r->ps[i]);
		check_permissions(&d, r, &r->ps[i]);
		check_hooks(&d, r->ps[i].p);
	}
	check_files(&d, r->o);
	if (d.checks != NULL) {
		fputs("\"checks\":", stdout);
		fputs(json_object_to_json_string_ext(d.checks,
		    REPORT_JSON_FLAGS), stdout);
		json_object_put(d.checks);
	} else {
		printf("%zu ok, %zu warning%s, %zu problem%s\n", d.count[OK],
		    d.count[WARNING], d.count[WARNING] == 1 ? "" : "s",
		    d.count[PROBLEM], d.count[PROBLEM] == 1 ? "" : "s");
	}
	return d.count[PROBLEM] > 0 ? EXIT_PARTIAL : EXIT_OK;
}
