/*
 * tumbler-helper: the client's only privileged piece. Installed setuid root or with the
 * cap_net_raw file capability, it opens its raw sockets as the calling user's (fsuid/fsgid, so
 * per-uid egress policy applies to them) with a drop-all filter, drops to the calling user for
 * good, and only then reads one request on stdin: the three SYNs of a knock. It sends them only
 * when they are exactly the SYNs this host's kernel would send for connect()s to the server
 * (docs/protocol.md §13, re-derived here from the host's settings and route), from source ports
 * the caller holds for the duration (bound here), to a unicast destination; then it waits, behind
 * a filter that passes only that answer, for the server's SYN-ACK; the payload goes to stdout.
 *
 * Request (stdin, big-endian, at most 1024 bytes, read to EOF within 5 s):
 *   "TKH1" | u8 family (4|6) | u16 timeoutMs (100..10000) | u8 count (3)
 *   | 3 x ( u16 length | complete IP packet )
 * Reply (stdout, only on exit 0): u16 length | payload (1..512 bytes)
 *
 * Exit codes:
 *   0  reply received and written
 *   64 bad request (nothing was sent)
 *   70 privilege drop failed
 *   71 cannot open a raw socket (helper not installed setuid root / cap_net_raw)
 *   74 I/O error (read, send, write, address lookup, request not received in time)
 *   75 no matching reply within timeoutMs
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "host-syn.h"
#include "reply-filter.h"

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36
#endif

enum { EX_OK = 0, EX_BADREQ = 64, EX_PRIVDROP = 70, EX_NOPRIV = 71, EX_IO = 74, EX_TIMEOUT = 75 };
#define MAX_REQ 1024
#define NPKT 3
#define MAX_PAYLOAD 512
/* docs/protocol.md §13: the fixed IP fields of a knock SYN. */
#define KNOCK_TTL 64
#define IPV4_DF 0x4000
/* The request must arrive this soon after start; the wait gets timeoutMs plus this much. */
#define REQUEST_DEADLINE_S 5
#define WAIT_SLACK_S 2
/* Receive buffer of the raw sockets: room for a few replies, not for the host's traffic. */
#define RECV_BUFFER 4096

struct pkt {
  const uint8_t *ip;   /* whole packet */
  size_t len;
  const uint8_t *tcp;  /* TCP header */
  size_t optlen;
  const uint8_t *src, *dst;
  uint16_t sport, dport, window;
  uint32_t seq;
};

static void fail(int code, const char *msg) {
  fprintf(stderr, "tumbler-helper: %s\n", msg);
  exit(code);
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Ones' complement sum, folded, not inverted. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += get16(p + i);
  if (n & 1) sum += (uint32_t)p[n - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

/* Make sure fds 0..2 exist so a socket can never land on stdout. */
static void ensure_std_fds(void) {
  for (int fd = 0; fd < 3; fd++)
    if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd) exit(EX_IO);
}

/* SIGALRM: the request or the reply took too long. Only async-signal-safe calls here. */
static volatile sig_atomic_t waiting_for_reply;
static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "tumbler-helper: deadline passed\n";
  ssize_t ignored = write(2, msg, sizeof msg - 1);
  (void)ignored;
  _exit(waiting_for_reply ? EX_TIMEOUT : EX_IO);
}

static void arm_deadlines(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGALRM, &sa, NULL) != 0) fail(EX_IO, "cannot set the deadline");
}

/*
 * A raw socket created as the calling user (the fsuid decides its owner, which nftables' `meta
 * skuid`, iptables' `-m owner` and `ip rule uidrange` see), receiving nothing until told what.
 */
static int open_raw(int family, int proto, int required) {
  int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, proto);
  if (fd < 0) {
    if (errno == EPERM || errno == EACCES)
      fail(EX_NOPRIV, "cannot open raw socket (not privileged); install with: sudo tumbler install-helper");
    if (required) fail(EX_IO, "cannot open raw socket");
    return -1;
  }
  if (proto == IPPROTO_TCP) {
    int size = RECV_BUFFER;
    if (attach_drop_all(fd) != 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) != 0)
      fail(EX_IO, "cannot restrict the receive socket");
    /* Whatever arrived before the filter (bounded). */
    static uint8_t scratch[2048];
    for (int i = 0; i < 1024 && recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) >= 0; i++) {}
  }
  return fd;
}

