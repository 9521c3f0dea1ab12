"""Send a UDP datagram to HOST PORT until an answer comes (at most SECONDS, default 30); print it.

The e2e's MetalLB check (tests/e2e/addons.yml): the echo server answers datagrams on its port, as the
video patterns' functions receive RTP over UDP through a LoadBalancer address. Exit 1 without answer.
"""
import socket
import sys
import time


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    deadline = time.monotonic() + (float(sys.argv[3]) if len(sys.argv) > 3 else 30.0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1.0)
        while time.monotonic() < deadline:
            sock.sendto(b'okl-e2e udp probe\n', (host, port))
            try:
                data, peer = sock.recvfrom(2048)
            except socket.timeout:
                continue
            print('%s:%d answered: %s' % (peer[0], peer[1], data.decode().strip()))
            return 0
    print('no answer from %s:%d over UDP' % (host, port), file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
