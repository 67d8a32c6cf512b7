/*
 * Metrics for Prometheus, in the text format node_exporter's textfile
 * collector reads: a set of samples collected during a run, written at
 * its end to one file, atomically (a temporary file in the same directory
 * renamed over it), so that a scrape never sees half of it.  No
 * timestamps: the collector adds its own.
 */
#ifndef EC2BACKUP_METRICS_H
#define EC2BACKUP_METRICS_H

#include <stddef.h>

struct metrics;

/* An empty set; NULL when out of memory.  Free with metrics_free. */
struct metrics *metrics_new(void);

void metrics_free(struct metrics *m);

/*
 * Adds value to the sample of metric name with the given labels
 * (label names and values alternating, n of each; values escaped here),
 * creating it at 0 first.  name must be one metrics.c describes (it has
 * its HELP and TYPE there).  Returns 0, or -1 when out of memory or name
 * is unknown.
 */
int metrics_add(struct metrics *m, const char *name, double value,
    size_t n, const char *const *labels);

/* Sets the sample instead of adding to it. */
int metrics_set(struct metrics *m, const char *name, double value, size_t n,
    const char *const *labels);

/*
 * Reads the samples of name from an earlier file at path, and keeps those
 * whose labels the set has no sample for yet (a policy that did not
 * succeed this run keeps its last success time).  A missing file is not
 * an error.  Returns 0, or -1 when out of memory.
 */
int metrics_carry(struct metrics *m, const char *path, const char *name);

/*
 * Writes the set to path atomically, every metric with its HELP and TYPE
 * lines, samples in the order added.  Returns 0, or -1 with the reason
 * in err.
 */
int metrics_write(const struct metrics *m, const char *path, char *err,
    size_t errlen);

#endif
