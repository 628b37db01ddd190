/*
 * host-syn.c: the helper's own view of what this host's kernel sends in a connect()'s SYN, read as
 * the calling user after the privilege drop: the TCP sysctls of its network namespace, the kernel
 * release, the route to the destination (netlink RTM_GETROUTE: type and metrics) and the path MTU
 * and source address (a connected UDP socket, which sends nothing). The arithmetic mirrors
 * shared/packet/linux-syn.ts (after the kernel's tcp_select_initial_window); an unreadable sysctl
 * counts as Linux's default there and here, so both sides agree.
 */
#define _GNU_SOURCE
#include "host-syn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Kernel constants (include/net/tcp.h, include/linux/ipv6.h). */
#define U16_MAX 65535u
#define MAX_SIGNED_WINDOW 32767u
#define TCP_MAX_WSCALE 14
#define TCP_RMEM_TO_WIN_SCALE 8
#define TCP_DEFAULT_SCALING_RATIO (1u << (TCP_RMEM_TO_WIN_SCALE - 1))
#define IPV6_MAXPLEN 65535u

struct tcp_settings {
  int kmajor, kminor;
  uint32_t rmem_default, rmem_max, core_rmem_max, min_adv_mss;
  int adv_win_scale, window_scaling, timestamps, sack, workaround_signed;
};

/* Reads up to n whitespace-separated integers of a /proc/sys file; returns how many, or -1. */
static int read_ints(const char *path, long long *v, int n) {
  char buf[256];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t len = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (len <= 0) return -1;
  buf[len] = 0;
  char *p = buf;
  int got = 0;
  while (got < n) {
    char *end;
    errno = 0;
    long long x = strtoll(p, &end, 10);
    if (end == p || errno) break;
    v[got++] = x;
    p = end;
  }
  while (*p == ' ' || *p == '\t' || *p == '\n') p++;
  return *p ? -1 : got; /* trailing garbage: malformed */
}

/* One unsigned 32-bit value, or dflt when absent or malformed. */
static uint32_t sysctl_u32(const char *path, uint32_t dflt) {
  long long v;
  return read_ints(path, &v, 1) == 1 && v >= 0 && v <= 0xffffffffLL ? (uint32_t)v : dflt;
}

static int sysctl_flag(const char *path, int dflt) {
  long long v;
  return read_ints(path, &v, 1) == 1 ? v != 0 : dflt;
}

/* Linux's defaults (shared/packet/linux-syn.ts LINUX_DEFAULT_TCP) for whatever cannot be read. */
static void read_settings(int family, struct tcp_settings *t) {
  long long rmem[3], adv;
  struct utsname u;
  t->kmajor = 6;
  t->kminor = 1;
  if (uname(&u) == 0) {
    char *end;
    long major = strtol(u.release, &end, 10);
    if (end != u.release && *end == '.') {
      char *m = end + 1;
      long minor = strtol(m, &end, 10);
      if (end != m && major >= 0 && major <= 9999 && minor >= 0 && minor <= 9999) {
        t->kmajor = (int)major;
        t->kminor = (int)minor;
      }
    }
  }
  int ok = read_ints("/proc/sys/net/ipv4/tcp_rmem", rmem, 3) == 3 && rmem[1] >= 0 && rmem[2] >= 0
           && rmem[1] <= 0xffffffffLL && rmem[2] <= 0xffffffffLL;
  t->rmem_default = ok ? (uint32_t)rmem[1] : 131072;
  t->rmem_max = ok ? (uint32_t)rmem[2] : 6291456;
  t->core_rmem_max = sysctl_u32("/proc/sys/net/core/rmem_max", 212992);
  t->adv_win_scale = read_ints("/proc/sys/net/ipv4/tcp_adv_win_scale", &adv, 1) == 1 && adv >= -31 && adv <= 31 ? (int)adv : 1;
  t->window_scaling = sysctl_flag("/proc/sys/net/ipv4/tcp_window_scaling", 1);
  t->timestamps = sysctl_flag("/proc/sys/net/ipv4/tcp_timestamps", 1);
  t->sack = sysctl_flag("/proc/sys/net/ipv4/tcp_sack", 1);
  t->workaround_signed = sysctl_flag("/proc/sys/net/ipv4/tcp_workaround_signed_windows", 0);
  t->min_adv_mss = family == 4 ? sysctl_u32("/proc/sys/net/ipv4/route/min_adv_mss", 256)
                               : sysctl_u32("/proc/sys/net/ipv6/route/min_adv_mss", 1220);
}

