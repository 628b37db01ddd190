/*
 * Benchmark flooder (root, inside a namespace the benchmark made): sends TCP SYNs or UDP datagrams
 * from a raw socket as fast as it can, to random destination ports in [first, last], with random
 * source ports, ISNs and IP IDs. Bounded: stops after COUNT packets or SECONDS, whichever first.
 * Prints "sent <n> <seconds>" on stdout. The benchmark's own tool, not part of Tumbler.
 *
 *   flood tcp|udp SRC DST FIRST LAST COUNT SECONDS [RATE]   (RATE packets/s; 0 or absent = as fast as it can)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static uint64_t rng = 88172645463325252ULL;
static uint32_t next32(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

static uint16_t csum(const void *data, size_t len, uint32_t sum) {
  const uint8_t *p = data;
  for (; len > 1; len -= 2, p += 2) sum += (uint32_t)(p[0] << 8 | p[1]);
  if (len) sum += (uint32_t)(p[0] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons((uint16_t)~sum);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 8 && argc != 9) {
    fprintf(stderr, "usage: flood tcp|udp SRC DST FIRST LAST COUNT SECONDS [RATE]\n");
    return 64;
  }
  int tcp = strcmp(argv[1], "tcp") == 0;
  struct in_addr src, dst;
  if (inet_pton(AF_INET, argv[2], &src) != 1 || inet_pton(AF_INET, argv[3], &dst) != 1) return 64;
  long first = atol(argv[4]), last = atol(argv[5]), count = atol(argv[6]);
  double seconds = atof(argv[7]);
  double rate = argc == 9 ? atof(argv[8]) : 0;
  if (first < 1 || last > 65535 || first > last || count < 1 || count > 50000000 || seconds <= 0 || seconds > 120) return 64;

  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) { perror("socket"); return 71; }
  int big = 1 << 22;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  rng ^= (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);

  size_t l4 = tcp ? sizeof(struct tcphdr) : sizeof(struct udphdr) + 16;
  size_t len = sizeof(struct iphdr) + l4;
  static uint8_t pkts[BATCH][64];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = dst };
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = pkts[i];
    iov[i].iov_len = len;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = sizeof to;
  }

  long sent = 0;
  double start = now();
  while (sent < count && now() - start < seconds) {
    if (rate > 0) {  /* pace: never ahead of rate * elapsed */
      double ahead = (double)sent / rate - (now() - start);
      if (ahead > 0) usleep((useconds_t)(ahead * 1e6));
    }
    int n = (int)(count - sent < BATCH ? count - sent : BATCH);
    for (int i = 0; i < n; i++) {
      uint8_t *p = pkts[i];
      memset(p, 0, len);
      struct iphdr *ip = (struct iphdr *)p;
      ip->version = 4; ip->ihl = 5; ip->ttl = 64; ip->tot_len = htons((uint16_t)len);
      ip->id = (uint16_t)next32(); ip->frag_off = htons(IP_DF);
      ip->protocol = tcp ? IPPROTO_TCP : IPPROTO_UDP; ip->saddr = src.s_addr; ip->daddr = dst.s_addr;
      ip->check = csum(ip, sizeof *ip, 0);
      uint16_t dport = (uint16_t)(first + (long)(next32() % (uint32_t)(last - first + 1)));
      uint16_t sport = (uint16_t)(32768 + next32() % 28000);
      /* Pseudo-header sum for the L4 checksum. */
      uint32_t ph = (ntohl(src.s_addr) >> 16) + (ntohl(src.s_addr) & 0xffff) + (ntohl(dst.s_addr) >> 16) +
                    (ntohl(dst.s_addr) & 0xffff) + ip->protocol + (uint32_t)l4;
      if (tcp) {
        struct tcphdr *t = (struct tcphdr *)(p + sizeof *ip);
        t->source = htons(sport); t->dest = htons(dport); t->seq = next32(); t->doff = 5; t->syn = 1;
        t->window = htons(64240);
        t->check = csum(t, l4, ph);
      } else {
        struct udphdr *u = (struct udphdr *)(p + sizeof *ip);
        u->source = htons(sport); u->dest = htons(dport); u->len = htons((uint16_t)l4);
        for (size_t k = 0; k < 16; k++) p[sizeof *ip + sizeof *u + k] = (uint8_t)next32();
        u->check = csum(u, l4, ph);
      }
    }
    int r = sendmmsg(fd, msgs, (unsigned)n, 0);
    if (r > 0) sent += r;
  }
  printf("sent %ld %.3f\n", sent, now() - start);
  return 0;
}
