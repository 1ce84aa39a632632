/*
 * pollwait - a follower through poll(2) and O_NONBLOCK (tests).
 *
 *   pollwait FILE TIMEOUT_MS
 *
 * Opens FILE O_RDONLY|O_NONBLOCK, reads what is there until read() fails
 * with EAGAIN (prints "had N"), then poll()s for POLLIN up to TIMEOUT_MS
 * (prints "ready" or "timeout"), and after "ready" reads again until
 * EAGAIN and prints "got N: " and the bytes.  Exits 0 after "got", 1 on a
 * timeout or an error (printed as "STEP: ENAME"), 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failed(const char *step)
{
	const char *name = strerrorname_np(errno);

	printf("%s: %s\n", step, name ? name : "?");
	return 1;
}

/* Read until EAGAIN; the bytes into buf (up to cap); -1 on another error. */
static ssize_t drain(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	char tmp[65536];

	for (;;) {
		ssize_t r = read(fd, tmp, sizeof(tmp));

		if (r < 0)
			return errno == EAGAIN ? (ssize_t)n : -1;
		if (r == 0)
			return (ssize_t)n; /* EOF: a non-following file */
		if (n < cap) {
			size_t k = cap - n < (size_t)r ? cap - n : (size_t)r;

			memcpy(buf + n, tmp, k);
		}
		n += (size_t)r;
	}
}

int main(int argc, char **argv)
{
	static char buf[1 << 20];
	struct pollfd pfd;
	ssize_t n;
	int fd, r;

	if (argc != 3) {
		fprintf(stderr, "usage: pollwait FILE TIMEOUT_MS\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return failed("open");
	n = drain(fd, buf, sizeof(buf));
	if (n < 0)
		return failed("read");
	printf("had %zd\n", n);
	fflush(stdout);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	r = poll(&pfd, 1, atoi(argv[2]));
	if (r < 0)
		return failed("poll");
	if (r == 0 || !(pfd.revents & POLLIN)) {
		printf("timeout\n");
		return 1;
	}
	printf("ready\n");
	n = drain(fd, buf, sizeof(buf));
	if (n < 0)
		return failed("read");
	printf("got %zd: %.*s", n, (int)(n < (ssize_t)sizeof(buf) ? n : 0), buf);
	return 0;
}
