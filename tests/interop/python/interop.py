#!/usr/bin/python3
"""Interop cases against the real FlashDeal services (auth, catalog, orders) with Python grpcio (the C-core client).

Usage: /usr/bin/python3 interop.py <config.json>. Prints one JSON line per case; the xunit tests assert them.
Message classes come from the binary FileDescriptorSet the xunit fixture writes (nothing is compiled or generated),
and calls go through grpcio's generic multi-callables.
"""
import json
import sys
import traceback

try:
    import grpc
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
except ImportError as e:  # Debian's python3-grpcio and python3-protobuf
    sys.exit(f"interop.py: {e}. Run tests/interop/setup.sh.")

UNKNOWN_DEAL_ID = "00000000-0000-4000-8000-000000000000"
TIMEOUT = 30  # seconds; generous: on a busy machine only the deadline case is about deadlines


def load_messages(files):
    """Returns {full name: message class} for every message of `files` (FileDescriptorProtos in any order)."""
    # A private pool: the well-known files in the set may differ from those the protobuf runtime holds.
    pool = descriptor_pool.DescriptorPool()
    pending = {f.name: f for f in files}
    while pending:
        ready = [f for f in pending.values() if not any(d in pending for d in f.dependency)]
        if not ready:
            raise ValueError("files with missing or cyclic dependencies: %s" % sorted(pending))
        for file in ready:
            pool.Add(file)
            del pending[file.name]
    return message_factory.MessageFactory(pool).GetMessages([f.name for f in files])


class Channel:
    """A channel with calls by method path and full message names."""

    def __init__(self, target, messages, **options):
        self.channel = grpc.insecure_channel(target, **options)
        self.messages = messages

    def _args(self, response):
        return dict(request_serializer=lambda m: m.SerializeToString(),
                    response_deserializer=self.messages[response].FromString)

    def unary(self, path, response):
        return self.channel.unary_unary(path, **self._args(response))

    def server_stream(self, path, response):
        return self.channel.unary_stream(path, **self._args(response))

    def bidi(self, path, response):
        return self.channel.stream_stream(path, **self._args(response))

    def close(self):
        self.channel.close()


def code_of(error_or_call):
    return error_or_call.code().value[0]


def enum_name(message, field):
    return message.DESCRIPTOR.fields_by_name[field].enum_type.values_by_number[getattr(message, field)].name


