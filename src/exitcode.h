/*
 * Exit statuses: a contract with scripts and cron, documented in
 * ec2backup(8), EXIT STATUS.  Never renumber.
 */
#ifndef EC2BACKUP_EXITCODE_H
#define EC2BACKUP_EXITCODE_H

enum {
	EXIT_OK = 0,
	EXIT_PARTIAL = 1,   /* some actions failed while others completed */
	EXIT_USAGE = 2,     /* invalid command line or policy; nothing done */
	EXIT_EC2 = 3,       /* EC2 unreachable or access refused; nothing done */
	EXIT_LOCKED = 4     /* another run holds the lock */
};

#endif
