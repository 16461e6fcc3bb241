#!/usr/bin/python3
"""Python grpcio (C-core) interop client: runs each case against a controlplane server and prints one
JSON line per case ({case, ok, detail}); exit code 1 when any case failed.

Debian ships grpcio without grpcio-tools, so there is no protoc here: the messages are built at run time
from FileDescriptorProtos written below (the subset of fields the cases use; proto3 parsers skip the rest)
and the calls go through the generic channel.unary_unary/... API with explicit method paths.

Usage: /usr/bin/python3 interop_client.py HOST:PORT [case ...]
"""

import json
import os
import sys
import traceback

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

FD = descriptor_pb2.FieldDescriptorProto
NON_ASCII = "Überlastet – 过载"
EXPECTED_SERVICES = [
    "controlplane.v1.Admin",
    "controlplane.v1.Diagnostics",
    "controlplane.v1.Routing",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
]


def _field(message, name, number, type_, label=FD.LABEL_OPTIONAL, type_name=None, oneof=None):
    f = message.field.add(name=name, number=number, type=type_, label=label)
    if type_name:
        f.type_name = type_name
    if oneof is not None:
        f.oneof_index = oneof


def _build_pool():
    pool = descriptor_pool.DescriptorPool()

    diag = descriptor_pb2.FileDescriptorProto(name="controlplane/v1/diagnostics.proto", package="controlplane.v1", syntax="proto3")
    req = diag.message_type.add(name="EchoRequest")
    _field(req, "message", 1, FD.TYPE_STRING)
    _field(req, "payload", 2, FD.TYPE_BYTES)
    _field(req, "count", 3, FD.TYPE_INT32)
    _field(req, "delay_ms", 4, FD.TYPE_INT32)
    _field(req, "respond_with_status", 5, FD.TYPE_INT32)
    _field(req, "status_message", 6, FD.TYPE_STRING)
    _field(req, "echo_metadata", 7, FD.TYPE_STRING, label=FD.LABEL_REPEATED)
    resp = diag.message_type.add(name="EchoResponse")
    _field(resp, "message", 1, FD.TYPE_STRING)
    _field(resp, "payload", 2, FD.TYPE_BYTES)
    _field(resp, "sequence", 3, FD.TYPE_INT32)
    _field(resp, "count", 4, FD.TYPE_INT32)
    pool.Add(diag)

    health = descriptor_pb2.FileDescriptorProto(name="grpc/health/v1/health.proto", package="grpc.health.v1", syntax="proto3")
    hreq = health.message_type.add(name="HealthCheckRequest")
    _field(hreq, "service", 1, FD.TYPE_STRING)
    hresp = health.message_type.add(name="HealthCheckResponse")
    enum = hresp.enum_type.add(name="ServingStatus")
    for i, n in enumerate(["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"]):
        enum.value.add(name=n, number=i)
    _field(hresp, "status", 1, FD.TYPE_ENUM, type_name=".grpc.health.v1.HealthCheckResponse.ServingStatus")
    pool.Add(health)

    for package in ("grpc.reflection.v1", "grpc.reflection.v1alpha"):
        refl = descriptor_pb2.FileDescriptorProto(name=package.replace(".", "/") + "/reflection.proto", package=package, syntax="proto3")
        rreq = refl.message_type.add(name="ServerReflectionRequest")
        rreq.oneof_decl.add(name="message_request")
        _field(rreq, "host", 1, FD.TYPE_STRING)
        _field(rreq, "file_containing_symbol", 4, FD.TYPE_STRING, oneof=0)
        _field(rreq, "list_services", 7, FD.TYPE_STRING, oneof=0)
        svc = refl.message_type.add(name="ServiceResponse")
        _field(svc, "name", 1, FD.TYPE_STRING)
        lst = refl.message_type.add(name="ListServiceResponse")
        _field(lst, "service", 1, FD.TYPE_MESSAGE, label=FD.LABEL_REPEATED, type_name="." + package + ".ServiceResponse")
        fdr = refl.message_type.add(name="FileDescriptorResponse")
        _field(fdr, "file_descriptor_proto", 1, FD.TYPE_BYTES, label=FD.LABEL_REPEATED)
        err = refl.message_type.add(name="ErrorResponse")
        _field(err, "error_code", 1, FD.TYPE_INT32)
        _field(err, "error_message", 2, FD.TYPE_STRING)
        rresp = refl.message_type.add(name="ServerReflectionResponse")
        rresp.oneof_decl.add(name="message_response")
        _field(rresp, "valid_host", 1, FD.TYPE_STRING)
        _field(rresp, "file_descriptor_response", 4, FD.TYPE_MESSAGE, type_name="." + package + ".FileDescriptorResponse", oneof=0)
        _field(rresp, "list_services_response", 6, FD.TYPE_MESSAGE, type_name="." + package + ".ListServiceResponse", oneof=0)
        _field(rresp, "error_response", 7, FD.TYPE_MESSAGE, type_name="." + package + ".ErrorResponse", oneof=0)
        pool.Add(refl)
    return pool


