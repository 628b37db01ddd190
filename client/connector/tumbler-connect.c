/*
 * tumbler-connect: ssh's ProxyCommand without starting Node. With the tumbler agent running,
 *
 *   Host work
 *       ProxyCommand tumbler-connect work ssh
 *       ProxyUseFdpass yes
 *
 * asks the agent (tumbler agent, same user) to knock for PROFILE/SERVICE, connects a TCP socket to
 * the granted server and port, hands that connected socket to ssh on stdout (SCM_RIGHTS) and exits;
 * ssh then talks to the service directly. When no agent runs, or it holds no key for the profile,
 * it runs `tumbler unlock PROFILE` once on the terminal (which starts an agent and asks the
 * password) and asks again. Not setuid, no crypto, no configuration: it only speaks the agent's
 * socket protocol (docs/protocol.md, Appendix B; client/agent/protocol.ts is the reference) and
 * checks, as `tumbler` does, that the socket's directory and the listening process are this user's.
 *
 * Usage: tumbler-connect [--no-unlock] PROFILE SERVICE
 * Environment: TUMBLER_AGENT_SOCK, XDG_RUNTIME_DIR (where the agent's socket is, as for tumbler);
 *              TUMBLER_CLI (the tumbler program for the unlock fallback; default: tumbler in PATH).
 * Exit codes (those of tumbler, client/commands/exit-codes.ts; an agent failure exits with the
 * status the agent gives for it): 0 socket handed over, 1 other error, 2 usage, 7 connecting to the
 * granted port failed, 11 no agent / not unlocked / unsafe socket.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Exit statuses: the EXIT table of client/commands/exit-codes.ts (test/unit/client/connector checks). */
#define EXIT_OK 0
#define EXIT_OTHER 1
#define EXIT_USAGE 2
#define EXIT_PROXY_CONNECT 7
#define EXIT_AGENT 11

/* Agent protocol v1 (client/agent/protocol.ts). */
#define AGENT_VERSION 1
#define OP_OPEN 1
#define STATUS_OK 0
#define STATUS_ERROR 1
#define HEADER_BYTES 4
#define MAX_BODY 4096
#define MAX_STR8 255

/* Waits, as in tumbler: the agent's answer to an open (client/agent/client.ts), the TCP connect (splice.ts). */
#define ANSWER_TIMEOUT_MS 120000
#define CONNECT_TIMEOUT_MS 10000

static void die(int code, const char *tag, const char *fmt, ...) {
  va_list ap;
  fputs("tumbler-connect: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (%s)\n", tag);
  exit(code);
}

/* fds 0..2 exist, so no socket of ours can land on them. */
static void ensure_std_fds(void) {
  for (int fd = 0; fd < 3; fd++)
    if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd) exit(EXIT_OTHER);
}

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The agent's socket path, as client/agent/socket-path.ts computes it. */
static void socket_path(char *out, size_t n) {
  const char *forced = getenv("TUMBLER_AGENT_SOCK");
  const char *runtime = getenv("XDG_RUNTIME_DIR");
  int w;
  if (forced && *forced) {
    if (forced[0] != '/') die(EXIT_AGENT, "AGENT_UNSAFE", "TUMBLER_AGENT_SOCK must be an absolute path");
    w = snprintf(out, n, "%s", forced);
  } else if (runtime && runtime[0] == '/') {
    w = snprintf(out, n, "%s/tumbler/agent.sock", runtime);
  } else {
    w = snprintf(out, n, "/tmp/tumbler-%u/agent.sock", (unsigned)getuid());
  }
  if (w < 0 || (size_t)w >= n) die(EXIT_AGENT, "AGENT_UNSAFE", "the agent socket path is too long");
}

