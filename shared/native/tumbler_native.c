/*
 * tumbler_native: the few Linux system calls Node 20 has no API for, as a small Node-API addon.
 *
 *   setNoNewPrivs()        prctl(PR_SET_NO_NEW_PRIVS, 1): no execve can ever grant privileges again
 *   getNoNewPrivs()        prctl(PR_GET_NO_NEW_PRIVS) -> 0 | 1
 *   lockPacketFilters()    SO_LOCK_FILTER on every AF_PACKET socket of this process (libpcap's
 *                          capture sockets): their BPF filter can no longer be changed or removed,
 *                          even by this process -> number of sockets locked
 *   peerCredentials(fd)    getsockopt(SO_PEERCRED) of a connected Unix-domain socket -> {pid, uid, gid}
 *   setNotDumpable()       prctl(PR_SET_DUMPABLE, 0): no core dump, and no other process of the same
 *                          user may ptrace this one or read its memory (/proc/PID/mem) -- for a
 *                          process that holds keys in memory (tumbler agent), as ssh-agent does
 *   isDumpable()           prctl(PR_GET_DUMPABLE) -> 0 | 1 | 2
 *
 * Errors are thrown as Error objects whose `code` is "NATIVE_" + the errno name (e.g.
 * NATIVE_EBADF). No allocation survives a call; nothing here reads packet or user data.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>

#ifndef SO_LOCK_FILTER
#define SO_LOCK_FILTER 44
#endif

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char code[48];
  char msg[160];
  const char *name = strerrorname_np(err);
  snprintf(code, sizeof code, "NATIVE_%s", name ? name : "ERRNO");
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, code, msg);
  return NULL;
}

static napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

static napi_value set_no_new_privs(napi_env env, napi_callback_info info) {
  (void)info;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return throw_errno(env, "prctl(PR_SET_NO_NEW_PRIVS)", errno);
  napi_value undef;
  napi_get_undefined(env, &undef);
  return undef;
}

static napi_value get_no_new_privs(napi_env env, napi_callback_info info) {
  (void)info;
  int r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
  if (r < 0) return throw_errno(env, "prctl(PR_GET_NO_NEW_PRIVS)", errno);
  return make_int(env, r);
}

static napi_value set_not_dumpable(napi_env env, napi_callback_info info) {
  (void)info;
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return throw_errno(env, "prctl(PR_SET_DUMPABLE)", errno);
  napi_value undef;
  napi_get_undefined(env, &undef);
  return undef;
}

static napi_value is_dumpable(napi_env env, napi_callback_info info) {
  (void)info;
  int r = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  if (r < 0) return throw_errno(env, "prctl(PR_GET_DUMPABLE)", errno);
  return make_int(env, r);
}

static napi_value lock_packet_filters(napi_env env, napi_callback_info info) {
  (void)info;
  DIR *d = opendir("/proc/self/fd");
  if (!d) return throw_errno(env, "opendir(/proc/self/fd)", errno);
  int locked = 0;
  int self = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char *end;
    long fd = strtol(e->d_name, &end, 10);
    if (*end != '\0' || end == e->d_name || fd == self) continue;
    int domain = 0;
    socklen_t len = sizeof domain;
    if (getsockopt((int)fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_PACKET) continue;
    int one = 1;
    if (setsockopt((int)fd, SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof one) != 0) {
      int err = errno;
      closedir(d);
      return throw_errno(env, "setsockopt(SO_LOCK_FILTER)", err);
    }
    locked++;
  }
  closedir(d);
  return make_int(env, locked);
}

static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "NATIVE_EINVAL", "peerCredentials(fd): fd must be a non-negative integer");
    return NULL;
  }
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
  napi_value out;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "pid", make_int(env, cred.pid));
  napi_set_named_property(env, out, "uid", make_int(env, cred.uid));
  napi_set_named_property(env, out, "gid", make_int(env, cred.gid));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "setNoNewPrivs", NULL, set_no_new_privs, NULL, NULL, NULL, napi_enumerable, NULL },
    { "getNoNewPrivs", NULL, get_no_new_privs, NULL, NULL, NULL, napi_enumerable, NULL },
    { "lockPacketFilters", NULL, lock_packet_filters, NULL, NULL, NULL, napi_enumerable, NULL },
    { "peerCredentials", NULL, peer_credentials, NULL, NULL, NULL, napi_enumerable, NULL },
    { "setNotDumpable", NULL, set_not_dumpable, NULL, NULL, NULL, napi_enumerable, NULL },
    { "isDumpable", NULL, is_dumpable, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
