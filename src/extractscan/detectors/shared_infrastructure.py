"""ES113 shared infrastructure: IP ranges, user agents and API keys shared with other entities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from extractscan.detectors.base import (
    RESULT_SCHEMA,
    Detector,
    ScanContext,
    on_distinct,
    ramp,
    result_frame,
    top_examples,
    volume_confidence,
)
from extractscan.detectors.volume import fmt_int

# Networks that say nothing about who is calling: private, loopback, link-local, CGNAT, unspecified.
_NON_IDENTIFYING = (
    r"^(?:0\.|10\.|127\.|169\.254\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.|100\.(?:6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)"
    r"|^(?:f[cd][0-9a-f]{2}:|fe[89ab][0-9a-f]:|0:0:0::)"
)


def ip_network(ip: pl.Expr) -> pl.Expr:
    """The /24 of an IPv4 address (``203.0.113.0/24``; a masked last octet is fine) or the /48 of an IPv6
    address (``2001:db8:0::/48``, ``::`` expanded, leading zeros dropped); null when not an address.
    Accepts ``::ffff:``-mapped IPv4, ports and ``[v6]:port``, zone ids."""
    s = ip.str.strip_chars().str.to_lowercase()
    v4 = s.str.extract(r"^(?:::ffff:)?(\d{1,3}\.\d{1,3}\.\d{1,3})\.[0-9x*]{1,3}(?::\d+)?$", 1)
    s6 = s.str.replace(r"^\[", "").str.replace(r"\](?::\d+)?$", "").str.replace(r"%.*$", "")
    ok6 = s6.str.contains(r"^[0-9a-f:]+$") & s6.str.contains(":") & (s6.str.count_matches("::") <= 1)
    halves = s6.str.split("::")

    def groups(e: pl.Expr) -> pl.Expr:
        return e.str.split(":").list.eval(pl.element().filter(pl.element() != ""))

    left = groups(halves.list.get(0))
    right = groups(halves.list.get(1, null_on_oob=True).fill_null(""))
    missing = (8 - left.list.len() - right.list.len()).cast(pl.Int64).clip(0, None)
    zeros = pl.lit("0").repeat_by(pl.when(halves.list.len() > 1).then(missing).otherwise(0))
    full = pl.concat_list([left, zeros, right])
    valid6 = ok6 & (full.list.len() == 8) & full.list.eval(pl.element().str.len_chars() <= 4).list.all()
    stripped = pl.element().str.strip_chars_start("0")
    head = full.list.head(3).list.eval(pl.when(stripped == "").then(pl.lit("0")).otherwise(stripped)).list.join(":")
    return (
        pl.when(v4.is_not_null())
        .then(pl.concat_str([v4, pl.lit(".0/24")]))
        .when(valid6)
        .then(pl.concat_str([head, pl.lit("::/48")]))
    )


class SharedInfrastructureDetector(Detector):
    """IP ranges, user agents and API keys that an entity shares with other entities (hydra networks).

    **What it measures.** For every IP network (IPv4 /24, IPv6 /48; private, loopback and CGNAT ranges left
    out), user agent and API key that carries at least ``min_resource_requests`` of the entity's requests: how
    many other entities use it too (the value is the number of distinct entities linked this way). A resource
    used by more than ``max_entities_per_resource`` entities (default ``link.max_accounts_per_ip``; keys:
    ``max_entities_per_key``, default ``link.max_accounts_per_key``) is a proxy, a NAT or a common client and
    does not count. Each shared resource scores its weight (key ``w_key``, network ``w_network``, distinctive
    user agent ``w_agent``, generic browser/SDK user agent ``w_generic_agent``, recognised by
    ``generic_agents``) times the number of other entities on it over ``full_at_others`` (capped at 1); the
    score is the noisy-OR over the entity's shared resources, so many weak links (one ISP range) stay weak
    while a custom client, a key or many shared ranges (rotating proxies) add up.

    **Why it indicates extraction.** Campaigns spread their traffic over many accounts to stay below
    per-account limits, but run them from the same machines, proxies and scripts: the same network ranges, the
    same custom user agent, sometimes the same keys. Unrelated customers rarely share any of these.

    **Evidence.** The shared networks, agents and keys and the linked entities in the summary; the linked
    entity ids in ``cluster_ids``; the first request on each shared resource.

    **Known false positives.** Teams of one organisation behind one office NAT, customers of one reseller or
    hosted platform (same egress range and client), shared CI runners, and end users of one application when
    the scanned entity is the end user (they share the application's key).
    """

    id: ClassVar[str] = "ES113"
    name: ClassVar[str] = "shared_infrastructure"
    summary: ClassVar[str] = "IP ranges, user agents or API keys shared with other accounts"
    weight: ClassVar[float] = 0.8

    @dataclass(frozen=True)
    class Params:
        max_entities_per_resource: int | None = None  # IP ranges, user agents; None: link.max_accounts_per_ip
        max_entities_per_key: int | None = None  # None: link.max_accounts_per_key; more: a platform key
        min_resource_requests: int = 2  # requests an entity needs on a resource for it to count
        w_key: float = 1.0  # weight of a shared API key
        w_network: float = 0.35  # weight of a shared IPv4 /24 or IPv6 /48 (offices and ISPs share them)
        w_agent: float = 0.6  # weight of a shared distinctive user agent
        w_generic_agent: float = 0.05  # weight of a shared generic browser / SDK user agent
        generic_agents: tuple[str, ...] = (  # substrings (any case) of common browser / SDK user agents
            "mozilla/", "python-requests", "python/", "openai", "anthropic", "axios", "node-fetch", "node/",
            "undici", "curl/", "wget", "go-http-client", "okhttp", "httpx", "aiohttp", "java/",
            "apache-httpclient", "postman", "boto", "aws-sdk", "google-api", "litellm", "langchain", "dart",
            "ruby", "php",
        )  # fmt: skip
        ignore_private_networks: bool = True  # leave out private, loopback, link-local and CGNAT ranges
        full_at_others: float = 4.0  # other entities on one resource for its full weight (1 other: 1/4)
        full_confidence_requests: float = 20.0  # requests with any infrastructure field for confidence 1
        max_linked_ids: int = 20  # linked entity ids kept in the evidence

    def features(self, frame: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params

        def network(ip: pl.Expr) -> pl.Expr:
            net = ip_network(ip)
            return pl.when(net.str.contains(_NON_IDENTIFYING).not_()).then(net) if p.ignore_private_networks else net

        def agent(value: pl.Expr) -> pl.Expr:
            ua = value.str.strip_chars().str.slice(0, 300)
            return pl.when(ua != "").then(ua)

        # Addresses and user agents repeat (a few hundred of each per 100k requests): parsed once each.
        f = frame.select(
            "entity_id",
            "record_id",
            "ts",
            on_distinct(pl.col("client_ip"), network, pl.String()).alias("ip"),
            on_distinct(pl.col("user_agent"), agent, pl.String()).alias("ua"),
            pl.when(pl.col("api_key_id") != "").then(pl.col("api_key_id")).alias("key"),
        )
        long = pl.concat(
            [
                f.select("entity_id", "record_id", "ts", pl.lit(kind).alias("kind"), pl.col(kind).alias("value"))
                for kind in ("ip", "ua", "key")
            ]
        ).drop_nulls("value")
        # Per (entity, resource): requests and the earliest request (by ts, then id); resources in order.
        earliest = pl.col("record_id").sort_by(pl.col("ts"), pl.col("record_id"), nulls_last=True).first()
        resources = (
            long.group_by("entity_id", "kind", "value")
            .agg(pl.len().alias("n"), earliest.alias("first_id"))
            .sort("entity_id", "kind", "value")
            .group_by("entity_id", maintain_order=True)
            .agg(pl.struct("kind", "value", "n", "first_id").alias("resources"))
        )
        per = f.group_by("entity_id").agg(
            pl.len().alias("n"),
            pl.any_horizontal(pl.col("ip", "ua", "key").is_not_null()).sum().alias("n_infra"),
        )
        ex = top_examples(frame, pl.lit(True), 3, ctx.config.report.example_chars).select("entity_id", "examples")
        return per.join(resources, on="entity_id", how="left").join(ex, on="entity_id", how="left").sort("entity_id")

    def score(self, features: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        if features.is_empty():
            return result_frame(pl.DataFrame(schema=RESULT_SCHEMA))
        max_net = p.max_entities_per_resource or ctx.config.link.max_accounts_per_ip
        max_key = p.max_entities_per_key or ctx.config.link.max_accounts_per_key
        long = features.select("entity_id", "resources").explode("resources").drop_nulls("resources").unnest("resources")
        agent = pl.col("value").str.to_lowercase()
        generic = [g.lower() for g in p.generic_agents]
        is_generic = pl.any_horizontal([agent.str.contains(g, literal=True) for g in generic]) if generic else pl.lit(False)
        users = long.group_by("kind", "value").agg(pl.col("entity_id").n_unique().alias("m"))
        weight = (
            pl.when(pl.col("kind") == "key")
            .then(p.w_key)
            .when(pl.col("kind") == "ip")
            .then(p.w_network)
            .when(is_generic)
            .then(p.w_generic_agent)
            .otherwise(p.w_agent)
        )
        shared = (
            long.filter(pl.col("n") >= p.min_resource_requests)
            .join(users, on=["kind", "value"])
            .filter((pl.col("m") >= 2) & (pl.col("m") <= pl.when(pl.col("kind") == "key").then(max_key).otherwise(max_net)))
            .with_columns(weight.clip(0.0, 1.0).alias("w"))
        )
        pairs = shared.join(shared.select("kind", "value", pl.col("entity_id").alias("other")), on=["kind", "value"]).filter(
            pl.col("other") != pl.col("entity_id")
        )
        # Each shared resource: its weight, reached when full_at_others other entities share it; an entity's
        # score is the noisy-OR over its shared resources.
        label = (
            pl.when(pl.col("kind") == "ip")
            .then(pl.col("value"))
            .when(pl.col("kind") == "key")
            .then(pl.concat_str([pl.lit("key "), pl.col("value").str.slice(0, 24)]))
            .otherwise(pl.concat_str([pl.lit('UA "'), pl.col("value").str.slice(0, 40), pl.lit('"')]))
        )
        described = (
            pairs.group_by("entity_id", "kind", "value")
            .agg(pl.len().alias("n_others"), pl.col("w").first(), pl.col("first_id").first())
            .with_columns(
                (pl.col("w") * ramp(pl.col("n_others").cast(pl.Float64), 0.0, p.full_at_others)).alias("s"),
                label.alias("label"),
            )
            .sort(["entity_id", "s", "kind", "value"], descending=[False, True, False, False])
            .group_by("entity_id", maintain_order=True)
            .agg(
                (1.0 - (1.0 - pl.col("s")).product()).alias("evidence"),
                pl.col("label").head(3).alias("labels"),
                pl.len().alias("n_shared"),
                pl.col("first_id").unique(maintain_order=True).head(5).alias("request_ids"),
            )
        )
        # Linked entities, the most strongly linked first (heaviest shared resource, then most resources).
        links = (
            pairs.group_by("entity_id", "other")
            .agg(pl.col("w").max().alias("strength"), pl.len().alias("n_res"))
            .sort(["entity_id", "strength", "n_res", "other"], descending=[False, True, True, False])
            .group_by("entity_id", maintain_order=True)
            .agg(pl.len().alias("n_linked"), pl.col("other").head(p.max_linked_ids).alias("cluster_ids"))
        )
        f = (
            features.drop("resources")
            .join(links, on="entity_id", how="left")
            .join(described, on="entity_id", how="left")
            .with_columns(pl.col("evidence").fill_null(0.0), pl.col("n_linked").fill_null(0))
        )
        more = pl.when(pl.col("n_shared") > 3).then(pl.lit(", …")).otherwise(pl.lit(""))
        others_more = pl.when(pl.col("n_linked") > 3).then(pl.lit(", …")).otherwise(pl.lit(""))
        summary = (
            pl.when(pl.col("n_linked") > 0)
            .then(
                pl.concat_str(
                    [
                        pl.lit("shares "),
                        pl.col("labels").list.join(", "),
                        more,
                        pl.lit(" with "),
                        fmt_int(pl.col("n_linked")),
                        pl.lit(" other entit"),
                        pl.when(pl.col("n_linked") == 1).then(pl.lit("y")).otherwise(pl.lit("ies")),
                        pl.lit(" ("),
                        pl.col("cluster_ids").list.head(3).list.join(", "),
                        others_more,
                        pl.lit(")"),
                    ]
                )
            )
            .when(pl.col("n_infra") > 0)
            .then(pl.lit("no IP range, user agent or key shared with other entities"))
            .otherwise(pl.lit("no IP, user agent or key in the logs"))
        )
        none = pl.lit([], dtype=pl.List(pl.String()))
        out = f.with_columns(
            pl.col("n_linked").alias("value"),
            pl.col("evidence").alias("score"),
            volume_confidence(pl.col("n_infra"), p.full_confidence_requests).alias("confidence"),
            summary.alias("summary"),
            pl.col("request_ids").fill_null(none),
            pl.col("cluster_ids").fill_null(none),
            pl.when(pl.col("n_linked") > 0).then(pl.col("examples")).otherwise(none).alias("examples"),
        )
        return result_frame(out)
