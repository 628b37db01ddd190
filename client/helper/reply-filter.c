/*
 * reply-filter.c: the helper's socket filters (see reply-filter.h). An IPv4 raw socket's filter
 * sees the packet from its IP header; an IPv6 raw socket's from the TCP header, so the IPv6
 * addresses are read relative to the network header (SKF_NET_OFF).
 */
#include "reply-filter.h"

#include <linux/filter.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_INSNS 32
#define SYN_ACK 0x12
#define FRAG_OFFSET_MASK 0x1fff
/* A jump offset meaning "to the final drop", patched by finish() (programs are far shorter than 255). */
#define TO_DROP 0xff

struct prog {
  struct sock_filter f[MAX_INSNS];
  unsigned short n;
};

static void op(struct prog *p, unsigned short code, uint32_t k) {
  p->f[p->n++] = (struct sock_filter)BPF_STMT(code, k);
}

/* Drop unless the accumulator is `value`. */
static void require(struct prog *p, uint32_t value) {
  p->f[p->n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, value, 0, TO_DROP);
}

static uint32_t word(const uint8_t *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Accept, then drop; every pending jump to the drop now points at the last instruction. */
static int finish(struct prog *p, int fd) {
  op(p, BPF_RET | BPF_K, 0x40000);
  op(p, BPF_RET | BPF_K, 0);
  for (unsigned short i = 0; i < p->n; i++) {
    if (BPF_CLASS(p->f[i].code) != BPF_JMP) continue;
    if (p->f[i].jt == TO_DROP) p->f[i].jt = (uint8_t)(p->n - 1 - (i + 1));
    if (p->f[i].jf == TO_DROP) p->f[i].jf = (uint8_t)(p->n - 1 - (i + 1));
  }
  struct sock_fprog fp = { p->n, p->f };
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp);
}

int attach_drop_all(int fd) {
  struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
  struct sock_fprog fp = { 1, f };
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp);
}

int attach_reply_filter(int fd, int family, const uint8_t *server, uint16_t server_port,
                        const uint8_t *ours, uint16_t our_port, uint32_t ack) {
  struct prog p;
  memset(&p, 0, sizeof p);
  if (family == 4) {
    op(&p, BPF_LD | BPF_W | BPF_ABS, 12);
    require(&p, word(server));
    op(&p, BPF_LD | BPF_W | BPF_ABS, 16);
    require(&p, word(ours));
    op(&p, BPF_LD | BPF_H | BPF_ABS, 6);
    p.f[p.n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, FRAG_OFFSET_MASK, TO_DROP, 0);
    op(&p, BPF_LDX | BPF_B | BPF_MSH, 0); /* X = IP header length */
  } else {
    for (int i = 0; i < 4; i++) {
      op(&p, BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_NET_OFF + 8 + 4 * i));
      require(&p, word(server + 4 * i));
    }
    for (int i = 0; i < 4; i++) {
      op(&p, BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_NET_OFF + 24 + 4 * i));
      require(&p, word(ours + 4 * i));
    }
    op(&p, BPF_LDX | BPF_W | BPF_IMM, 0); /* X = 0: the TCP header is at the start */
  }
  op(&p, BPF_LD | BPF_H | BPF_IND, 0);
  require(&p, server_port);
  op(&p, BPF_LD | BPF_H | BPF_IND, 2);
  require(&p, our_port);
  op(&p, BPF_LD | BPF_W | BPF_IND, 8);
  require(&p, ack);
  op(&p, BPF_LD | BPF_B | BPF_IND, 13);
  require(&p, SYN_ACK);
  return finish(&p, fd);
}
