# Test tool for connector.test.ts: plays ssh's side of ProxyUseFdpass. Runs the connector with its
# stdout on one end of a socketpair (optionally with a pseudo-terminal as its controlling terminal),
# receives the descriptor it passes (SCM_RIGHTS), and checks that it is a connected TCP socket by
# echoing a line through it. Prints one JSON line: {rc, peerPort?, echo?, error?}.
#   python3 fd-receiver.py [--tty] CONNECTOR ARGS...
import json, os, socket, subprocess, sys

args = sys.argv[1:]
tty = args[0] == '--tty'
if tty:
    args = args[1:]
a, b = socket.socketpair()
pre = None
if tty:
    master, slave = os.openpty()
    name = os.ttyname(slave)
    def pre():
        os.setsid()
        os.close(os.open(name, os.O_RDWR))  # the first terminal opened after setsid becomes the controlling one
p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=b.fileno(), preexec_fn=pre)
b.close()
try:
    rc = p.wait(timeout=30)
except subprocess.TimeoutExpired:
    p.kill()
    rc = -9
out = {'rc': rc}
a.settimeout(2)
try:
    msg, fds, flags, addr = socket.recv_fds(a, 1, 1)
    if fds:
        s = socket.socket(fileno=fds[0])
        s.settimeout(5)
        out['peerPort'] = s.getpeername()[1]
        s.sendall(b'ping\n')
        out['echo'] = s.recv(100).decode()
        s.close()
except Exception as e:
    out['error'] = type(e).__name__
print(json.dumps(out))