/* 0 when the agent's directory is ours and private; 1 when it does not exist; else dies AGENT_UNSAFE. */
static int check_dir(const char *sock) {
  char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
  snprintf(dir, sizeof dir, "%s", sock);
  char *slash = strrchr(dir, '/');
  if (slash == dir) slash[1] = '\0';
  else *slash = '\0';
  struct stat st;
  if (lstat(dir, &st) != 0) {
    if (errno == ENOENT) return 1;
    die(EXIT_AGENT, "AGENT_UNSAFE", "cannot inspect %s: %s", dir, strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) die(EXIT_AGENT, "AGENT_UNSAFE", "%s is not a directory", dir);
  if (st.st_uid != getuid()) die(EXIT_AGENT, "AGENT_UNSAFE", "%s belongs to uid %u, not to you", dir, (unsigned)st.st_uid);
  if (st.st_mode & 077) die(EXIT_AGENT, "AGENT_UNSAFE", "%s is open to group or others", dir);
  return 0;
}

/* A connected socket to the agent, or -1 when none runs. Dies when what listens is not ours. */
static int dial_agent(const char *path) {
  if (check_dir(path) == 1) return -1;
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die(EXIT_OTHER, "AGENT_IO", "socket: %s", strerror(errno));
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    int e = errno;
    close(fd);
    if (e == ENOENT || e == ECONNREFUSED) return -1;
    die(EXIT_AGENT, "AGENT_IO", "cannot reach the agent: %s", strerror(e));
  }
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) die(EXIT_AGENT, "AGENT_UNSAFE", "SO_PEERCRED: %s", strerror(errno));
  if (cred.uid != getuid()) die(EXIT_AGENT, "AGENT_UNSAFE", "the process on the agent socket runs as uid %u, not as you", (unsigned)cred.uid);
  return fd;
}

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static unsigned get16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Sends all of buf to the agent (MSG_NOSIGNAL: a vanished agent is an error, not a SIGPIPE); dies on error. */
static void write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die(EXIT_AGENT, "AGENT_IO", "writing to the agent: %s", strerror(errno));
    p += w;
    n -= (size_t)w;
  }
}

