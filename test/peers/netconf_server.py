"""An independent NETCONF server for the interoperability tests.

The server is Christian Hopps' `netconf` package (PyPI 2.1.0: paramiko SSH,
base:1.0 end-of-message and base:1.1 chunked framing, RFC 6241 subtree
filtering in `netconf.util.filter_results`). This launcher only gives it a data
tree: an ietf-interfaces `interfaces-state` list whose counters grow with time,
plus an ietf-system `system-state` container that a filter on interfaces must
leave out. It binds to 127.0.0.1 only, with the host key it is given, and
prints one JSON line when ready ({"port", "hostKeySha256"}) and one per rpc.

Options: --base 1.0 makes it advertise base:1.0 only (the library always offers
both, so its hello and framing choice are narrowed here); --ignore-filter makes
it answer every <get> with its whole tree, like servers that ignore filters.
"""
import argparse
import base64
import errno
import hashlib
import json
import signal
import socket
import sys
import threading
import time

from lxml import etree
import netconf
import netconf.base as ncbase
from netconf import server as ncserver
from netconf import util as ncutil
import sshutil.server as sshserver

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
IF = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
SYS = "urn:ietf:params:xml:ns:yang:ietf-system"


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class _LoopbackSocket(socket.socket):
    """A listening socket that binds to 127.0.0.1 whatever address it is given."""

    def bind(self, address):
        super().bind(("127.0.0.1", address[1]))


class _LoopbackSocketModule:
    """Stands in for the `socket` module inside sshutil.server: IPv4 loopback only."""

    def __getattr__(self, name):
        return getattr(socket, name)

    def socket(self, family=socket.AF_INET, kind=socket.SOCK_STREAM, *rest):
        if family == socket.AF_INET6:
            raise OSError(errno.EAFNOSUPPORT, "IPv4 loopback only")
        return _LoopbackSocket(family, kind, *rest)


class _WithoutBase11(set):
    """The capability set of a session that must not choose chunked framing."""

    def add(self, cap):
        if cap != ncbase.NC_BASE_11:
            super().add(cap)


def force_base10():
    original = ncbase.NetconfSession.send_hello

    def send_hello(self, caplist, session_id=None):
        # Reading the peer's hello fills self.capabilities; without base:1.1 in it the
        # library keeps end-of-message framing.
        self.capabilities = _WithoutBase11()
        return original(self, [c for c in caplist if c != ncbase.NC_BASE_11], session_id)

    ncbase.NetconfSession.send_hello = send_hello


class InterfacesModel:
    """Counters that grow at a steady rate per interface since start-up."""

    def __init__(self, count):
        self.started = time.time()
        self.names = ["eth%d" % i for i in range(count)]

    def tree(self):
        elapsed = time.time() - self.started
        data = etree.Element("{%s}data" % NC, nsmap={None: NC})
        state = etree.SubElement(data, "{%s}interfaces-state" % IF, nsmap={None: IF})
        for i, name in enumerate(self.names):
            itf = etree.SubElement(state, "{%s}interface" % IF)
            etree.SubElement(itf, "{%s}name" % IF).text = name
            etree.SubElement(itf, "{%s}oper-status" % IF).text = "up" if i % 4 != 3 else "down"
            stats = etree.SubElement(itf, "{%s}statistics" % IF)
            rate = 125000 * (i + 1)
            etree.SubElement(stats, "{%s}in-octets" % IF).text = str(int(1000000 + rate * elapsed))
            etree.SubElement(stats, "{%s}out-octets" % IF).text = str(int(2000000 + rate * 2 * elapsed))
            etree.SubElement(stats, "{%s}in-errors" % IF).text = str(int(elapsed) // 10)
            etree.SubElement(stats, "{%s}out-errors" % IF).text = "0"
        system = etree.SubElement(data, "{%s}system-state" % SYS, nsmap={None: SYS})
        platform = etree.SubElement(system, "{%s}platform" % SYS)
        etree.SubElement(platform, "{%s}os-name" % SYS).text = "python-netconf"
        etree.SubElement(platform, "{%s}os-release" % SYS).text = "2.1.0"
        clock = etree.SubElement(system, "{%s}clock" % SYS)
        etree.SubElement(clock, "{%s}current-datetime" % SYS).text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return data


class Methods(ncserver.NetconfMethods):
    def __init__(self, model, ignore_filter):
        self.model = model
        self.ignore_filter = ignore_filter

    def nc_append_capabilities(self, capabilities):
        for cap in (
            "urn:ietf:params:xml:ns:yang:ietf-interfaces?module=ietf-interfaces&revision=2014-05-08",
            "urn:ietf:params:xml:ns:yang:ietf-system?module=ietf-system&revision=2014-08-06",
        ):
            ncutil.subelm(capabilities, "capability").text = cap

    def rpc_get(self, session, rpc, filter_or_none):
        emit({"rpc": "get", "filter": filter_or_none is not None, "framing": "chunked" if session.new_framing else "eom"})
        data = self.model.tree()
        if self.ignore_filter:
            return data
        return ncutil.filter_results(rpc, data, filter_or_none)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host-key", required=True, help="private host key file (OpenSSH or PEM)")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument("--base", choices=["1.0", "1.1"], default="1.1")
    parser.add_argument("--ignore-filter", action="store_true")
    parser.add_argument("--interfaces", type=int, default=4)
    args = parser.parse_args()

    # The library turns subtree filters into XPath and knows only the namespaces registered here.
    netconf.nsmap_add("if", IF)
    netconf.nsmap_add("sys", SYS)
    sshserver.socket = _LoopbackSocketModule()
    if args.base == "1.0":
        force_base10()

    controller = ncserver.SSHUserPassController(username=args.username, password=args.password)
    srv = ncserver.NetconfSSHServer(
        server_ctl=controller,
        server_methods=Methods(InterfacesModel(args.interfaces), args.ignore_filter),
        port=args.port,
        host_key=args.host_key,
    )
    blob = srv.host_key.asbytes()
    fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    emit({"port": srv.port, "hostKeySha256": fingerprint, "base": args.base, "ignoreFilter": args.ignore_filter})

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    srv.close()


if __name__ == "__main__":
    main()
