/*
 * The metric descriptions live in one table here; a sample is a metric,
 * its label text (already escaped, "policy=\"prod\",action=\"create\"")
 * and a value.  Runs produce a few hundred samples per policy at most, so
 * lookups are linear.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"

#define LABELS_MAX 512

static const struct {
	const char *name, *type, *help;
} described[] = {
	{ "ec2backup_last_success_timestamp_seconds", "gauge",
	  "When a run of the policy last succeeded (every action done, nothing "
	  "that needs a person), in seconds since the epoch." },
	{ "ec2backup_last_run_timestamp_seconds", "gauge",
	  "When the last run started, in seconds since the epoch." },
	{ "ec2backup_run_duration_seconds", "gauge",
	  "How long the last run took." },
	{ "ec2backup_run_exit_status", "gauge",
	  "The exit status of the last run (see ec2backup(8))." },
	{ "ec2backup_actions_total", "counter",
	  "Creates and deletes of the last run, by policy, action and outcome "
	  "(done, gone, failed, in-use, held)." },
	{ "ec2backup_snapshots", "gauge",
	  "Snapshots the policy owns, by state, as the last run listed them." },
	{ "ec2backup_newest_snapshot_age_seconds", "gauge",
	  "Age of the newest completed snapshot the policy owns of each "
	  "volume, when the last run listed them." },
	{ "ec2backup_requests_total", "counter",
	  "EC2 requests the last run sent, by action, retries included." },
	{ "ec2backup_retries_total", "counter",
	  "Requests the last run sent again." },
	{ "ec2backup_throttled_total", "counter",
	  "Requests of the last run that EC2 throttled." },
	{ "ec2backup_held_deletions", "gauge",
	  "Deletions the last run held back, by policy and reason." },
	{ "ec2backup_hook_seconds", "gauge",
	  "For each volume or instance with freeze hooks, how long the last "
	  "run held it between the start of its pre_snapshot hook and the end "
	  "of its post_snapshot hook." },
	{ "ec2backup_hook_failures", "gauge",
	  "Freeze hooks that failed in the last run, by policy." },
};

#define NDESCRIBED (sizeof(described) / sizeof(described[0]))

struct sample {
	size_t metric;             /* index into described */
	char *labels;
	double value;
};

struct metrics {
	struct sample *s;
	size_t n, cap;
};

struct metrics *
metrics_new(void)
{
	return calloc(1, sizeof(struct metrics));
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->s[i].labels);
	free(m->s);
	free(m);
}

static int
metric_index(const char *name)
{
	for (size_t i = 0; i < NDESCRIBED; i++)
		if (strcmp(described[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* name="value",... with \\, \" and \n escaped as the format requires. */
static int
format_labels(char *buf, size_t len, size_t n, const char *const *labels)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *v = labels[2 * i + 1];
		int k = snprintf(buf + o, len - o, "%s%s=\"", i ? "," : "",
		    labels[2 * i]);
		if (k < 0 || (size_t)k >= len - o)
			return -1;
		o += (size_t)k;
		for (; *v != '\0'; v++) {
			const char *e = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" :
			    *v == '\n' ? "\\n" : NULL;
			size_t el = e != NULL ? 2 : 1;
			if (o + el + 2 >= len)
				return -1;
			if (e != NULL)
				memcpy(buf + o, e, 2);
			else
				buf[o] = *v;
			o += el;
		}
		buf[o++] = '"';
		buf[o] = '\0';
	}
	return 0;
}

static struct sample *
sample(struct metrics *m, size_t metric, const char *labels)
{
	struct sample *grown;

	for (size_t i = 0; i < m->n; i++)
		if (m->s[i].metric == metric &&
		    strcmp(m->s[i].labels, labels) == 0)
			return &m->s[i];
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 32;
		if ((grown = realloc(m->s, cap * sizeof(*grown))) == NULL)
			return NULL;
		m->s = grown;
		m->cap = cap;
	}
	if ((m->s[m->n].labels = strdup(labels)) == NULL)
		return NULL;
	m->s[m->n].metric = metric;
	m->s[m->n].value = 0;
	return &m->s[m->n++];
}

static int
update(struct metrics *m, const char *name, double value, size_t n,
    const char *const *labels, int add)
{
	char text[LABELS_MAX];
	int k = metric_index(name);
	struct sample *s;

	if (k < 0 || format_labels(text, sizeof(text), n, labels) != 0 ||
	    (s = sample(m, (size_t)k, text)) == NULL)
		return -1;
	s->value = add ? s->value + value : value;
	return 0;
}

int
metrics_add(struct metrics *m, const char *name, double value, size_t n,
    const char *const *labels)
{
	return update(m, name, value, n, labels, 1);
}

int
metrics_set(struct metrics *m, const char *name, double value, size_t n,
    const char *const *labels)
{
	return update(m, name, value, n, labels, 0);
}

int
metrics_carry(struct metrics *m, const char *path, const char *name)
{
	FILE *f = fopen(path, "r");
	char line[LABELS_MAX + 256];
	int k = metric_index(name);
	size_t nlen = strlen(name);

	if (f == NULL || k < 0) {
		if (f != NULL)
			fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *open, *close, *end;
		double v;
		bool known = false;

		if (strncmp(line, name, nlen) != 0 || line[nlen] != '{' ||
		    (close = strstr(line + nlen, "} ")) == NULL)
			continue;
		open = line + nlen + 1;
		*close = '\0';
		v = strtod(close + 2, &end);
		if (end == close + 2)
			continue;
		for (size_t i = 0; i < m->n && !known; i++)
			known = m->s[i].metric == (size_t)k &&
			    strcmp(m->s[i].labels, open) == 0;
		if (!known) {
			struct sample *s = sample(m, (size_t)k, open);
			if (s == NULL) {
				fclose(f);
				return -1;
			}
			s->value = v;
		}
	}
	fclose(f);
	return 0;
}

int
metrics_write(const struct metrics *m, const char *path, char *err,
    size_t errlen)
{
	char tmp[4096];
	FILE *f = NULL;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	/* In the same directory, so that rename is atomic. */
	if ((fd = mkstemp(tmp)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return -1;
	}
	fchmod(fd, 0644);
	for (size_t k = 0; k < NDESCRIBED; k++) {
		bool any = false;
		for (size_t i = 0; i < m->n; i++) {
			if (m->s[i].metric != k)
				continue;
			if (!any)
				fprintf(f, "# HELP %s %s\n# TYPE %s %s\n",
				    described[k].name, described[k].help,
				    described[k].name, described[k].type);
			any = true;
			if (m->s[i].labels[0] != '\0')
				fprintf(f, "%s{%s} %.15g\n", described[k].name,
				    m->s[i].labels, m->s[i].value);
			else
				fprintf(f, "%s %.15g\n", described[k].name,
				    m->s[i].value);
		}
	}
	if (fflush(f) != 0 || ferror(f) || fsync(fd) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		fclose(f);
		unlink(tmp);
		return -1;
	}
	fclose(f);
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot replace %s: %s", path,
		    strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
