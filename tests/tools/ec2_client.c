/*
 * ec2_client: each operation of src/ec2.c on the command line, for the
 * integration tests that run it against the EC2 emulator.
 *
 *   ec2_client ENDPOINT REGION check VOLUME...
 *   ec2_client ENDPOINT REGION select KEY=VALUE...
 *   ec2_client ENDPOINT REGION list VOLUME...
 *   ec2_client ENDPOINT REGION images SNAPSHOT...   (lists first: needs
 *                                                    the volume as VOL:SNAP)
 *   ec2_client ENDPOINT REGION create VOLUME OWNER DATE [KEY=VALUE...]
 *   ec2_client ENDPOINT REGION delete SNAPSHOT...
 *
 * Credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN.  EC2_JOBS, EC2_TIMEOUT_MS, EC2_DEADLINE_MS and
 * EC2_RATE_SCALE tune the client.  Results go to stdout, one line each;
 * the client's counters to stderr as "stats: ...".  Exit status: 0, 1 when
 * some item failed, 3 when the client went fatal, 2 on usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2.h"
#include "http.h"
#include "inventory.h"
#include "log.h"

static int
env_credentials(void *arg, int64_t now, struct sigv4_credentials *out,
    char *err, size_t errlen)
{
	(void)arg;
	(void)now;
	out->access_key_id = getenv("AWS_ACCESS_KEY_ID");
	out->secret_access_key = getenv("AWS_SECRET_ACCESS_KEY");
	out->session_token = getenv("AWS_SESSION_TOKEN");
	if (out->access_key_id == NULL || out->secret_access_key == NULL) {
		snprintf(err, errlen, "AWS_ACCESS_KEY_ID and "
		    "AWS_SECRET_ACCESS_KEY are not set");
		return -1;
	}
	return 0;
}

static long
env_long(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v ? strtol(v, NULL, 10) : dflt;
}

static void
print_stats(const struct ec2 *ec2)
{
	const struct ec2_stats *s = ec2_stats(ec2);

	fprintf(stderr, "stats: DescribeVolumes=%lu DescribeSnapshots=%lu "
	    "DescribeImages=%lu CreateSnapshot=%lu DeleteSnapshot=%lu "
	    "retries=%lu throttled=%lu bytes=%llu\n",
	    s->calls[EC2_DESCRIBE_VOLUMES], s->calls[EC2_DESCRIBE_SNAPSHOTS],
	    s->calls[EC2_DESCRIBE_IMAGES], s->calls[EC2_CREATE_SNAPSHOT],
	    s->calls[EC2_DELETE_SNAPSHOT], s->retries, s->throttled,
	    s->bytes);
}

static void
print_volume(const struct inv_volume *v)
{
	printf("%s %s %s %zu\n", v->id, v->exists ? "exists" : "missing",
	    v->complete ? "complete" : "incomplete", v->nsnapshots);
	for (size_t i = 0; i < v->nsnapshots; i++) {
		const struct inv_snapshot *s = &v->snapshots[i];
		printf("  %s %s %lld owner=%s date=%ld protected=%d "
		    "description=%s\n", s->id, inv_state_name(s->state),
		    (long long)s->start, s->owner ? s->owner : "-",
		    (long)s->date, (s->flags & INV_PROTECTED) != 0,
		    s->description ? s->description : "-");
	}
}

/* Splits "KEY=VALUE" in place. */
static struct ec2_tag
tag_arg(char *s)
{
	struct ec2_tag t = { s, "" };
	char *eq = strchr(s, '=');

	if (eq != NULL) {
		*eq = '\0';
		t.value = eq + 1;
	}
	return t;
}