/* Opens the sockets owned by the caller: fsuid/fsgid switched first (CAP_NET_RAW is not a filesystem capability). */
static void open_sockets(int *send4, int *recv4, int *send6, int *recv6) {
  uid_t ruid = getuid();
  gid_t rgid = getgid();
  setfsgid(rgid);
  setfsuid(ruid);
  if ((uid_t)setfsuid((uid_t)-1) != ruid || (gid_t)setfsgid((gid_t)-1) != rgid) fail(EX_PRIVDROP, "setfsuid failed");
  /* IPv6 may be absent from the kernel: then only IPv4 works. */
  *send4 = open_raw(AF_INET, IPPROTO_RAW, 1);
  *recv4 = open_raw(AF_INET, IPPROTO_TCP, 1);
  *send6 = open_raw(AF_INET6, IPPROTO_RAW, 0);
  *recv6 = open_raw(AF_INET6, IPPROTO_TCP, 0);
  int one = 1;
  if (*send6 >= 0 && setsockopt(*send6, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof one) != 0)
    fail(EX_IO, "cannot set IPV6_HDRINCL");
}

static void drop_privileges(void) {
  uid_t ruid = getuid();
  gid_t rgid = getgid();
  if (geteuid() == 0 && setgroups(0, NULL) != 0) fail(EX_PRIVDROP, "setgroups failed");
  if (setresgid(rgid, rgid, rgid) != 0) fail(EX_PRIVDROP, "setresgid failed");
  if (setresuid(ruid, ruid, ruid) != 0) fail(EX_PRIVDROP, "setresuid failed");
  struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &hdr, data) != 0) fail(EX_PRIVDROP, "capset failed");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    fail(EX_PRIVDROP, "clearing ambient capabilities failed");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(EX_PRIVDROP, "PR_SET_NO_NEW_PRIVS failed");
  /* Keep the process undumpable: its open raw sockets must not be reachable via ptrace. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) fail(EX_PRIVDROP, "PR_SET_DUMPABLE failed");
  /* Verify. */
  uid_t r, e, s;
  gid_t gr, ge, gs;
  if (getresuid(&r, &e, &s) != 0 || r != ruid || e != ruid || s != ruid) fail(EX_PRIVDROP, "uid check failed");
  if (getresgid(&gr, &ge, &gs) != 0 || gr != rgid || ge != rgid || gs != rgid) fail(EX_PRIVDROP, "gid check failed");
  if ((uid_t)setfsuid((uid_t)-1) != ruid || (gid_t)setfsgid((gid_t)-1) != rgid) fail(EX_PRIVDROP, "fsuid check failed");
  if (ruid != 0 && setuid(0) == 0) fail(EX_PRIVDROP, "setuid(0) still possible");
  memset(data, 0xff, sizeof data);
  hdr.version = _LINUX_CAPABILITY_VERSION_3;
  hdr.pid = 0;
  if (syscall(SYS_capget, &hdr, data) != 0) fail(EX_PRIVDROP, "capget failed");
  for (int i = 0; i < 2; i++)
    if (data[i].effective || data[i].permitted || data[i].inheritable) fail(EX_PRIVDROP, "capabilities remain");
  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) fail(EX_PRIVDROP, "no_new_privs not set");
}

