/*
 * Classic BPF filters for the helper's raw TCP receive sockets, which would otherwise queue a copy
 * of every inbound TCP segment on the host: nothing at all while the request is unknown, then only
 * the one SYN-ACK that can answer the knock.
 */
#ifndef TUMBLER_REPLY_FILTER_H
#define TUMBLER_REPLY_FILTER_H

#include <stdint.h>

/* 0 on success, -1 with errno. */
int attach_drop_all(int fd);

/* Only segments from server:server_port to ours:our_port, flags exactly SYN+ACK, ack = `ack`. */
int attach_reply_filter(int fd, int family, const uint8_t *server, uint16_t server_port,
                        const uint8_t *ours, uint16_t our_port, uint32_t ack);

#endif