int
main(int argc, char *argv[])
{
	struct ec2_config cfg = { 0 };
	struct ec2 *ec2;
	struct inventory *inv;
	char err[256];
	const char *cmd;
	int rc = 0, nargs;
	char **args;

	if (argc < 4) {
		fprintf(stderr, "usage: ec2_client ENDPOINT REGION COMMAND "
		    "ARG...\n");
		return 2;
	}
	if (getenv("EC2_DEBUG") != NULL)
		log_set_level(LOG_LEVEL_DEBUG);
	cfg.endpoint = argv[1];
	cfg.region = argv[2];
	cfg.credentials = env_credentials;
	cfg.credentials_source = "environment variables";
	cfg.jobs = (int)env_long("EC2_JOBS", 8);
	cfg.timeout_ms = env_long("EC2_TIMEOUT_MS", 10000);
	cfg.rate_scale = (double)env_long("EC2_RATE_SCALE", 1);
	cfg.lookup_ms = env_long("EC2_LOOKUP_MS", 0);
	if (env_long("EC2_DEADLINE_MS", 0) > 0)
		cfg.deadline_ms = http_now_ms() + env_long("EC2_DEADLINE_MS", 0);
	cmd = argv[3];
	args = argv + 4;
	nargs = argc - 4;
	if ((ec2 = ec2_new(&cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "ec2_client: %s\n", err);
		return 3;
	}
	inv = inventory_new(true);

	if (strcmp(cmd, "check") == 0) {
		rc = ec2_check_volumes(ec2, inv, (const char *const *)args,
		    (size_t)nargs) == 0 ? 0 : 1;
		for (int i = 0; i < nargs; i++)
			printf("%s %s\n", args[i],
			    inventory_find(inv, args[i])->exists ? "exists" :
			    "missing");
	} else if (strcmp(cmd, "select") == 0) {
		struct ec2_tag tags[16];
		struct inv_volume **found = NULL;
		size_t nfound = 0;
		for (int i = 0; i < nargs && i < 16; i++)
			tags[i] = tag_arg(args[i]);
		rc = ec2_select_volumes(ec2, inv, tags, (size_t)nargs, &found,
		    &nfound) == 0 ? 0 : 1;
		for (size_t i = 0; i < nfound; i++)
			printf("%s\n", found[i]->id);
		free(found);
	} else if (strcmp(cmd, "list") == 0 || strcmp(cmd, "images") == 0) {
		struct inv_volume **vols = calloc((size_t)nargs + 1,
		    sizeof(*vols));
		bool images = strcmp(cmd, "images") == 0;
		for (int i = 0; i < nargs; i++) {
			vols[i] = inventory_volume(inv, args[i]);
			vols[i]->exists = true;
		}
		rc = ec2_list_snapshots(ec2, inv, vols, (size_t)nargs) == 0 ?
		    0 : 1;
		if (images && rc == 0) {
			size_t n = 0, cap = 16;
			struct inv_snapshot **snaps = malloc(cap *
			    sizeof(*snaps));
			for (int i = 0; i < nargs; i++)
				for (size_t j = 0; j < vols[i]->nsnapshots;
				    j++) {
					if (n == cap)
						snaps = realloc(snaps,
						    (cap *= 2) * sizeof(*snaps));
					snaps[n++] = &vols[i]->snapshots[j];
				}
			rc = ec2_find_images(ec2, inv, snaps, n) == 0 ? 0 : 1;
			for (size_t i = 0; i < n; i++)
				printf("%s %s\n", snaps[i]->id,
				    snaps[i]->ami ? snaps[i]->ami : "-");
			free(snaps);
		} else {
			for (int i = 0; i < nargs; i++)
				print_volume(vols[i]);
		}
		free(vols);
	} else if (strcmp(cmd, "create") == 0 && nargs >= 3) {
		struct ec2_tag tags[20];
		struct ec2_create cr = { 0 };
		size_t n = 0;
		tags[n++] = (struct ec2_tag){ "ec2backup:policy", args[1] };
		tags[n++] = (struct ec2_tag){ "ec2backup:date", args[2] };
		for (int i = 3; i < nargs && n < 20; i++)
			tags[n++] = tag_arg(args[i]);
		cr.volume = args[0];
		cr.description = "ec2backup test";
		cr.tags = tags;
		cr.ntags = n;
		cr.owner_tag = args[1];
		cr.date_tag = args[2];
		rc = ec2_create_snapshots(ec2, &cr, 1) == 0 ? 0 : 1;
		if (cr.ok)
			printf("%s created %s%s\n", cr.volume, cr.snapshot,
			    cr.found_by_lookup ? " found-by-lookup" : "");
		else
			printf("%s failed %s %s\n", cr.volume, cr.error.code,
			    cr.error.message);
	} else if (strcmp(cmd, "delete") == 0) {
		struct ec2_delete *d = calloc((size_t)nargs + 1, sizeof(*d));
		for (int i = 0; i < nargs; i++)
			d[i].snapshot = args[i];
		rc = ec2_delete_snapshots(ec2, d, (size_t)nargs) == 0 ? 0 : 1;
		for (int i = 0; i < nargs; i++)
			printf("%s %s %s\n", d[i].snapshot, d[i].gone ? "gone" :
			    d[i].ok ? "deleted" : d[i].in_use ? "in-use" :
			    "failed", d[i].ok ? "" : d[i].error.code);
		free(d);
	} else {
		fprintf(stderr, "ec2_client: unknown command '%s'\n", cmd);
		rc = 2;
	}
	if (ec2_fatal(ec2) != NULL) {
		fprintf(stderr, "ec2_client: %s\n", ec2_fatal(ec2));
		rc = 3;
	}
	print_stats(ec2);
	inventory_free(inv);
	ec2_free(ec2);
	return rc;
}