static size_t read_request(uint8_t *buf) {
  size_t n = 0;
  for (;;) {
    ssize_t r = read(0, buf + n, MAX_REQ + 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail(EX_IO, "cannot read request");
    if (r == 0) return n;
    n += (size_t)r;
    if (n > MAX_REQ) fail(EX_BADREQ, "request too large");
  }
}

/* Parse and check the fixed parts of one packet; NULL when it is a plain, well-formed SYN, else the reason. */
static const char *parse_packet(int family, const uint8_t *p, size_t len, struct pkt *out) {
  size_t alen, hlen;
  if (family == 4) {
    alen = 4; hlen = 20;
    if (len < 40 || p[0] != 0x45 || get16(p + 2) != len) return "bad IPv4 header or length";
    if (p[1] != 0) return "TOS is not 0";
    if (get16(p + 6) != IPV4_DF || p[9] != 6) return "not DF, a fragment, or not TCP";
    if (p[8] != KNOCK_TTL) return "TTL is not 64";
    if (csum_add(0, p, 20) != 0xffff) return "bad IPv4 header checksum";
    out->src = p + 12; out->dst = p + 16;
  } else {
    alen = 16; hlen = 40;
    if (len < 60 || (p[0] >> 4) != 6 || get16(p + 4) != len - 40) return "bad IPv6 header or length";
    if (((get32(p) >> 20) & 0xff) != 0) return "traffic class is not 0";
    if (p[6] != 6) return "IPv6 extension header or not TCP";
    if (p[7] != KNOCK_TTL) return "hop limit is not 64";
    out->src = p + 8; out->dst = p + 24;
  }
  const uint8_t *t = p + hlen;
  size_t tlen = len - hlen, doff = (size_t)(t[12] >> 4) * 4;
  if (doff < 20 || doff != tlen) return "bad TCP data offset or payload present";
  if ((t[12] & 0x0f) != 0 || t[13] != 0x02) return "TCP flags are not exactly SYN";
  if (get32(t + 8) != 0 || get16(t + 18) != 0) return "non-zero ACK field or urgent pointer";
  if (get16(t + 2) == 0) return "zero destination port";
  uint8_t ph[8] = { 0, 0, (uint8_t)(tlen >> 8), (uint8_t)tlen, 0, 0, 0, 6 };
  uint32_t sum = csum_add(0, out->src, alen);
  sum = csum_add(sum, out->dst, alen);
  sum = csum_add(sum, family == 4 ? ph + 4 : ph, family == 4 ? 4 : 8);
  if (family == 4) sum = csum_add(sum, ph + 2, 2);
  if (csum_add(sum, t, tlen) != 0xffff) return "bad TCP checksum";
  out->ip = p; out->len = len; out->tcp = t; out->optlen = doff - 20;
  out->sport = get16(t); out->dport = get16(t + 2); out->window = get16(t + 14); out->seq = get32(t + 4);
  return NULL;
}

static void parse_request(const uint8_t *b, size_t n, int *family, int *timeout, struct pkt *k) {
  if (n < 8 || memcmp(b, "TKH1", 4) != 0) fail(EX_BADREQ, "bad request header");
  *family = b[4];
  *timeout = get16(b + 5);
  if (*family != 4 && *family != 6) fail(EX_BADREQ, "bad family");
  if (*timeout < 100 || *timeout > 10000) fail(EX_BADREQ, "bad timeout");
  if (b[7] != NPKT) fail(EX_BADREQ, "need exactly 3 packets");
  size_t off = 8;
  for (int i = 0; i < NPKT; i++) {
    if (off + 2 > n) fail(EX_BADREQ, "truncated request");
    size_t len = get16(b + off);
    off += 2;
    if (off + len > n) fail(EX_BADREQ, "truncated request");
    const char *why = parse_packet(*family, b + off, len, &k[i]);
    if (why) fail(EX_BADREQ, why);
    off += len;
  }
  if (off != n) fail(EX_BADREQ, "trailing bytes in request");
  size_t alen = *family == 4 ? 4 : 16;
  for (int i = 1; i < NPKT; i++)
    if (memcmp(k[i].src, k[0].src, alen) || memcmp(k[i].dst, k[0].dst, alen))
      fail(EX_BADREQ, "packets differ in address");
  if (k[0].dport == k[1].dport || k[0].dport == k[2].dport || k[1].dport == k[2].dport)
    fail(EX_BADREQ, "destination ports repeat");
}

/*
 * The packets must be what this host's kernel would send for connect()s to the server: a unicast
 * destination reached from the packets' source address, the window and options the host's settings
 * and route give, source ports from the ephemeral range that the caller can bind — held bound here
 * until exit, so no other socket (another user's connection included) has them meanwhile.
 */
static void check_against_host(int family, const struct pkt *k, int bound[NPKT]) {
  size_t alen = family == 4 ? 4 : 16;
  if (special_destination(family, k[0].dst)) fail(EX_BADREQ, "destination is loopback, multicast or otherwise not unicast");
  struct route_facts route;
  if (host_route(family, k[0].dst, k[0].dport, &route) != 0) fail(EX_BADREQ, "no route to the destination");
  if (!route.unicast) fail(EX_BADREQ, "destination is local or not unicast");
  if (memcmp(route.src, k[0].src, alen) != 0) fail(EX_BADREQ, "source address is not this host's route source");

  struct syn_fields want;
  uint8_t opts[40];
  size_t ts_at;
  host_syn_fields(family, &route, &want);
  size_t optlen = host_syn_options(&want, opts, &ts_at);
  struct port_policy ports;
  host_port_policy(&ports);
  for (int i = 0; i < NPKT; i++) {
    const uint8_t *o = k[i].tcp + 20;
    if (k[i].window != want.window) fail(EX_BADREQ, "window is not this host's");
    /* Byte for byte, but for the timestamp value, which is the caller's. */
    if (k[i].optlen != optlen || memcmp(o, opts, ts_at ? ts_at : optlen) != 0
        || (ts_at && memcmp(o + ts_at + 4, opts + ts_at + 4, optlen - ts_at - 4) != 0))
      fail(EX_BADREQ, "TCP options are not this host's (MSS, SACK, timestamps, window scale)");
    if (!port_allowed(&ports, k[i].sport)) fail(EX_BADREQ, "source port outside the ephemeral range or reserved");
  }
  for (int i = 0; i < NPKT; i++) {
    struct sockaddr_storage ss;
    socklen_t sl;
    fill_addr(family, k[i].src, k[i].sport, &ss, &sl);
    bound[i] = socket(family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (bound[i] < 0) fail(EX_IO, "cannot open a TCP socket");
    if (bind(bound[i], (struct sockaddr *)&ss, sl) != 0) fail(EX_BADREQ, "source port is in use or not the caller's to bind");
  }
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns the payload length (and its offset) when buf is the SYN-ACK answering k[2], else -1. */
static int match_reply(int family, const uint8_t *buf, size_t n, const struct sockaddr_storage *from,
                       const struct pkt *k, size_t *poff) {
  size_t off = 0;
  if (family == 4) {
    if (n < 20 || (buf[0] >> 4) != 4 || buf[9] != 6) return -1;
    size_t ihl = (size_t)(buf[0] & 0x0f) * 4, tot = get16(buf + 2);
    if (ihl < 20 || tot > n || tot < ihl) return -1;
    if (memcmp(buf + 12, k->dst, 4) || memcmp(buf + 16, k->src, 4)) return -1;
    off = ihl; n = tot;
  } else {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)from;
    if (s6->sin6_family != AF_INET6 || memcmp(&s6->sin6_addr, k->dst, 16)) return -1;
  }
  if (n - off < 20) return -1;
  const uint8_t *t = buf + off;
  size_t doff = (size_t)(t[12] >> 4) * 4;
  if (get16(t) != k->dport || get16(t + 2) != k->sport) return -1;
  if ((t[12] & 0x0f) != 0 || t[13] != 0x12 || get32(t + 8) != (uint32_t)(k->seq + 1)) return -1;
  if (doff < 20 || doff > n - off) return -1;
  size_t plen = n - off - doff;
  if (plen < 1 || plen > MAX_PAYLOAD) return -1;
  *poff = off + doff;
  return (int)plen;
}

static void write_all(const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) fail(EX_IO, "cannot write reply");
    p += w; n -= (size_t)w;
  }
}