POOL = _build_pool()
_FACTORY = message_factory.MessageFactory(POOL)


def message_class(full_name):
    descriptor = POOL.FindMessageTypeByName(full_name)
    get = getattr(message_factory, "GetMessageClass", None)
    return get(descriptor) if get else _FACTORY.GetPrototype(descriptor)


EchoRequest = message_class("controlplane.v1.EchoRequest")
EchoResponse = message_class("controlplane.v1.EchoResponse")
HealthCheckRequest = message_class("grpc.health.v1.HealthCheckRequest")
HealthCheckResponse = message_class("grpc.health.v1.HealthCheckResponse")
SERVING = 1


def ser(m):
    return m.SerializeToString()


def des(cls):
    return cls.FromString


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def expect_status(fn, code):
    try:
        fn()
    except grpc.RpcError as err:
        check(err.code() == code, "expected %s, got %s: %s" % (code, err.code(), err.details()))
        return err
    raise AssertionError("expected %s but the call succeeded" % code)


class Authorize(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds authorization: Bearer CONTROLPLANE_API_KEY to every call (when the variable is set)."""

    def __init__(self, key):
        self.key = key

    def _details(self, details):
        metadata = list(details.metadata or []) + [("authorization", "Bearer " + self.key)]
        return details._replace(metadata=metadata)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, requests):
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._details(details), requests)


def authorized(channel):
    key = os.environ.get("CONTROLPLANE_API_KEY")
    return grpc.intercept_channel(channel, Authorize(key)) if key else channel


class Cases:
    def __init__(self, address):
        self.channel = authorized(grpc.insecure_channel(address))
        self.gzip_channel = authorized(grpc.insecure_channel(address, compression=grpc.Compression.Gzip))
        d = "/controlplane.v1.Diagnostics/"
        self.echo = self.channel.unary_unary(d + "Echo", request_serializer=ser, response_deserializer=des(EchoResponse))
        self.echo_stream = self.channel.unary_stream(d + "EchoStream", request_serializer=ser, response_deserializer=des(EchoResponse))
        self.collect = self.channel.stream_unary(d + "Collect", request_serializer=ser, response_deserializer=des(EchoResponse))
        self.chat = self.channel.stream_stream(d + "Chat", request_serializer=ser, response_deserializer=des(EchoResponse))
        self.gzip_echo = self.gzip_channel.unary_unary(d + "Echo", request_serializer=ser, response_deserializer=des(EchoResponse))
        self.gzip_echo_stream = self.gzip_channel.unary_stream(d + "EchoStream", request_serializer=ser, response_deserializer=des(EchoResponse))
        h = "/grpc.health.v1.Health/"
        self.check_rpc = self.channel.unary_unary(h + "Check", request_serializer=ser, response_deserializer=des(HealthCheckResponse))
        self.watch_rpc = self.channel.unary_stream(h + "Watch", request_serializer=ser, response_deserializer=des(HealthCheckResponse))

    def close(self):
        self.channel.close()
        self.gzip_channel.close()

    def unary(self):
        payload = bytes([0, 1, 2, 253, 254, 255])
        r = self.echo(EchoRequest(message="hello from grpcio", payload=payload), timeout=10)
        check(r.message == "hello from grpcio" and r.payload == payload, "echo differs: %r" % r)
        return "echoed " + r.message

    def server_streaming(self):
        messages = list(self.echo_stream(EchoRequest(message="tick", count=5), timeout=10))
        check([m.sequence for m in messages] == [0, 1, 2, 3, 4], "sequences %r" % [m.sequence for m in messages])
        check(all(m.message == "tick" and m.count == 5 for m in messages), "bad fields")
        return "%d messages" % len(messages)

    def client_streaming(self):
        r = self.collect(iter([EchoRequest(message=p) for p in "abcd"]), timeout=10)
        check(r.message == "abcd" and r.count == 4, "got %s/%d" % (r.message, r.count))
        return "collected " + r.message

    def bidi(self):
        import queue
        words = ["ping", "pong", "done"]
        outbox = queue.Queue()

        def requests():
            while True:
                item = outbox.get()
                if item is None:
                    return
                yield item

        outbox.put(EchoRequest(message=words[0]))
        responses = self.chat(requests(), timeout=10)
        received = []
        # Each request is queued only after the previous answer arrived: both directions are live.
        for response in responses:
            received.append(response)
            if len(received) < len(words):
                outbox.put(EchoRequest(message=words[len(received)]))
            else:
                outbox.put(None)
        check([m.message for m in received] == words, "answers %r" % [m.message for m in received])
        check([m.sequence for m in received] == [0, 1, 2], "sequences differ")
        return "%d round trips" % len(received)

    def deadline_exceeded(self):
        err = expect_status(lambda: self.echo(EchoRequest(message="slow", delay_ms=5000), timeout=0.3), grpc.StatusCode.DEADLINE_EXCEEDED)
        return err.details()

    def non_ascii_status(self):
        err = expect_status(lambda: self.echo(EchoRequest(respond_with_status=14, status_message=NON_ASCII), timeout=10),
                            grpc.StatusCode.UNAVAILABLE)
        check(err.details() == NON_ASCII, "details %r" % err.details())
        return err.details()

    def unknown_method(self):
        raw = lambda path: self.channel.unary_unary(path)(b"", timeout=10)
        expect_status(lambda: raw("/controlplane.v1.Diagnostics/NoSuchMethod"), grpc.StatusCode.UNIMPLEMENTED)
        err = expect_status(lambda: raw("/no.such.Service/Echo"), grpc.StatusCode.UNIMPLEMENTED)
        return err.details()

    def gzip(self):
        message = "compress me " * 200
        payload = bytes([7]) * (16 * 1024)
        r = self.gzip_echo(EchoRequest(message=message, payload=payload), timeout=10)
        check(r.message == message and r.payload == payload, "gzip echo differs")
        streamed = list(self.gzip_echo_stream(EchoRequest(message="z" * 1000, count=3), timeout=10))
        check(len(streamed) == 3 and all(len(m.message) == 1000 for m in streamed), "gzip stream differs")
        # Per-call compression on an uncompressed channel, too.
        r = self.echo(EchoRequest(message=message), timeout=10, compression=grpc.Compression.Gzip)
        check(r.message == message, "per-call gzip echo differs")
        return "gzip request and responses round-tripped"

    def metadata(self):
        trace = bytes([0, 1, 2, 255])
        r, call = self.echo.with_call(EchoRequest(message="md", echo_metadata=["x-tenant", "x-trace-bin"]), timeout=10,
                                      metadata=(("x-tenant", "acme"), ("x-trace-bin", trace)))
        headers = dict(call.initial_metadata())
        trailers = dict(call.trailing_metadata())
        check(headers.get("x-tenant") == "acme" and headers.get("x-trace-bin") == trace, "headers %r" % headers)
        check(trailers.get("x-tenant") == "acme" and trailers.get("x-trace-bin") == trace, "trailers %r" % trailers)
        return "ascii and -bin metadata echoed in headers and trailers"

    def health_check(self):
        r = self.check_rpc(HealthCheckRequest(service=""), timeout=10)
        check(r.status == SERVING, "status %d" % r.status)
        expect_status(lambda: self.check_rpc(HealthCheckRequest(service="no.such.Service"), timeout=10), grpc.StatusCode.NOT_FOUND)
        return "SERVING"

    def health_watch(self):
        call = self.watch_rpc(HealthCheckRequest(service=""), timeout=10)
        first = next(call)
        call.cancel()
        check(first.status == SERVING, "status %d" % first.status)
        return "SERVING"

    def _reflection(self, package):
        request_cls = message_class(package + ".ServerReflectionRequest")
        response_cls = message_class(package + ".ServerReflectionResponse")
        info = self.channel.stream_stream("/" + package + ".ServerReflection/ServerReflectionInfo",
                                          request_serializer=ser, response_deserializer=des(response_cls))
        requests = [request_cls(host="", list_services=""), request_cls(host="", file_containing_symbol="controlplane.v1.Diagnostics")]
        responses = list(info(iter(requests), timeout=10))
        check(len(responses) == 2, "%d responses" % len(responses))
        names = sorted(s.name for s in responses[0].list_services_response.service)
        check(names == EXPECTED_SERVICES, "services %r" % names)
        files = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in responses[1].file_descriptor_response.file_descriptor_proto]
        check(any(f.name == "controlplane/v1/diagnostics.proto" and any(s.name == "Diagnostics" for s in f.service) for f in files),
              "file_containing_symbol did not return diagnostics.proto: %r" % [f.name for f in files])
        return ",".join(names)

    def reflection_v1(self):
        return self._reflection("grpc.reflection.v1")

    def reflection_v1alpha(self):
        return self._reflection("grpc.reflection.v1alpha")


CASE_NAMES = ["unary", "server_streaming", "client_streaming", "bidi", "deadline_exceeded", "non_ascii_status", "unknown_method",
              "gzip", "metadata", "health_check", "health_watch", "reflection_v1", "reflection_v1alpha"]


def main(argv):
    if len(argv) < 2:
        print("usage: interop_client.py HOST:PORT [case ...]", file=sys.stderr)
        return 2
    cases = Cases(argv[1])
    failed = 0
    try:
        for name in argv[2:] or CASE_NAMES:
            run = getattr(cases, name, None) if name in CASE_NAMES else None
            if run is None:
                line = {"case": name, "ok": False, "detail": "unknown case"}
            else:
                try:
                    line = {"case": name, "ok": True, "detail": str(run())}
                except grpc.RpcError as err:
                    line = {"case": name, "ok": False, "detail": "status %s: %s" % (err.code(), err.details())}
                except Exception:  # noqa: BLE001 - every failure is reported as that case's result
                    line = {"case": name, "ok": False, "detail": traceback.format_exc()}
            failed += 0 if line["ok"] else 1
            print(json.dumps(line, ensure_ascii=False), flush=True)
    finally:
        cases.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
