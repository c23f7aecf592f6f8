"""
An independent gNMI client (pygnmi, written elsewhere) against one simulated
target: Capabilities, Get in JSON, JSON_IETF and PROTO, Subscribe ONCE, POLL and
STREAM, and a wrong password. Prints one line `PROBE_RESULT <json>` on stdout
(pygnmi itself prints log lines there too) for the test
(test/integration/gnmi-peer-clients.test.ts) to assert on; every step records
what it saw or the gRPC status it got, so one failing step does not hide the rest.

Usage: python pygnmi_probe.py HOST PORT USERNAME PASSWORD [--ca CA_FILE]
(plaintext unless --ca is given).
"""
import json
import sys
import time

import grpc
from pygnmi.client import gNMIclient

LEAF = "interfaces/interface[name=Ethernet1]/state/counters/in-octets"
COUNTERS = "interfaces/interface[name=Ethernet1]/state/counters"


def status_of(err):
    """The gRPC status name behind a pygnmi or grpc exception, else the exception's text."""
    seen = set()
    e = err
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, grpc.RpcError) and hasattr(e, "code"):
            return e.code().name
        for attr in ("orig_exc", "__cause__", "__context__"):
            nxt = getattr(e, attr, None)
            if nxt is not None:
                e = nxt
                break
        else:
            args = getattr(e, "args", ())
            e = next((a for a in args if isinstance(a, BaseException)), None)
    return f"{type(err).__name__}: {err}"


def leaves(notifications):
    """path -> value of every update in a pygnmi Get response (paths relative to the notification prefix)."""
    out = {}
    for n in notifications or []:
        prefix = n.get("prefix") or ""
        for u in n.get("update") or []:
            path = "/".join(p for p in (prefix, u.get("path") or "") if p)
            val = u.get("val")
            out[path] = val if isinstance(val, (int, float, str, bool, dict, list)) or val is None else str(val)
    return out


def updates_of(msg):
    """Updates carried by one pygnmi subscription message (its telemetryParser form)."""
    upd = msg.get("update") or {}
    return upd.get("update") or []


def in_octets(update):
    """The in-octets value in one update: the leaf itself (PROTO), or inside a JSON tree."""
    if (update.get("path") or "").endswith("in-octets"):
        return update.get("val")
    stack = [update.get("val")]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            if "in-octets" in v:
                return v["in-octets"]
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return None


def main():
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ca = sys.argv[sys.argv.index("--ca") + 1] if "--ca" in sys.argv else None
    opts = dict(target=(host, port), username=user, password=password, gnmi_timeout=10)
    opts.update(dict(path_cert=ca) if ca else dict(insecure=True))
    result = {}

    with gNMIclient(**opts) as gc:
        # Capabilities (pygnmi also calls it inside connect() to pick its default encoding).
        try:
            caps = gc.capabilities()
            result["capabilities"] = {
                "version": caps.get("gnmi_version"),
                "encodings": caps.get("supported_encodings"),
                "models": [m.get("name") for m in caps.get("supported_models", [])],
            }
        except Exception as err:  # noqa: BLE001 - report, do not stop
            result["capabilities"] = {"error": status_of(err)}

        # Get in each encoding: one leaf, and a container (JSON flavours send it as one tree).
        result["get"] = {}
        for enc in ("json", "json_ietf", "proto"):
            try:
                leaf = gc.get(path=[LEAF], encoding=enc).get("notification")
                tree = gc.get(path=[COUNTERS], encoding=enc).get("notification")
                result["get"][enc] = {"leaf": leaves(leaf), "container": leaves(tree)}
            except Exception as err:  # noqa: BLE001
                result["get"][enc] = {"error": status_of(err)}

        sub_path = {"path": COUNTERS, "mode": "sample", "sample_interval": 200_000_000}

        # ONCE: updates, then sync_response, then the target ends the call.
        try:
            once = gc.subscribe2(subscribe={"mode": "once", "encoding": "proto", "subscription": [{"path": COUNTERS}]})
            n_updates, synced = 0, False
            for msg in once:
                n_updates += len(updates_of(msg))
                if msg.get("sync_response"):
                    synced = True
            once.close()
            result["once"] = {"updates": n_updates, "synced": synced}
        except Exception as err:  # noqa: BLE001
            result["once"] = {"error": status_of(err)}

        # POLL: the initial round, then two Polls, each answered up to a sync_response.
        try:
            poll = gc.subscribe2(subscribe={"mode": "poll", "encoding": "json_ietf", "subscription": [{"path": COUNTERS}]})
            rounds = []
            for _ in range(3):
                msg = poll.get_update(timeout=10)
                rounds.append({"updates": len(updates_of(msg)), "synced": bool(msg.get("sync_response"))})
            poll.close()
            result["poll"] = {"rounds": rounds}
        except Exception as err:  # noqa: BLE001
            result["poll"] = {"error": status_of(err)}

        # STREAM/SAMPLE every 200 ms: the initial state up to sync, then samples as they come.
        try:
            stream = gc.subscribe2(subscribe={"mode": "stream", "encoding": "json", "subscription": [sub_path]})
            first = stream.get_update(timeout=10)
            samples = []
            started = time.time()
            while len(samples) < 3 and time.time() - started < 10:
                msg = stream.get_update(timeout=10)
                for u in updates_of(msg):
                    value = in_octets(u)
                    if value is not None:
                        samples.append(value)
            stream.close()
            result["stream"] = {
                "initial": len(updates_of(first)),
                "synced": bool(first.get("sync_response")),
                "in_octets": samples,
            }
        except Exception as err:  # noqa: BLE001
            result["stream"] = {"error": status_of(err)}

    # Wrong password: refused. pygnmi calls Capabilities while connecting, so the refusal surfaces there.
    bad = dict(opts, password=password + "-wrong")
    try:
        with gNMIclient(**bad) as gc:
            gc.get(path=[LEAF], encoding="json")
        result["wrong_password"] = {"error": None}
    except Exception as err:  # noqa: BLE001
        result["wrong_password"] = {"error": status_of(err)}

    sys.stdout.write("PROBE_RESULT " + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
