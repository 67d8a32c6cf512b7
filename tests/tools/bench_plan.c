/*
 * bench_plan: plans 10,000 volumes x 100 snapshots (one a day, a policy
 * with keep and calendar retention in a DST zone) and prints wall time,
 * CPU time, peak RSS and the planner's own memory per snapshot: the
 * resident size after planning minus the size with the inventory alone.
 *
 * usage: bench_plan [volumes [snapshots-per-volume]]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "inventory.h"
#include "plan.h"
#include "policy.h"
#include "report.h"
#include "tz.h"

static char policy_name[] = "bench", zone_name[] = "Europe/Helsinki";

static double
wall_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Resident bytes now, from /proc; -1 where there is no /proc. */
static long long
rss_bytes(void)
{
	long long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");
	int n;

	if (f == NULL)
		return -1;
	n = fscanf(f, "%lld %lld", &size, &resident);
	fclose(f);
	return n == 2 ? resident * sysconf(_SC_PAGESIZE) : -1;
}

static long long
peak_rss_bytes(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (long long)ru.ru_maxrss * 1024;  /* Linux reports KiB */
}

static double
mib(long long bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

static size_t
parse_count(const char *s, size_t max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > max) {
		fprintf(stderr, "bench_plan: %s: not a count in 1..%zu\n", s,
		    max);
		exit(2);
	}
	return (size_t)v;
}

int
main(int argc, char **argv)
{
	size_t nvols = 10000, per = 100, nsnaps;
	int64_t now = (int64_t)tz_days_from_civil(2026, 11, 17) * 86400 +
	    3 * 3600;
	struct inv_volume *vols = NULL;
	struct inv_snapshot *snaps = NULL;
	struct plan_input *in = NULL;
	struct plan *plan = NULL;
	struct tz *zone = NULL;
	struct policy policy;
	struct plan_summary sum;
	double w0, c0, wplan, cplan, wtext;
	long long rss0, rss1;
	char err[128];
	FILE *devnull = NULL;
	int rc = 1;

	if (argc > 1)
		nvols = parse_count(argv[1], 1000000);
	if (argc > 2)
		per = parse_count(argv[2], 10000);
	if (argc > 3) {
		fprintf(stderr, "usage: bench_plan [volumes [snapshots]]\n");
		return 2;
	}
	nsnaps = nvols * per;
	if (tz_load(zone_name, &zone, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_plan: %s: %s\n", zone_name, err);
		return 1;
	}

	/* The inventory: one snapshot a day at about 03:00 local, half of
	 * them with an ec2backup:date tag, a few pending or protected. */
	w0 = wall_seconds();
	vols = calloc(nvols, sizeof(*vols));
	snaps = calloc(nsnaps, sizeof(*snaps));
	in = calloc(nvols, sizeof(*in));
	if (vols == NULL || snaps == NULL || in == NULL) {
		fprintf(stderr, "bench_plan: out of memory\n");
		goto out;
	}
	for (size_t v = 0; v < nvols; v++) {
		struct inv_volume *vol = &vols[v];

		snprintf(vol->id, sizeof(vol->id), "vol-%017zx", v * 7919);
		vol->exists = true;
		vol->complete = true;
		vol->snapshots = &snaps[v * per];
		vol->nsnapshots = per;
		for (size_t k = 0; k < per; k++) {
			struct inv_snapshot *s = &vol->snapshots[k];
			size_t n = v * per + k;

			snprintf(s->id, sizeof(s->id), "snap-%017zx",
			    n * 2654435761u);
			s->start = now - (int64_t)(k + 1) * 86400 +
			    (int64_t)(n % 600);
			s->owner = policy_name;
			s->date = k % 2 == 0 ?
			    (int32_t)tz_local_day(zone, s->start) :
			    INV_NO_DATE;
			s->state = k == 0 && v % 50 == 0 ? INV_PENDING :
			    INV_COMPLETED;
			s->flags = n % 997 == 0 ? INV_PROTECTED : 0;
		}
		in[v].volume = vol;
	}
	memset(&policy, 0, sizeof(policy));
	policy.name = policy_name;
	policy.timezone = zone_name;
	policy.keep = 7;
	policy.retain.daily = 14;
	policy.retain.weekly = 8;
	policy.retain.monthly = 12;
	policy.max_deletes = -1;
	rss0 = rss_bytes();
	printf("bench_plan: %zu volumes x %zu snapshots = %zu snapshots\n",
	    nvols, per, nsnaps);
	printf("inventory: built in %.3f s (not counted), resident %.1f MiB\n",
	    wall_seconds() - w0, mib(rss0));

	w0 = wall_seconds();
	c0 = cpu_seconds();
	plan = plan_new(now);
	if (plan == NULL ||
	    plan_add_policy(plan, &policy, zone, in, nvols) != 0) {
		fprintf(stderr, "bench_plan: plan: %s\n", strerror(errno));
		goto out;
	}
	wplan = wall_seconds() - w0;
	cplan = cpu_seconds() - c0;
	rss1 = rss_bytes();
	plan_summary(plan, &sum);
	printf("plan: wall %.3f s, cpu %.3f s, %zu actions (%zu create, "
	    "%zu skip, %zu keep, %zu delete, %zu warn)\n", wplan, cplan,
	    plan_nactions(plan), sum.create, sum.skip, sum.keep, sum.delete,
	    sum.warn);
	if (rss0 >= 0 && rss1 >= 0)
		printf("planner memory: %.1f MiB, %.1f bytes per snapshot\n",
		    mib(rss1 - rss0), (double)(rss1 - rss0) / (double)nsnaps);

	/* Rendering, for scale; every reason is formatted once. */
	devnull = fopen("/dev/null", "w");
	if (devnull != NULL) {
		w0 = wall_seconds();
		if (report_plan_text(devnull, plan, false) != 0)
			goto out;
		wtext = wall_seconds() - w0;
		w0 = wall_seconds();
		if (report_plan_json(devnull, plan) != 0)
			goto out;
		printf("render to /dev/null: text %.3f s, json %.3f s\n", wtext,
		    wall_seconds() - w0);
	}
	printf("peak RSS: %.1f MiB\n", mib(peak_rss_bytes()));
	rc = 0;
out:
	if (devnull != NULL)
		fclose(devnull);
	plan_free(plan);
	free(in);
	free(snaps);
	free(vols);
	tz_free(zone);
	return rc;
}