int main(void) {
  static uint8_t req[MAX_REQ + 1], buf[65536];
  struct pkt k[NPKT];
  int family, timeout, send4, recv4, send6, recv6, bound[NPKT];
  ensure_std_fds();
  arm_deadlines();
  /* 1. Sockets, while privileged: owned by the caller, deaf until the request is known. */
  open_sockets(&send4, &recv4, &send6, &recv6);
  /* 2. Drop, for good. */
  drop_privileges();
  /* 3. Request, within a deadline; checked against what this host's kernel would send. */
  alarm(REQUEST_DEADLINE_S);
  size_t n = read_request(req);
  parse_request(req, n, &family, &timeout, k);
  int sfd = family == 4 ? send4 : send6, rfd = family == 4 ? recv4 : recv6;
  close(family == 4 ? send6 : send4);
  close(family == 4 ? recv6 : recv4);
  if (sfd < 0 || rfd < 0) fail(EX_IO, "IPv6 raw sockets unavailable");
  check_against_host(family, k, bound);
  /* 4. Hear only the answer to packet 3, then send, then wait for it. */
  if (attach_reply_filter(rfd, family, k[2].dst, k[2].dport, k[2].src, k[2].sport, k[2].seq + 1) != 0)
    fail(EX_IO, "cannot attach the reply filter");
  waiting_for_reply = 1;
  alarm((unsigned)(timeout / 1000 + WAIT_SLACK_S));
  struct sockaddr_storage ss;
  socklen_t sl;
  fill_addr(family, k[0].dst, 0, &ss, &sl);
  for (int i = 0; i < NPKT; i++)
    if (sendto(sfd, k[i].ip, k[i].len, 0, (struct sockaddr *)&ss, sl) != (ssize_t)k[i].len)
      fail(EX_IO, "send failed");
  long long deadline = now_ms() + timeout;
  for (;;) {
    long long left = deadline - now_ms();
    if (left <= 0) return EX_TIMEOUT;
    struct pollfd pfd = { rfd, POLLIN, 0 };
    int pr = poll(&pfd, 1, (int)left);
    if (pr < 0 && errno != EINTR) fail(EX_IO, "poll failed");
    if (pr <= 0) continue;
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    ssize_t r = recvfrom(rfd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      fail(EX_IO, "receive failed");
    }
    size_t poff;
    int plen = match_reply(family, buf, (size_t)r, &from, &k[2], &poff);
    if (plen < 0) continue;
    uint8_t hdr[2] = { (uint8_t)(plen >> 8), (uint8_t)plen };
    write_all(hdr, 2);
    write_all(buf + poff, (size_t)plen);
    return EX_OK;
  }
}