/* Reads exactly n bytes before the deadline; dies on hang-up, error or time-out. */
static void read_exact(int fd, uint8_t *p, size_t n, long long deadline) {
  while (n > 0) {
    long long left = deadline - now_ms();
    if (left <= 0) die(EXIT_AGENT, "AGENT_TIMEOUT", "no answer from the agent in time");
    struct pollfd pf = { .fd = fd, .events = POLLIN };
    int r = poll(&pf, 1, (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die(EXIT_AGENT, "AGENT_IO", "poll: %s", strerror(errno));
    if (r == 0) continue;
    ssize_t got = read(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) die(EXIT_AGENT, "AGENT_IO", "reading from the agent: %s", strerror(errno));
    if (got == 0) die(EXIT_AGENT, "AGENT_TRUNCATED", "the agent closed the connection mid-answer");
    p += got;
    n -= (size_t)got;
  }
}

/* A bounded reader over the reply body: every field read is checked against what is left. */
struct body { const uint8_t *p; size_t left; };

static const uint8_t *take(struct body *b, size_t n) {
  if (n > b->left) die(EXIT_AGENT, "AGENT_BAD_FRAME", "the agent's answer is too short");
  const uint8_t *p = b->p;
  b->p += n;
  b->left -= n;
  return p;
}

/* A str8 field copied into out (NUL-terminated, no NUL inside). */
static void take_str8(struct body *b, char *out, size_t cap) {
  size_t n = *take(b, 1);
  const uint8_t *s = take(b, n);
  if (n >= cap || memchr(s, 0, n)) die(EXIT_AGENT, "AGENT_BAD_FRAME", "bad text field in the agent's answer");
  memcpy(out, s, n);
  out[n] = '\0';
}

struct grant { char server[64]; unsigned port; };

enum answer { GRANTED, NOT_AVAILABLE };

/* One open request; GRANTED fills g, NOT_AVAILABLE when no agent runs or it lacks the key. Dies otherwise. */
static enum answer ask_agent(const char *path, const char *profile, const char *service, struct grant *g, char *why, size_t whylen) {
  int fd = dial_agent(path);
  if (fd < 0) {
    snprintf(why, whylen, "no agent is running");
    return NOT_AVAILABLE;
  }
  /* Request: u32 length | version | op | str8 profile | str8 service | u16 timeout (0) | str8 address ("") | str8 gateway (""). */
  uint8_t req[HEADER_BYTES + 2 + 1 + MAX_STR8 + 1 + MAX_STR8 + 2 + 1 + 1];
  size_t pl = strlen(profile), sl = strlen(service), n = HEADER_BYTES;
  req[n++] = AGENT_VERSION;
  req[n++] = OP_OPEN;
  req[n++] = (uint8_t)pl;
  memcpy(req + n, profile, pl), n += pl;
  req[n++] = (uint8_t)sl;
  memcpy(req + n, service, sl), n += sl;
  put16(req + n, 0), n += 2;
  req[n++] = 0;
  req[n++] = 0;
  uint32_t blen = (uint32_t)(n - HEADER_BYTES);
  req[0] = (uint8_t)(blen >> 24), req[1] = (uint8_t)(blen >> 16), req[2] = (uint8_t)(blen >> 8), req[3] = (uint8_t)blen;
  write_all(fd, req, n);

  long long deadline = now_ms() + ANSWER_TIMEOUT_MS;
  uint8_t head[HEADER_BYTES], buf[MAX_BODY];
  read_exact(fd, head, sizeof head, deadline);
  uint32_t len = get32(head);
  if (len < 2 || len > MAX_BODY) die(EXIT_AGENT, "AGENT_BAD_FRAME", "the agent's answer has a bad length");
  read_exact(fd, buf, len, deadline);
  close(fd);

  struct body b = { buf, len };
  const uint8_t *h = take(&b, 2);
  if (h[0] != AGENT_VERSION) die(EXIT_AGENT, "AGENT_VERSION", "the agent speaks protocol version %u, this connector %u", h[0], AGENT_VERSION);
  if (h[1] == STATUS_ERROR) {
    unsigned status = *take(&b, 1);
    char code[MAX_STR8 + 1];
    take_str8(&b, code, sizeof code);
    size_t mlen = get16(take(&b, 2));
    const uint8_t *msg = take(&b, mlen);
    if (b.left) die(EXIT_AGENT, "AGENT_BAD_FRAME", "trailing bytes in the agent's answer");
    if (strcmp(code, "AGENT_LOCKED") == 0) {
      snprintf(why, whylen, "%.*s", (int)mlen, (const char *)msg);
      return NOT_AVAILABLE;
    }
    fprintf(stderr, "tumbler-connect: %.*s (%s)\n", (int)mlen, (const char *)msg, code);
    exit(status > 0 && status < 126 ? (int)status : EXIT_OTHER);
  }
  if (h[1] != STATUS_OK) die(EXIT_AGENT, "AGENT_BAD_FRAME", "unknown status in the agent's answer");
  take_str8(&b, g->server, sizeof g->server);
  g->port = get16(take(&b, 2));
  size_t jlen = get16(take(&b, 2));
  take(&b, jlen); /* the grant's details, for tumbler's own output */
  if (b.left || g->port == 0) die(EXIT_AGENT, "AGENT_BAD_FRAME", "malformed open answer from the agent");
  return GRANTED;
}

/* Runs `tumbler unlock PROFILE` with the terminal as its input and our stderr as its output. */
static int run_unlock(const char *profile) {
  int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (tty < 0) return -1;
  const char *cli = getenv("TUMBLER_CLI");
  if (!cli || !*cli) cli = "tumbler";
  pid_t pid = fork();
  if (pid < 0) {
    close(tty);
    return -1;
  }
  if (pid == 0) {
    /* stdout is ssh's socket: the child gets our stderr there instead. */
    if (dup2(tty, 0) < 0 || dup2(2, 1) < 0) _exit(127);
    execlp(cli, "tumbler", "unlock", profile, (char *)NULL);
    fprintf(stderr, "tumbler-connect: cannot run %s: %s (AGENT_UNAVAILABLE)\n", cli, strerror(errno));
    _exit(127);
  }
  close(tty);
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A TCP socket connected to g within CONNECT_TIMEOUT_MS (left blocking), or dies PROXY_CONNECT. */
static int connect_grant(const struct grant *g) {
  struct sockaddr_storage ss;
  socklen_t sl;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, g->server, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET, a4->sin_port = htons((uint16_t)g->port), sl = sizeof *a4;
  } else if (inet_pton(AF_INET6, g->server, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6, a6->sin6_port = htons((uint16_t)g->port), sl = sizeof *a6;
  } else {
    die(EXIT_AGENT, "AGENT_BAD_FRAME", "the agent named a server that is not an IP address");
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die(EXIT_OTHER, "PROXY_CONNECT", "socket: %s", strerror(errno));
  if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
    if (errno != EINPROGRESS) die(EXIT_PROXY_CONNECT, "PROXY_CONNECT", "cannot connect to %s port %u: %s", g->server, g->port, strerror(errno));
    long long deadline = now_ms() + CONNECT_TIMEOUT_MS;
    for (;;) {
      long long left = deadline - now_ms();
      if (left <= 0) die(EXIT_PROXY_CONNECT, "PROXY_CONNECT", "connecting to %s port %u timed out", g->server, g->port);
      struct pollfd pf = { .fd = fd, .events = POLLOUT };
      int r = poll(&pf, 1, (int)left);
      if (r < 0 && errno != EINTR) die(EXIT_OTHER, "PROXY_CONNECT", "poll: %s", strerror(errno));
      if (r > 0) break;
    }
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0) err = errno;
    if (err) die(EXIT_PROXY_CONNECT, "PROXY_CONNECT", "cannot connect to %s port %u: %s", g->server, g->port, strerror(err));
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) die(EXIT_OTHER, "PROXY_CONNECT", "fcntl: %s", strerror(errno));
  return fd;
}

/* Hands fd to ssh over stdout (one byte of data carries the SCM_RIGHTS message, as ssh expects). */
static void pass_fd(int fd) {
  char data = 0;
  struct iovec iov = { .iov_base = &data, .iov_len = 1 };
  union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  ssize_t r;
  do r = sendmsg(1, &m, MSG_NOSIGNAL); while (r < 0 && errno == EINTR);
  if (r != 1) die(EXIT_OTHER, "FDPASS", "cannot hand the socket to ssh on stdout: %s", strerror(errno));
}

static int valid_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 64 || s[0] == '-') return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-')) return 0;
  return 1;
}