/* tcp_full_space() of a new socket: tcp_rmem[1] as window bytes. */
static uint64_t full_space(const struct tcp_settings *t) {
  uint64_t space = t->rmem_default;
  if (t->kmajor > 6 || (t->kmajor == 6 && t->kminor >= 6))
    return (space * TCP_DEFAULT_SCALING_RATIO) >> TCP_RMEM_TO_WIN_SCALE;
  int s = t->adv_win_scale;
  return s <= 0 ? space >> -s : space - (space >> s);
}

static uint32_t advertised_mss(int family, const struct tcp_settings *t, const struct route_facts *r) {
  if (r->advmss) return r->advmss;
  uint32_t headers = family == 4 ? 40 : 60;
  uint32_t mss = r->mtu > headers ? r->mtu - headers : 0;
  if (mss < t->min_adv_mss) mss = t->min_adv_mss;
  if (family == 4) return mss > 65535 - headers ? 65535 - headers : mss;
  return mss > IPV6_MAXPLEN - 20 ? IPV6_MAXPLEN : mss;
}

void host_syn_fields(int family, const struct route_facts *r, struct syn_fields *f) {
  struct tcp_settings t;
  read_settings(family, &t);
  uint64_t mss = advertised_mss(family, &t, r);
  uint64_t clamp = r->window ? r->window : (uint64_t)U16_MAX << TCP_MAX_WSCALE;
  uint64_t space = full_space(&t);
  if (space > clamp) space = clamp;
  if (mss && space > mss) space -= space % mss;
  uint64_t wnd = space < (t.workaround_signed ? MAX_SIGNED_WINDOW : U16_MAX) ? space : (t.workaround_signed ? MAX_SIGNED_WINDOW : U16_MAX);
  if (r->initrwnd && wnd > (uint64_t)r->initrwnd * mss) wnd = (uint64_t)r->initrwnd * mss;
  f->window = (uint16_t)wnd;
  f->mss = (uint16_t)mss;
  f->wscale = -1;
  if (t.window_scaling) {
    uint64_t most = space;
    if (t.rmem_max > most) most = t.rmem_max;
    if (t.core_rmem_max > most) most = t.core_rmem_max;
    if (most > clamp) most = clamp;
    int ws = (most ? 63 - __builtin_clzll(most) : -1) - 15;
    f->wscale = ws < 0 ? 0 : ws > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : ws;
  }
  f->sack = t.sack;
  f->timestamps = t.timestamps;
}

size_t host_syn_options(const struct syn_fields *f, uint8_t out[40], size_t *ts_val_at) {
  size_t n = 0;
  out[n++] = 2; out[n++] = 4; out[n++] = (uint8_t)(f->mss >> 8); out[n++] = (uint8_t)f->mss;
  *ts_val_at = 0;
  if (f->timestamps) {
    out[n++] = f->sack ? 4 : 1;
    out[n++] = f->sack ? 2 : 1;
    out[n++] = 8; out[n++] = 10;
    *ts_val_at = n;
    memset(out + n, 0, 8); /* tsVal (any), tsEcr (0 on a SYN) */
    n += 8;
  } else if (f->sack) {
    out[n++] = 1; out[n++] = 1; out[n++] = 4; out[n++] = 2;
  }
  if (f->wscale >= 0) {
    out[n++] = 1; out[n++] = 3; out[n++] = 3; out[n++] = (uint8_t)f->wscale;
  }
  return n;
}

/* rtm_type and the metrics of the route the kernel picks for dst (as this user: uid routing rules apply). */
static int route_lookup(int family, const uint8_t *dst, struct route_facts *r) {
  size_t alen = family == 4 ? 4 : 16;
  struct {
    struct nlmsghdr nh;
    struct rtmsg rt;
    uint8_t attrs[RTA_SPACE(16)];
  } req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof req.rt);
  req.nh.nlmsg_type = RTM_GETROUTE;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = 1;
  req.rt.rtm_family = family == 4 ? AF_INET : AF_INET6;
  req.rt.rtm_dst_len = (unsigned char)(alen * 8);
  struct rtattr *a = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
  a->rta_type = RTA_DST;
  a->rta_len = RTA_LENGTH(alen);
  memcpy(RTA_DATA(a), dst, alen);
  req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(a->rta_len);

  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -1;
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
    close(fd);
    return -1;
  }
  static uint8_t buf[16384];
  ssize_t len;
  do len = recv(fd, buf, sizeof buf, 0); while (len < 0 && errno == EINTR);
  close(fd);
  /* One answer: RTM_NEWROUTE, or NLMSG_ERROR when there is no route. */
  struct nlmsghdr *nh = (struct nlmsghdr *)buf;
  int left = (int)len;
  if (len <= 0 || !NLMSG_OK(nh, left) || nh->nlmsg_seq != 1 || nh->nlmsg_type != RTM_NEWROUTE
      || nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
    return -1;
  struct rtmsg *rt = NLMSG_DATA(nh);
  r->unicast = rt->rtm_type == RTN_UNICAST;
  int attrs = (int)RTM_PAYLOAD(nh);
  for (struct rtattr *at = RTM_RTA(rt); RTA_OK(at, attrs); at = RTA_NEXT(at, attrs)) {
    if (at->rta_type != RTA_METRICS) continue;
    int mlen = (int)RTA_PAYLOAD(at);
    for (struct rtattr *m = RTA_DATA(at); RTA_OK(m, mlen); m = RTA_NEXT(m, mlen)) {
      if (RTA_PAYLOAD(m) < sizeof(uint32_t)) continue;
      uint32_t v;
      memcpy(&v, RTA_DATA(m), sizeof v);
      if (m->rta_type == RTAX_ADVMSS) r->advmss = v;
      else if (m->rta_type == RTAX_WINDOW) r->window = v;
      else if (m->rta_type == RTAX_INITRWND) r->initrwnd = v;
    }
  }
  return 0;
}

