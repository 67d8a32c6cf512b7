/*
 * Keeping secrets out of freed memory and core files.
 *
 * Our own code wipes every copy of a secret it makes before freeing it.
 * libcurl and OpenSSL make copies of their own (request headers holding
 * the session token, buffers holding the request), which we cannot reach;
 * so they are given allocators that wipe every block on free and on a
 * moving realloc.  What cannot be wiped is never written to disk either:
 * while credentials are held the process can dump no core.
 */
#ifndef EC2BACKUP_SECURE_H
#define EC2BACKUP_SECURE_H

/*
 * Installs the wiping allocators for OpenSSL and libcurl, and initialises
 * libcurl.  Must run before anything else uses either library (first in
 * main).  Returns 0, or -1 when a library had already allocated memory or
 * libcurl could not be initialised (then the libraries' own allocators
 * stay in place).
 */
int secure_init(void);

/* Turns core dumps off for the rest of the process (core size limit 0,
 * not dumpable, so not ptrace-attachable by other users either).
 * Returns 0, or -1 when the system refused. */
int secure_no_core_dumps(void);

#endif
