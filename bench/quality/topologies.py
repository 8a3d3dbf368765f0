"""Multi-service call graphs for the synthetic scenarios.

Each endpoint has a median self time (ms), a log-normal spread and the endpoints it
calls, in order. Depth goes up to 4 and some dependencies are shared, as in real
systems (an auth service everyone calls, a database two services share).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Endpoint:
    service: str
    name: str
    self_ms: float
    sigma: float = 0.35
    calls: tuple[tuple[str, str], ...] = ()  # (service, endpoint), called in order
    parallel: bool = False  # calls run concurrently instead of one after another

    @property
    def key(self) -> tuple[str, str]:
        return (self.service, self.name)


@dataclass
class Topology:
    name: str
    endpoints: dict[tuple[str, str], Endpoint] = field(default_factory=dict)
    # Entry points and their share of the traffic.
    entries: dict[tuple[str, str], float] = field(default_factory=dict)

    def add(self, endpoint: Endpoint) -> None:
        self.endpoints[endpoint.key] = endpoint

    def callers_of(self, key: tuple[str, str]) -> set[tuple[str, str]]:
        direct = {e.key for e in self.endpoints.values() if key in e.calls}
        result = set(direct)
        for caller in direct:
            result |= self.callers_of(caller)
        return result

    def leaves(self) -> list[tuple[str, str]]:
        return sorted(k for k, e in self.endpoints.items() if not e.calls)

    def middles(self) -> list[tuple[str, str]]:
        return sorted(
            k for k, e in self.endpoints.items() if e.calls and k not in self.entries
        )


def shop() -> Topology:
    t = Topology("shop")
    for endpoint in (
        Endpoint(
            "web",
            "GET /checkout",
            8,
            calls=(
                ("auth", "POST /verify"),
                ("cart", "GET /cart"),
                ("orders", "POST /orders"),
            ),
        ),
        Endpoint(
            "web",
            "GET /products",
            6,
            calls=(("auth", "POST /verify"), ("catalog", "GET /items")),
        ),
        Endpoint(
            "auth", "POST /verify", 4, sigma=0.25, calls=(("sessions", "GET /session"),)
        ),
        Endpoint("sessions", "GET /session", 2, sigma=0.3),
        Endpoint("cart", "GET /cart", 5, calls=(("db", "SELECT carts"),)),
        Endpoint(
            "catalog",
            "GET /items",
            12,
            calls=(("db", "SELECT items"), ("search", "GET /rank")),
            parallel=True,
        ),
        Endpoint("search", "GET /rank", 25, sigma=0.4),
        Endpoint(
            "orders",
            "POST /orders",
            10,
            calls=(("payments", "POST /charge"), ("db", "INSERT orders")),
        ),
        Endpoint(
            "payments",
            "POST /charge",
            15,
            calls=(("auth", "POST /verify"), ("bank", "POST /authorize")),
        ),
        Endpoint("bank", "POST /authorize", 60, sigma=0.45),
        Endpoint("db", "SELECT carts", 3, sigma=0.3),
        Endpoint("db", "SELECT items", 6, sigma=0.3),
        Endpoint("db", "INSERT orders", 5, sigma=0.3),
    ):
        t.add(endpoint)
    t.entries = {("web", "GET /checkout"): 0.35, ("web", "GET /products"): 0.65}
    return t


def media() -> Topology:
    t = Topology("media")
    for endpoint in (
        Endpoint(
            "gateway",
            "GET /home",
            5,
            calls=(("recs", "GET /recommendations"), ("feed", "GET /feed")),
            parallel=True,
        ),
        Endpoint("gateway", "GET /search", 4, calls=(("search", "GET /query"),)),
        Endpoint(
            "recs",
            "GET /recommendations",
            20,
            calls=(("profile", "GET /profile"), ("index", "GET /vectors")),
        ),
        Endpoint(
            "feed",
            "GET /feed",
            15,
            calls=(("profile", "GET /profile"), ("cache", "GET /get")),
        ),
        Endpoint(
            "search",
            "GET /query",
            18,
            calls=(("index", "GET /lookup"), ("cache", "GET /get")),
        ),
        Endpoint("profile", "GET /profile", 8, calls=(("cache", "GET /get"),)),
        Endpoint("index", "GET /vectors", 35, sigma=0.5),
        Endpoint("index", "GET /lookup", 22, sigma=0.4),
        Endpoint("cache", "GET /get", 1.5, sigma=0.3),
    ):
        t.add(endpoint)
    t.entries = {("gateway", "GET /home"): 0.6, ("gateway", "GET /search"): 0.4}
    return t


def bank() -> Topology:
    t = Topology("bank")
    for endpoint in (
        Endpoint("api", "GET /accounts/{id}", 6, calls=(("accounts", "GET /account"),)),
        Endpoint("api", "POST /transfers", 9, calls=(("transfers", "POST /transfer"),)),
        Endpoint(
            "accounts",
            "GET /account",
            10,
            calls=(("ledger", "GET /balance"), ("notify", "GET /prefs")),
        ),
        Endpoint(
            "transfers",
            "POST /transfer",
            14,
            calls=(
                ("fraud", "POST /score"),
                ("ledger", "POST /entry"),
                ("notify", "POST /send"),
            ),
        ),
        Endpoint(
            "fraud", "POST /score", 30, sigma=0.5, calls=(("ledger", "GET /balance"),)
        ),
        Endpoint("ledger", "GET /balance", 6, calls=(("dbproxy", "QUERY"),)),
        Endpoint("ledger", "POST /entry", 9, calls=(("dbproxy", "QUERY"),)),
        Endpoint("dbproxy", "QUERY", 4, sigma=0.35),
        Endpoint("notify", "GET /prefs", 3),
        Endpoint("notify", "POST /send", 7),
    ):
        t.add(endpoint)
    t.entries = {("api", "GET /accounts/{id}"): 0.7, ("api", "POST /transfers"): 0.3}
    return t


TOPOLOGIES = {"shop": shop, "media": media, "bank": bank}