void fill_addr(int family, const uint8_t *a, uint16_t port, struct sockaddr_storage *ss, socklen_t *sl) {
  memset(ss, 0, sizeof *ss);
  if (family == 4) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    memcpy(&s4->sin_addr, a, 4);
    *sl = sizeof *s4;
  } else {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    memcpy(&s6->sin6_addr, a, 16);
    *sl = sizeof *s6;
  }
}

int host_route(int family, const uint8_t *dst, uint16_t dport, struct route_facts *r) {
  memset(r, 0, sizeof *r);
  struct sockaddr_storage ss;
  socklen_t sl;
  fill_addr(family, dst, dport, &ss, &sl);
  if (route_lookup(family, dst, r) != 0) return -1;
  if (!r->unicast) return 0;
  /* A UDP connect() picks the route and the source address; it sends nothing. */
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int mtu = 0;
  socklen_t ml = sizeof mtu;
  if (connect(fd, (struct sockaddr *)&ss, sl) != 0
      || (sl = sizeof ss, getsockname(fd, (struct sockaddr *)&ss, &sl)) != 0
      || getsockopt(fd, family == 4 ? IPPROTO_IP : IPPROTO_IPV6, family == 4 ? IP_MTU : IPV6_MTU, &mtu, &ml) != 0
      || mtu <= 0) {
    close(fd);
    return -1;
  }
  close(fd);
  r->mtu = (uint32_t)mtu;
  if (family == 4) memcpy(r->src, &((struct sockaddr_in *)&ss)->sin_addr, 4);
  else memcpy(r->src, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
  return 0;
}

void host_port_policy(struct port_policy *p) {
  long long range[2];
  memset(p, 0, sizeof *p);
  p->first = 32768;
  p->last = 60999;
  if (read_ints("/proc/sys/net/ipv4/ip_local_port_range", range, 2) == 2 && range[0] >= 1 && range[0] <= range[1] && range[1] <= 65535) {
    p->first = (uint16_t)range[0];
    p->last = (uint16_t)range[1];
  }
  /* "8080,9000-9010": every listed port is reserved. */
  char buf[4096];
  int fd = open("/proc/sys/net/ipv4/ip_local_reserved_ports", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t len = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (len <= 0) return;
  buf[len] = 0;
  for (char *item = strtok(buf, ",\n"); item; item = strtok(NULL, ",\n")) {
    char *end;
    long lo = strtol(item, &end, 10), hi = lo;
    if (end == item) continue;
    if (*end == '-') hi = strtol(end + 1, NULL, 10);
    for (long port = lo < 0 ? 0 : lo; port <= hi && port <= 65535; port++) p->reserved[port >> 3] |= (uint8_t)(1u << (port & 7));
  }
}

int port_allowed(const struct port_policy *p, uint16_t port) {
  return port >= p->first && port <= p->last && !(p->reserved[port >> 3] & (1u << (port & 7)));
}

int special_destination(int family, const uint8_t *a) {
  static const uint8_t zero[16], loop6[16] = { [15] = 1 }, mapped[12] = { [10] = 0xff, [11] = 0xff };
  if (family == 4) return a[0] == 0 || a[0] == 127 || a[0] >= 224; /* this network, loopback, multicast, reserved, broadcast */
  return memcmp(a, zero, 16) == 0 || memcmp(a, loop6, 16) == 0 || memcmp(a, mapped, 12) == 0 || a[0] == 0xff;
}
