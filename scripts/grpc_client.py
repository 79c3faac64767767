"""A gRPC client not built from tokengate's code: Python grpcio, generated from
examples/proto/orders.proto. Calls a running `cargo run --example grpc` and checks each
answer. Run it through scripts/grpc-python-client (which makes the venv and the code).
"""
import json
import os
import sys
import time
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: F401  (from grpcio-health-checking)

import orders_pb2
import orders_pb2_grpc

GRPC = os.environ.get("TOKENGATE_GRPC_BIND", "127.0.0.1:50051")
HTTP = "http://" + os.environ.get("TOKENGATE_BIND", "127.0.0.1:3002")
LEEWAY = int(os.environ.get("TOKENGATE_LEEWAY_SECS", "30"))
failures = 0


def check(name, ok, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + name + (f" ({detail})" if detail and not ok else ""))
    if not ok:
        failures += 1


def mint(**claims):
    body = json.dumps(claims).encode()
    request = urllib.request.Request(HTTP + "/dev/token", data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)["access_token"]


def auth(token):
    return (("authorization", "Bearer " + token),)


def code_of(call):
    try:
        call()
        return grpc.StatusCode.OK, None
    except grpc.RpcError as e:
        return e.code(), e


channel = grpc.insecure_channel(GRPC)
orders = orders_pb2_grpc.OrdersStub(channel)
health = health_pb2_grpc.HealthStub(channel)

answer = health.Check(health_pb2.HealthCheckRequest(service=""))
check("health without a token: SERVING", answer.status == health_pb2.HealthCheckResponse.SERVING)

code, err = code_of(lambda: orders.ListOrders(orders_pb2.ListOrdersRequest(tenant_id="acme")))
check("no token: UNAUTHENTICATED", code == grpc.StatusCode.UNAUTHENTICATED, code)
trailers = dict(err.trailing_metadata() or ()) if err else {}
check('no token: www-authenticate Bearer realm="orders"', trailers.get("www-authenticate") == 'Bearer realm="orders"', trailers)

code, _ = code_of(lambda: orders.ListOrders(orders_pb2.ListOrdersRequest(tenant_id="acme"), metadata=auth("e30.e30.AAAA")))
check("a forged token: UNAUTHENTICATED", code == grpc.StatusCode.UNAUTHENTICATED, code)

token = mint(sub="alice", scope="orders:read", tenant_id="acme", ttl_secs=60)
reply = orders.ListOrders(orders_pb2.ListOrdersRequest(tenant_id="acme"), metadata=auth(token))
check("own tenant: the orders", [o.id for o in reply.orders] == ["acme-1", "acme-2"], reply)

code, err = code_of(lambda: orders.ListOrders(orders_pb2.ListOrdersRequest(tenant_id="globex"), metadata=auth(token)))
check("another tenant: PERMISSION_DENIED", code == grpc.StatusCode.PERMISSION_DENIED, code)

no_scope = mint(sub="bob", scope="orders:write", tenant_id="acme", ttl_secs=60)
code, err = code_of(lambda: orders.ListOrders(orders_pb2.ListOrdersRequest(tenant_id="acme"), metadata=auth(no_scope)))
check("no orders:read scope: PERMISSION_DENIED", code == grpc.StatusCode.PERMISSION_DENIED, code)
trailers = dict(err.trailing_metadata() or ()) if err else {}
check("no scope: insufficient_scope challenge", 'scope="orders:read"' in trailers.get("www-authenticate", ""), trailers)

# A stream on a token that lives 2 s: events every 200 ms, then UNAUTHENTICATED at exp + leeway.
short = mint(sub="alice", scope="orders:read", tenant_id="acme", ttl_secs=2)
started, events = time.monotonic(), 0
stream = orders.WatchOrders(orders_pb2.WatchOrdersRequest(tenant_id="acme"), metadata=auth(short), timeout=2 + LEEWAY + 15)
try:
    for event in stream:
        events += 1
    check("stream ended with a status", False, "ended without one")
except grpc.RpcError as e:
    check("stream ended with UNAUTHENTICATED", e.code() == grpc.StatusCode.UNAUTHENTICATED, e.code())
    check("stream: 'the access token expired'", e.details() == "the access token expired", e.details())
check("stream sent events before", events >= 3, events)
print(f"stream: {events} events in {time.monotonic() - started:.1f} s")

sys.exit(1 if failures else 0)
