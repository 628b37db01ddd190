/*
 * What this host's kernel would put in a connect()'s SYN to a destination, re-derived by the
 * helper (as the calling user, after the privilege drop) to check the SYNs it is asked to send.
 * Mirrors shared/packet/linux-syn.ts and client/transport/host-tcp.ts; docs/protocol.md §13.
 */
#ifndef TUMBLER_HOST_SYN_H
#define TUMBLER_HOST_SYN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The route to the server and this host's end of it. */
struct route_facts {
  int unicast;          /* the route is an ordinary unicast route (not local, broadcast, blackhole...) */
  uint8_t src[16];      /* the source address the kernel picks towards the destination */
  uint32_t mtu;         /* path MTU (IP_MTU / IPV6_MTU of a connected socket) */
  uint32_t advmss, window, initrwnd; /* route metrics, 0 when not set */
};

/* The host-derived part of the SYN. */
struct syn_fields {
  uint16_t window;
  uint16_t mss;
  int wscale;           /* -1: no window-scale option */
  int sack, timestamps;
};

/* The ephemeral port range and the reserved list (ip_local_port_range, ip_local_reserved_ports). */
struct port_policy {
  uint16_t first, last;
  uint8_t reserved[8192]; /* bit per port */
};

/* ss and sl for address a (4 or 16 bytes) and port (host order), the rest zero. */
void fill_addr(int family, const uint8_t *a, uint16_t port, struct sockaddr_storage *ss, socklen_t *sl);

/* 0 on success (src and mtu only when unicast); -1 when the destination has no route from here. */
int host_route(int family, const uint8_t *dst, uint16_t dport, struct route_facts *r);

/* The window, MSS and options for a SYN over route r (sysctls of this network namespace). */
void host_syn_fields(int family, const struct route_facts *r, struct syn_fields *f);

/* The option bytes of that SYN in Linux's order, timestamp value zero; returns their length. */
size_t host_syn_options(const struct syn_fields *f, uint8_t out[40], size_t *ts_val_at);

void host_port_policy(struct port_policy *p);
int port_allowed(const struct port_policy *p, uint16_t port);

/* Loopback, unspecified, multicast, broadcast/reserved, IPv4-mapped: never a knock destination. */
int special_destination(int family, const uint8_t *a);

#endif
