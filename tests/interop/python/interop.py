#!/usr/bin/python3
"""Interop cases against the FlashDeal gRPC runtime with Python grpcio (the C-core client).

Usage: /usr/bin/python3 interop.py <address>. Prints one JSON line per case; the xunit test asserts them.
Message classes are built at runtime from a descriptor set that protoc writes to a temp dir, and calls go through
grpcio's generic multi-callables, so nothing is generated into the source tree or onto the module path.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback

import grpc
import grpc_tools
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PROTO_FILES = [
    "flashdeal/testing/v1/echo.proto",
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
    "grpc/health/v1/health.proto",
    "grpc/reflection/v1/reflection.proto",
]
BINARY_VALUE = bytes([0, 1, 2, 255])


def load_messages():
    """Returns {full name: message class} for every message in PROTO_FILES and their imports."""
    # python3-grpc-tools bundles protoc 3.5, too old for proto3 `optional`; the protoc of protobuf-compiler is used.
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "interop.pb")
        subprocess.run(
            ["protoc", f"-I{REPO}/protos", f"-I{REPO}/tests/protos", f"-I{well_known}",
             "--include_imports", f"--descriptor_set_out={out}", *PROTO_FILES],
            check=True)
        with open(out, "rb") as f:
            files = descriptor_pb2.FileDescriptorSet.FromString(f.read()).file
    # A private pool: the well-known files in the set may differ from those the protobuf runtime holds.
    pool = descriptor_pool.DescriptorPool()
    for file in files:  # protoc writes imports before the files that use them
        pool.Add(file)
    return message_factory.MessageFactory(pool).GetMessages([f.name for f in files])


M = load_messages()


def msg(name, **fields):
    return M[name](**fields)


class Channel:
    def __init__(self, target):
        self.channel = grpc.insecure_channel(target)

    def _args(self, response):
        return dict(request_serializer=lambda m: m.SerializeToString(), response_deserializer=M[response].FromString)

    def unary(self, path, response):
        return self.channel.unary_unary(path, **self._args(response))

    def server_stream(self, path, response):
        return self.channel.unary_stream(path, **self._args(response))

    def bidi(self, path, response):
        return self.channel.stream_stream(path, **self._args(response))


def case_metadata(name):
    return [("x-interop-case", name)]


def enum_name(message, field):
    return message.DESCRIPTOR.fields_by_name[field].enum_type.values_by_number[getattr(message, field)].name


def decode_status_details(trailers):
    raw = dict(trailers or ()).get("grpc-status-details-bin")
    if raw is None:
        return {}
    status = M["google.rpc.Status"].FromString(raw)
    result = {"types": []}
    for any_detail in status.details:
        type_name = any_detail.type_url.split("/")[-1]
        result["types"].append(type_name)
        detail = M[type_name].FromString(any_detail.value)
        if type_name == "google.rpc.ErrorInfo":
            result["reason"] = detail.reason
            result["domain"] = detail.domain
        elif type_name == "google.rpc.BadRequest":
            result["field"] = detail.field_violations[0].field
    return result


def echo_via_reflection(ch, files):
    """Builds the Echo messages from reflected descriptors alone and makes a call with them."""
    pool = descriptor_pool.DescriptorPool()
    pending = {f.name: f for f in files}
    while pending:
        ready = [f for f in pending.values() if not any(d in pending for d in f.dependency)]
        if not ready:
            raise ValueError("reflected files have missing or cyclic dependencies: %s" % sorted(pending))
        for file in ready:
            pool.Add(file)
            del pending[file.name]
    factory = message_factory.MessageFactory(pool)
    request_class = factory.GetPrototype(pool.FindMessageTypeByName("flashdeal.testing.v1.EchoRequest"))
    response_class = factory.GetPrototype(pool.FindMessageTypeByName("flashdeal.testing.v1.EchoResponse"))
    echo = ch.channel.unary_unary("/flashdeal.testing.v1.EchoService/Echo",
                                  request_serializer=lambda m: m.SerializeToString(),
                                  response_deserializer=response_class.FromString)
    return echo(request_class(message="via reflection"), timeout=10).message


def code_of(error):
    return error.code().value[0]


def run(address):
    target = address.replace("http://", "").replace("https://", "").rstrip("/")
    ch = Channel(target)
    echo = "/flashdeal.testing.v1.EchoService/"
    health = "/grpc.health.v1.Health/"

    def unary(name):
        response = ch.unary(echo + "Echo", "flashdeal.testing.v1.EchoResponse")(
            msg("flashdeal.testing.v1.EchoRequest", message="hello"), metadata=case_metadata(name), timeout=10)
        return {"code": 0, "message": response.message}

    def error_details(name):
        request = msg("flashdeal.testing.v1.FailRequest", code=9, message="sold out: café 100%", reason="SOLD_OUT",
                      field="quantity")
        try:
            ch.unary(echo + "Fail", "flashdeal.testing.v1.EchoResponse")(request, metadata=case_metadata(name))
            return {"code": 0}
        except grpc.RpcError as e:
            return {"code": code_of(e), "message": e.details(), **decode_status_details(e.trailing_metadata())}

    def deadline(name):
        started = time.monotonic()
        try:
            ch.unary(echo + "Sleep", "flashdeal.testing.v1.EchoResponse")(
                msg("flashdeal.testing.v1.SleepRequest", delay_ms=2000, message="late"), metadata=case_metadata(name),
                timeout=0.2)
            code = 0
        except grpc.RpcError as e:
            code = code_of(e)
        return {"code": code, "elapsed_ms": int((time.monotonic() - started) * 1000)}

    def metadata(name):
        metadata = case_metadata(name) + [("echo-text", "hi"), ("echo-data-bin", BINARY_VALUE)]
        _, call = ch.unary(echo + "Echo", "flashdeal.testing.v1.EchoResponse").with_call(
            msg("flashdeal.testing.v1.EchoRequest", message="meta"), metadata=metadata, timeout=10)
        headers = dict(call.initial_metadata())
        trailers = dict(call.trailing_metadata())
        return {
            "code": code_of(call),
            "header_text": headers.get("echo-text"),
            "header_bin": base64.b64encode(headers.get("echo-data-bin", b"")).decode(),
            "trailer_text": trailers.get("trailer-echo-text"),
            "trailer_bin": base64.b64encode(trailers.get("trailer-echo-data-bin", b"")).decode(),
        }

    def oversized(name):
        request = msg("flashdeal.testing.v1.PayloadRequest", body=bytes(4 * 1024 * 1024 + 1))
        try:
            ch.unary(echo + "Payload", "flashdeal.testing.v1.PayloadResponse")(
                request, metadata=case_metadata(name), timeout=10)
            return {"code": 0}
        except grpc.RpcError as e:
            return {"code": code_of(e), "message": e.details()}

    def gzip(name):
        response = ch.unary(echo + "Payload", "flashdeal.testing.v1.PayloadResponse")(
            msg("flashdeal.testing.v1.PayloadRequest", body=b"a" * 123457), metadata=case_metadata(name),
            compression=grpc.Compression.Gzip, timeout=10)
        return {"code": 0, "received_size": response.received_size}

    def server_streaming(name):
        responses = ch.server_stream(echo + "Expand", "flashdeal.testing.v1.EchoResponse")(
            msg("flashdeal.testing.v1.ExpandRequest", message="x", count=5), metadata=case_metadata(name), timeout=10)
        messages = [r.message for r in responses]
        return {"code": code_of(responses), "messages": messages}

    def reflection(name):
        requests = [
            msg("grpc.reflection.v1.ServerReflectionRequest", list_services=""),
            msg("grpc.reflection.v1.ServerReflectionRequest", file_containing_symbol="flashdeal.testing.v1.EchoService"),
        ]
        answers = list(ch.bidi("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                               "grpc.reflection.v1.ServerReflectionResponse")(iter(requests), timeout=10))
        files = [descriptor_pb2.FileDescriptorProto.FromString(b)
                 for b in answers[1].file_descriptor_response.file_descriptor_proto]
        return {
            "services": [s.name for s in answers[0].list_services_response.service],
            "files": [f.name for f in files],
            "reflected_echo": echo_via_reflection(ch, files),
        }

    def health_check(name):
        check = ch.unary(health + "Check", "grpc.health.v1.HealthCheckResponse")
        overall = check(msg("grpc.health.v1.HealthCheckRequest", service=""), metadata=case_metadata(name), timeout=5)
        try:
            check(msg("grpc.health.v1.HealthCheckRequest", service="no.such.Service"), timeout=5)
            unknown = 0
        except grpc.RpcError as e:
            unknown = code_of(e)
        return {"code": 0, "status": enum_name(overall, "status"), "unknown_code": unknown}

    def health_watch(name):
        watch = ch.server_stream(health + "Watch", "grpc.health.v1.HealthCheckResponse")(
            msg("grpc.health.v1.HealthCheckRequest", service=""), metadata=case_metadata(name), timeout=10)
        first = next(watch)
        watch.cancel()
        return {"first_status": enum_name(first, "status")}

    cases = [unary, error_details, deadline, metadata, oversized, gzip, server_streaming, reflection, health_check,
             health_watch]
    for case in cases:
        try:
            result = case(case.__name__)
        except Exception:  # one broken case must not hide the others
            result = {"error": traceback.format_exc()}
        print(json.dumps({"case": case.__name__, **result}), flush=True)
    ch.channel.close()


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051")