int main(int argc, char **argv) {
  ensure_std_fds();
  int unlock = 1, i = 1;
  if (i < argc && strcmp(argv[i], "--no-unlock") == 0) unlock = 0, i++;
  if (argc - i != 2 || !valid_name(argv[i]) || !valid_name(argv[i + 1])) {
    die(EXIT_USAGE, "USAGE", "usage: tumbler-connect [--no-unlock] PROFILE SERVICE (as ssh's ProxyCommand, with ProxyUseFdpass yes)");
  }
  const char *profile = argv[i], *service = argv[i + 1];
  struct stat st;
  if (fstat(1, &st) != 0 || !S_ISSOCK(st.st_mode)) die(EXIT_USAGE, "USAGE", "stdout is not a socket: use it with ProxyUseFdpass yes");

  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  socket_path(path, sizeof path);
  struct grant g;
  char why[512];
  if (ask_agent(path, profile, service, &g, why, sizeof why) != GRANTED) {
    int r = unlock ? run_unlock(profile) : -1;
    if (r != 0) {
      if (r < 0) die(EXIT_AGENT, "AGENT_UNAVAILABLE", "%s; run: tumbler unlock %s", why, profile);
      exit(r); /* tumbler unlock said why */
    }
    if (ask_agent(path, profile, service, &g, why, sizeof why) != GRANTED) die(EXIT_AGENT, "AGENT_UNAVAILABLE", "%s", why);
  }
  pass_fd(connect_grant(&g));
  return EXIT_OK;
}
