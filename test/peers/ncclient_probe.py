"""An independent NETCONF client against a simulated device: ncclient (PyPI 0.7.1).

Connects with the password given and verifies the server's host key against the
base64 public key given (no known_hosts, no agent, no key files), then does
hello, <get>, <get-config> running, <get-data> on ds:operational and ds:running
(RFC 8526, through ncclient's dispatch: 0.7.1 has no get-data call), an RFC 5277
create-subscription and an RFC 8639 establish-subscription, waiting for one
notification of each. Prints one JSON object with what it saw; every leaf as
"/path/of/leaf": "value" with list entries as name[key].
"""
import argparse
import json
import sys

from lxml import etree
from ncclient import manager
from ncclient.operations import RPCError

IF = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
NMDA = "urn:ietf:params:xml:ns:yang:ietf-netconf-nmda"
DS = "urn:ietf:params:xml:ns:yang:ietf-datastores"
SN = "urn:ietf:params:xml:ns:yang:ietf-subscribed-notifications"
YP = "urn:ietf:params:xml:ns:yang:ietf-yang-push"


def leaves(root):
    """Flatten an element's children into {path: text}."""
    out = {}

    def walk(e, prefix):
        name = etree.QName(e).localname
        kids = list(e)
        if not kids:
            out[prefix + "/" + name] = (e.text or "").strip()
            return
        key = e.find("{%s}name" % etree.QName(e).namespace) if etree.QName(e).namespace else None
        seg = name + ("[%s]" % key.text if key is not None and len(key) == 0 else "")
        for c in kids:
            walk(c, prefix + "/" + seg)

    for c in root:
        walk(c, "")
    return out


def data_of(reply_xml):
    """The <data> element of a reply, or the element itself when it is <data> (ncclient's data_xml)."""
    root = etree.fromstring(reply_xml.encode() if isinstance(reply_xml, str) else reply_xml)
    if etree.QName(root).localname == "data":
        return root
    data = root.find("{urn:ietf:params:xml:ns:netconf:base:1.0}data")
    if data is None:
        data = root.find("{%s}data" % NMDA)
    return data


def connect(args, password):
    return manager.connect(
        host="127.0.0.1",
        port=args.port,
        username=args.username,
        password=password,
        hostkey_verify=True,
        hostkey_b64=args.host_key,
        allow_agent=False,
        look_for_keys=False,
        timeout=10,
        device_params={"name": "default"},
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--host-key", required=True, help="base64 public host key blob")
    p.add_argument("--try-bad-password", action="store_true")
    args = p.parse_args()
    out = {"ok": False}
    try:
        with connect(args, args.password) as m:
            out["serverCapabilities"] = list(m.server_capabilities)
            out["sessionId"] = str(m.session_id)
            interfaces_filter = '<interfaces xmlns="%s"><interface><name>Ethernet1</name></interface></interfaces>' % IF
            out["get"] = {"leaves": leaves(data_of(m.get(filter=("subtree", interfaces_filter)).data_xml))}
            out["getConfig"] = {"leaves": leaves(data_of(m.get_config(source="running").data_xml))}

            def get_data(datastore, subtree):
                req = etree.fromstring(
                    '<get-data xmlns="%s" xmlns:ds="%s"><datastore>ds:%s</datastore><subtree-filter>%s</subtree-filter></get-data>'
                    % (NMDA, DS, datastore, subtree)
                )
                try:
                    return {"leaves": leaves(data_of(m.dispatch(req).xml))}
                except RPCError as e:
                    return {"error": str(e)}

            out["getData"] = get_data("operational", interfaces_filter)
            out["getDataRunning"] = get_data("running", '<interfaces xmlns="%s"/>' % IF)

            m.create_subscription()
            n = m.take_notification(block=True, timeout=10)
            out["createSubscription"] = {"ok": True, "notification": n.notification_xml if n else None}

        # A second session: RFC 5277 and RFC 8639 subscriptions do not share one here.
        with connect(args, args.password) as m:
            req = etree.fromstring(
                '<establish-subscription xmlns="%s" xmlns:yp="%s" xmlns:ds="%s">'
                "<yp:datastore>ds:operational</yp:datastore>"
                '<yp:datastore-subtree-filter><interfaces xmlns="%s"/></yp:datastore-subtree-filter>'
                "<yp:periodic><yp:period>50</yp:period></yp:periodic></establish-subscription>" % (SN, YP, DS, IF)
            )
            try:
                reply = etree.fromstring(m.dispatch(req).xml.encode())
                sid = reply.find("{%s}id" % SN)
                n = m.take_notification(block=True, timeout=10)
                out["establishSubscription"] = {"id": sid.text if sid is not None else None, "notification": n.notification_xml if n else None}
            except RPCError as e:
                out["establishSubscription"] = {"error": str(e)}

        if args.try_bad_password:
            try:
                connect(args, args.password + "-wrong").close_session()
                out["badLogin"] = {"refused": False}
            except Exception as e:  # ncclient raises AuthenticationError
                out["badLogin"] = {"refused": True, "error": type(e).__name__}
        out["ok"] = True
    except Exception as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps(out))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