def run(config):
    with open(config["schema"], "rb") as f:
        M = load_messages(descriptor_pb2.FileDescriptorSet.FromString(f.read()).file)
    client = config["client"]
    catalog = Channel(config["catalog"], M)
    orders = Channel(config["orders"], M)
    auth = Channel(config["auth"], M)
    channels = [catalog, orders, auth]

    def msg(name, **fields):
        return M[name](**fields)

    def tagged(name, token=None, **headers):
        metadata = [("x-interop-case", f"{client}/{name}")]
        if token:
            metadata.append(("authorization", f"Bearer {token}"))
        return metadata + list(headers.items())

    def status_details(trailers):
        """The decoded grpc-status-details-bin (a google.rpc.Status) of a failed call."""
        raw = dict(trailers or ()).get("grpc-status-details-bin")
        if raw is None:
            return {}
        status = M["google.rpc.Status"].FromString(raw)
        result = {"status_code": status.code, "status_message": status.message, "types": []}
        for any_detail in status.details:
            type_name = any_detail.type_url.split("/")[-1]
            result["types"].append(type_name)
            detail = M[type_name].FromString(any_detail.value)
            if type_name == "google.rpc.ErrorInfo":
                result["reason"] = detail.reason
                result["domain"] = detail.domain
            elif type_name == "google.rpc.BadRequest":
                result["fields"] = [v.field for v in detail.field_violations]
        return result

    def failure(call, request, metadata):
        """Makes a call that should fail; returns its code, message and decoded details."""
        try:
            call(request, metadata=metadata, timeout=TIMEOUT)
            return {"code": 0}
        except grpc.RpcError as e:
            return {"code": code_of(e), "message": e.details(), **status_details(e.trailing_metadata())}

    get_deal_call = catalog.unary("/flashdeal.catalog.v1.CatalogService/GetDeal", "flashdeal.catalog.v1.GetDealResponse")
    place_order_call = orders.unary("/flashdeal.orders.v1.OrderService/PlaceOrder",
                                    "flashdeal.orders.v1.PlaceOrderResponse")
    check_call = catalog.unary("/grpc.health.v1.Health/Check", "grpc.health.v1.HealthCheckResponse")

    def place_order_request(key, deal_id=None):
        return msg("flashdeal.orders.v1.PlaceOrderRequest", deal_id=deal_id or config["live_deal_id"], quantity=1,
                   idempotency_key=f"interop-{client}-{key}")

    def reflect(path, requests, metadata):
        call = catalog.bidi(path, "grpc.reflection.v1.ServerReflectionResponse")
        return list(call(iter(requests), metadata=metadata, timeout=TIMEOUT))

    def reflection(name):
        request = "grpc.reflection.v1.ServerReflectionRequest"
        list_v1, files = reflect("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", [
            msg(request, list_services=""),
            msg(request, file_containing_symbol="flashdeal.catalog.v1.CatalogService"),
        ], tagged(name))
        # v1alpha messages are wire-compatible with v1.
        (list_v1alpha,) = reflect("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                  [msg(request, list_services="")], tagged(name))
        # The reflected files alone must be enough to build a working client.
        file_protos = [descriptor_pb2.FileDescriptorProto.FromString(b)
                       for b in files.file_descriptor_response.file_descriptor_proto]
        reflected = load_messages(file_protos)
        get_deal = catalog.channel.unary_unary(
            "/flashdeal.catalog.v1.CatalogService/GetDeal", request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=reflected["flashdeal.catalog.v1.GetDealResponse"].FromString)
        deal = get_deal(reflected["flashdeal.catalog.v1.GetDealRequest"](deal_id=config["live_deal_id"]),
                        metadata=tagged(name), timeout=TIMEOUT).deal
        return {
            "services": [s.name for s in list_v1.list_services_response.service],
            "v1alpha_services": [s.name for s in list_v1alpha.list_services_response.service],
            "files": [f.name for f in file_protos],
            "reflected_title": deal.title,
        }

    def health(name):
        def check(service):
            response = check_call(msg("grpc.health.v1.HealthCheckRequest", service=service), metadata=tagged(name),
                                  timeout=TIMEOUT)
            return enum_name(response, "status")

        unknown = failure(check_call, msg("grpc.health.v1.HealthCheckRequest", service="no.such.Service"), tagged(name))
        return {"overall": check(""), "catalog": check("flashdeal.catalog.v1.CatalogService"),
                "unknown_code": unknown["code"]}

    def health_watch(name):
        watch = catalog.server_stream("/grpc.health.v1.Health/Watch", "grpc.health.v1.HealthCheckResponse")(
            msg("grpc.health.v1.HealthCheckRequest", service=""), metadata=tagged(name), timeout=TIMEOUT)
        first = next(watch)
        watch.cancel()
        return {"first_status": enum_name(first, "status")}

    def get_deal(name):
        deal = get_deal_call(msg("flashdeal.catalog.v1.GetDealRequest", deal_id=config["live_deal_id"]),
                             metadata=tagged(name), timeout=TIMEOUT).deal
        return {"code": 0, "deal_id": deal.deal_id, "title": deal.title, "state": enum_name(deal, "state"),
                "remaining_stock": deal.remaining_stock}

    def place_order(name):
        request = place_order_request("order")
        first = place_order_call(request, metadata=tagged(name, config["access_token"]), timeout=TIMEOUT)
        replay = place_order_call(request, metadata=tagged(name, config["access_token"]), timeout=TIMEOUT)
        return {
            "code": 0,
            "order_id": first.order.order_id,
            "deal_id": first.order.deal_id,
            "status": enum_name(first.order, "status"),
            "replayed": first.replayed,
            "replay_code": 0,
            "replay_order_id": replay.order.order_id,
            "replay_replayed": replay.replayed,
        }

    def sold_out(name):
        # The deal's one unit was sold during seeding: two refusals (the second may come from the service's sold-out
        # flag), each the call's error with its ErrorInfo, then an order on the live deal over the same channel.
        metadata = tagged(name, config["access_token"])
        first = failure(place_order_call, place_order_request("sold-out-1", deal_id=config["sold_out_deal_id"]), metadata)
        second = failure(place_order_call, place_order_request("sold-out-2", deal_id=config["sold_out_deal_id"]), metadata)
        try:
            place_order_call(place_order_request("sold-out-next"), metadata=metadata, timeout=TIMEOUT)
            next_code = 0
        except grpc.RpcError as e:
            next_code = code_of(e)
        return {**first, "second_code": second["code"], "second_reason": second.get("reason"), "next_code": next_code}

    def deal_not_found(name):
        return failure(get_deal_call, msg("flashdeal.catalog.v1.GetDealRequest", deal_id=UNKNOWN_DEAL_ID), tagged(name))

    def invalid_argument(name):
        return failure(place_order_call, place_order_request("invalid", deal_id="x"),
                       tagged(name, config["access_token"]))

    def unauthenticated(name):
        return failure(place_order_call, place_order_request("anonymous"), tagged(name))

    def deadline(name):
        # The upcoming deal's watch sends its snapshot, then only heartbeats: the deadline ends it.
        watch = catalog.server_stream("/flashdeal.catalog.v1.CatalogService/WatchDeal",
                                      "flashdeal.catalog.v1.WatchDealResponse")(
            msg("flashdeal.catalog.v1.WatchDealRequest", deal_id=config["upcoming_deal_id"]), metadata=tagged(name),
            timeout=config["short_deadline_ms"] / 1000)
        messages = 0
        try:
            for _ in watch:
                messages += 1
            return {"code": code_of(watch), "messages": messages}
        except grpc.RpcError as e:
            return {"code": code_of(e), "message": e.details(), "messages": messages}

    def heartbeat(name):
        # The upcoming deal's watch stays quiet: after its snapshot the server sends heartbeats (the mesh sends one
        # every 300 ms), told apart by which field is set. Stops after three.
        watch = catalog.server_stream("/flashdeal.catalog.v1.CatalogService/WatchDeal",
                                      "flashdeal.catalog.v1.WatchDealResponse")(
            msg("flashdeal.catalog.v1.WatchDealRequest", deal_id=config["upcoming_deal_id"]), metadata=tagged(name),
            timeout=60)
        kinds, times = [], []
        try:
            for response in watch:
                snapshot, heartbeat = response.HasField("snapshot"), response.HasField("heartbeat")
                kinds.append("both" if snapshot and heartbeat else "snapshot" if snapshot
                             else "heartbeat" if heartbeat else "none")
                if heartbeat:
                    times.append(response.heartbeat.server_time.seconds)
                if len(times) >= 3:
                    watch.cancel()
                    break
            return {"kinds": kinds, "heartbeat_times": times}
        except grpc.RpcError as e:
            return {"code": code_of(e), "message": e.details(), "kinds": kinds, "heartbeat_times": times}

    def metadata(name):
        request_id = f"interop-{client}"
        _, call = get_deal_call.with_call(msg("flashdeal.catalog.v1.GetDealRequest", deal_id=config["live_deal_id"]),
                                          metadata=tagged(name, **{"x-request-id": request_id}), timeout=TIMEOUT)
        headers = dict(call.initial_metadata())
        trailers = dict(call.trailing_metadata())
        failed = failure(get_deal_call, msg("flashdeal.catalog.v1.GetDealRequest", deal_id=UNKNOWN_DEAL_ID),
                         tagged(name))
        return {
            "code": code_of(call),
            "request_id": headers.get("x-request-id"),
            "stock_source": trailers.get("flashdeal-stock-source"),
            "error_code": failed["code"],
            "status_code": failed.get("status_code"),
            "reason": failed.get("reason"),
        }

    def oversized(name):
        request = msg("flashdeal.auth.v1.SignUpRequest", email="big@flashdeal.test", password="interop-big-password",
                      display_name="x" * (5 << 20))
        result = failure(auth.unary("/flashdeal.auth.v1.AuthService/SignUp", "flashdeal.auth.v1.SignUpResponse"),
                         request, tagged(name))
        # The same channel still works.
        auth.unary("/flashdeal.auth.v1.AuthService/GetJwks", "flashdeal.auth.v1.GetJwksResponse")(
            msg("flashdeal.auth.v1.GetJwksRequest"), metadata=tagged(name), timeout=TIMEOUT)
        return {"code": result["code"], "message": result.get("message"), "next_code": 0}

    def gzip(name):
        response = catalog.unary("/flashdeal.catalog.v1.CatalogService/ListProducts",
                                 "flashdeal.catalog.v1.ListProductsResponse")(
            msg("flashdeal.catalog.v1.ListProductsRequest", page_size=100, query=config["product_query"]),
            metadata=tagged(name), compression=grpc.Compression.Gzip, timeout=TIMEOUT)
        return {"code": 0, "products": len(response.products)}

    def watch_deal(name):
        # Watches the live deal, places an order after the first snapshot and waits for a snapshot with less stock.
        watch = catalog.server_stream("/flashdeal.catalog.v1.CatalogService/WatchDeal",
                                      "flashdeal.catalog.v1.WatchDealResponse")(
            msg("flashdeal.catalog.v1.WatchDealRequest", deal_id=config["live_deal_id"]), metadata=tagged(name),
            timeout=60)
        remaining, versions, order_code = [], [], None
        try:
            for response in watch:
                if not response.HasField("snapshot"):
                    continue  # a heartbeat: the stream is alive, nothing changed
                remaining.append(response.snapshot.remaining_stock)
                versions.append(str(response.snapshot.version))
                if len(remaining) == 1:
                    place_order_call(place_order_request("watch"), metadata=tagged(name, config["access_token"]),
                                     timeout=TIMEOUT)
                    order_code = 0
                elif remaining[-1] < remaining[0]:
                    watch.cancel()
                    break
            return {"remaining": remaining, "versions": versions, "order_code": order_code}
        except grpc.RpcError as e:
            return {"code": code_of(e), "message": e.details(), "remaining": remaining, "versions": versions,
                    "order_code": order_code}

    cases = [reflection, health, health_watch, get_deal, place_order, sold_out, deal_not_found, invalid_argument,
             unauthenticated, deadline, heartbeat, metadata, oversized, gzip, watch_deal]
    for case in cases:
        try:
            result = case(case.__name__)
        except Exception:  # one broken case must not hide the others
            result = {"error": traceback.format_exc()}
        print(json.dumps({"case": case.__name__, **result}), flush=True)
    for channel in channels:
        channel.close()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: /usr/bin/python3 interop.py <config.json>")
    with open(sys.argv[1], encoding="utf-8") as config_file:
        run(json.load(config_file))
