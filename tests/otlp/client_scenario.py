"""A real OpenTelemetry client: three services A -> B -> C, exported over OTLP/HTTP.

Run as a separate process by the tests:

    python tests/otlp/client_scenario.py URL START MINUTES [--fault-at S]
        [--fault errors|slow|network] [--deploy-at S]

Each service has its own TracerProvider (service.name and service.version 1.0.0 in
the resource; stock runs 2.0.0 from ``--deploy-at`` on) with the SDK's
BatchSpanProcessor and OTLPSpanExporter (HTTP, protobuf). Spans carry
explicit times from START (epoch seconds): a simulated clock, so that the test can
analyse the same moments with ``run_analysis --at``. Prints what it exported.
"""

from __future__ import annotations

import argparse
import random

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

NS = 1_000_000_000


def provider(
    service: str, url: str, token: str | None, version: str = "1.0.0"
) -> TracerProvider:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    exporter = OTLPSpanExporter(
        endpoint=f"{url}/v1/traces", headers=headers, timeout=30
    )
    tracer_provider = TracerProvider(
        resource=Resource.create({"service.name": service, "service.version": version})
    )
    tracer_provider.add_span_processor(
        BatchSpanProcessor(exporter, max_queue_size=100_000)
    )
    return tracer_provider


class Scenario:
    def __init__(
        self,
        url: str,
        fault: str,
        fault_at: float,
        token: str | None,
        deploy_at: float = float("inf"),
    ):
        self.providers = {
            name: provider(name, url, token) for name in ("gateway", "orders", "stock")
        }
        self.providers["stock 2.0.0"] = provider("stock", url, token, "2.0.0")
        self.tracers = {
            name: p.get_tracer("scenario") for name, p in self.providers.items()
        }
        self.fault, self.fault_at, self.deploy_at = fault, fault_at, deploy_at
        self.now = 0.0
        self.rng = random.Random(7)
        self.spans = 0

    def _server(self, service, route, start, end, context, status=200, exception=None):
        if service == "stock" and self.now >= self.deploy_at:
            service = "stock 2.0.0"
        span = self.tracers[service].start_span(
            f"GET {route}",
            context=context,
            kind=SpanKind.SERVER,
            start_time=start,
            attributes={
                "http.route": route,
                "http.request.method": "GET",
                "http.response.status_code": status,
                "url.path": route + "/42",
            },
        )
        if exception is not None:
            span.record_exception(exception, timestamp=end)
            span.set_status(Status(StatusCode.ERROR, str(exception)))
        span.end(end_time=end)
        self.spans += 1
        return span

    def trace(self, t: float) -> None:
        faulty = t >= self.fault_at
        self.now = t
        ms = lambda value: int(value * 1_000_000)  # noqa: E731
        start = int(t * NS)
        # stock: the leaf.
        stock_ms = self.rng.lognormvariate(0, 0.2) * 20
        network_ms = stock_network_ms = 0.5
        stock_status, exception = 200, None
        if faulty and self.fault == "errors":
            stock_status, exception = (
                503,
                RuntimeError("stock database password=hunter2 refused"),
            )
        if faulty and self.fault == "slow":
            stock_ms *= 8
        if faulty and self.fault == "network":
            stock_network_ms = 400.0  # only the hop between orders and stock
        orders_own = self.rng.lognormvariate(0, 0.2) * 10
        gateway_own = self.rng.lognormvariate(0, 0.2) * 5
        # Times, nested: gateway [ client -> orders [ client -> stock ] ].
        g_start = start
        oc_start = g_start + ms(gateway_own / 2)
        o_start = oc_start + ms(network_ms)
        sc_start = o_start + ms(orders_own / 2)
        s_start = sc_start + ms(stock_network_ms)
        s_end = s_start + ms(stock_ms)
        sc_end = s_end + ms(stock_network_ms)
        o_end = sc_end + ms(orders_own / 2)
        oc_end = o_end + ms(network_ms)
        g_end = oc_end + ms(gateway_own / 2)
        failed = stock_status >= 500

        gateway = self.tracers["gateway"].start_span(
            "GET /checkout",
            kind=SpanKind.SERVER,
            start_time=g_start,
            attributes={
                "http.route": "/checkout",
                "http.request.method": "GET",
                "http.response.status_code": 502 if failed else 200,
            },
        )
        g_context = trace.set_span_in_context(gateway)
        orders_call = self.tracers["gateway"].start_span(
            "GET",
            context=g_context,
            kind=SpanKind.CLIENT,
            start_time=oc_start,
            attributes={
                "http.request.method": "GET",
                "server.address": "orders",
                "server.port": 8080,
                "http.response.status_code": 502 if failed else 200,
            },
        )
        oc_context = trace.set_span_in_context(orders_call)
        orders = self.tracers["orders"].start_span(
            "GET /orders/{id}",
            context=oc_context,
            kind=SpanKind.SERVER,
            start_time=o_start,
            attributes={
                "http.route": "/orders/{id}",
                "http.request.method": "GET",
                "http.response.status_code": 502 if failed else 200,
            },
        )
        o_context = trace.set_span_in_context(orders)
        stock_call = self.tracers["orders"].start_span(
            "GET",
            context=o_context,
            kind=SpanKind.CLIENT,
            start_time=sc_start,
            attributes={
                "http.request.method": "GET",
                "server.address": "stock",
                "server.port": 8080,
                "http.response.status_code": stock_status,
            },
        )
        self._server(
            "stock",
            "/items/{sku}",
            s_start,
            s_end,
            trace.set_span_in_context(stock_call),
            stock_status,
            exception,
        )
        for span, end in (
            (stock_call, sc_end),
            (orders, o_end),
            (orders_call, oc_end),
            (gateway, g_end),
        ):
            if failed:
                span.set_status(Status(StatusCode.ERROR))
            span.end(end_time=end)
            self.spans += 1

    def flush(self) -> None:
        for tracer_provider in self.providers.values():
            tracer_provider.force_flush(60_000)
            tracer_provider.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("start", type=float)
    parser.add_argument("minutes", type=float)
    parser.add_argument("--rps", type=float, default=2.0)
    parser.add_argument(
        "--fault", default="none", choices=["none", "errors", "slow", "network"]
    )
    parser.add_argument(
        "--fault-at", type=float, default=float("inf"), help="seconds in"
    )
    parser.add_argument(
        "--deploy-at", type=float, default=float("inf"), help="seconds in"
    )
    parser.add_argument("--token")
    args = parser.parse_args()
    scenario = Scenario(
        args.url,
        args.fault,
        args.start + args.fault_at,
        args.token,
        args.start + args.deploy_at,
    )
    t, end = args.start, args.start + args.minutes * 60
    while t < end:
        scenario.trace(t)
        t += scenario.rng.expovariate(args.rps)
    scenario.flush()
    print(f"exported {scenario.spans} spans")


if __name__ == "__main__":
    main()
